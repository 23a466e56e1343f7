using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>
    /// Models __inet_bind() — net/ipv4/af_inet.c: an explicit port or (port 0) an ephemeral one — unless
    /// IP_BIND_ADDRESS_NO_PORT is set and the port is 0: then sk->sk_prot->get_port() is not called, inet_num
    /// stays 0 (so bind() may be called again) and connect() picks the port with __inet_hash_connect(),
    /// by the 4-tuple.
    /// </summary>
    /// <remarks>
    /// The address must be INADDR_ANY or of a type inet_addr_valid_or_nonlocal() accepts — RTN_LOCAL (127.0.0.0/8 or
    /// one of the host's addresses), RTN_MULTICAST or RTN_BROADCAST (<see cref="IsBroadcastOrMulticast"/>) — else
    /// EADDRNOTAVAIL; it becomes inet_rcv_saddr, which the bind hash compares (inet_rcv_saddr_equal()) and a listener
    /// listens on. A local address is also inet_saddr, the source of a later connect(); a multicast or broadcast one
    /// leaves inet_saddr 0 ("Use device"), so connect() takes the route's source (observed on Linux 6.18.44: bound
    /// to 224.0.0.1, 255.255.255.255 or 127.255.255.255, connect() to 127.0.0.1 succeeds from 127.0.0.1).
    /// </remarks>
    internal CallOutcome Bind(IPv4 address, ushort port)
    {
        if (BoundPort || State != TcpState.Close) return CallOutcome.Fail(Errno.EINVAL);
        if (address != IPv4.Any && !Host.IsLocal(address) && !IsBroadcastOrMulticast(address)) return CallOutcome.Fail(Errno.EADDRNOTAVAIL);
        var before = BindAddress;
        BindAddress = address;
        if (port == 0 && BindAddressNoPort) return CallOutcome.Ok();
        var err = port == 0 ? Host.BindEphemeral(this) : Host.BindExplicit(this, port);
        if (err is not null)
        {
            BindAddress = before; // inet->inet_saddr = inet->inet_rcv_saddr = 0 on failure
            return CallOutcome.Fail(err);
        }
        UserBoundPort = port != 0;
        return CallOutcome.Ok();
    }

    /// <summary>
    /// Models __sys_listen_socket() — net/socket.c: <c>if ((unsigned int)backlog > somaxconn) backlog = somaxconn;</c> — any int
    /// is taken, and a negative one (compared unsigned) becomes somaxconn as a too big one does; inet_listen() stores the
    /// result as sk_max_ack_backlog. Math.Min kept a negative backlog, and the accept queue was then always full.
    /// </summary>
    int CappedBacklog(int backlog)
    {
        int somaxconn = Host.Sysctls.Somaxconn;
        return (uint)backlog > (uint)somaxconn ? somaxconn : backlog;
    }

    /// <summary>
    /// Models inet_listen() / inet_csk_listen_start(): autobinds if needed; then the socket is put in
    /// TCP_LISTEN and inet_csk_get_port() re-checks the whole port (<see cref="Host.ListenPortFree"/>);
    /// on a conflict the state goes back to TCP_CLOSE with the port still bound, and listen() fails
    /// with EADDRINUSE.
    /// </summary>
    internal CallOutcome Listen(int backlog)
    {
        // inet_listen(): "if (sock->state != SS_UNCONNECTED ...) goto out" (EINVAL) — a connected socket, even reset.
        if (State == TcpState.Listen && _sockState == SocketState.Unconnected)
        {
            ListenState.Backlog = CappedBacklog(backlog);
            return CallOutcome.Ok();
        }
        if (_sockState != SocketState.Unconnected || State != TcpState.Close) return CallOutcome.Fail(Errno.EINVAL);
        if (!BoundPort)
        {
            var err = Host.BindEphemeral(this);
            if (err is not null) return CallOutcome.Fail(err);
        }
        if (!Host.ListenPortFree(this)) return CallOutcome.Fail(Errno.EADDRINUSE);
        ListenState.Backlog = CappedBacklog(backlog);
        // sk_shutdown is left as it is: a shutdown() on the CLOSE socket (ENOTCONN, yet sk_shutdown |= how) stays with
        // the listener, and sk_clone_lock() copies it into each child (InheritOptions()).
        Local = new Endpoint(BindAddress, Local.Port);
        TransitionTo(TcpState.Listen, "inet_csk_listen_start");
        Host.AddListener(this);
        return CallOutcome.Ok();
    }

    /// <summary>
    /// Models tcp_v4_connect(): picks the source port (inet_hash_connect), the ISN
    /// (secure_tcp_seq: a keyed hash of the 4-tuple plus a 64 ns clock, unless a TIME-WAIT was
    /// reused) and the timestamp offset, sends the SYN and blocks until the handshake ends.
    /// Before any of that, ip_route_connect() looks the destination up: with no route it fails with
    /// ENETUNREACH at once, no port taken and no SYN sent (the socket stays as it was), and a socket bound to a loopback
    /// address may not leave the host (EINVAL at once); 0.0.0.0 is routed to the
    /// socket's own bound address or 127.0.0.1 (<see cref="UnspecifiedDestination"/>).
    /// </summary>
    internal CallOutcome Connect(Endpoint remote, PendingCall call)
    {
        switch (_sockState)
        {
            case SocketState.Connected: return CallOutcome.Fail(Errno.EISCONN);
            case SocketState.Disconnecting: return CallOutcome.Fail(Errno.EINVAL);
            case SocketState.Connecting:
                // __inet_stream_connect() in SS_CONNECTING: EALREADY while the handshake runs; once it ended, 0 (the
                // socket becomes SS_CONNECTED) or, if it ended in CLOSE, the sock_error path.
                // The wait below runs in this state too (inet_wait_for_connect() with sock_sndtimeo()): a blocking
                // connect() sleeps until the handshake ends, and its timeout returns the EALREADY set before the wait.
                if (State is TcpState.SynSent or TcpState.SynRecv)
                {
                    // A connect() from another thread while one sleeps waits beside it (<see cref="_otherConnects"/>).
                    call.ConnectWasConnecting = true;
                    if (!Sleep(call, SockSndTimeo, TcpTimerKind.SendTimeout)) return CallOutcome.Fail(Errno.EALREADY);
                    if (_pendingConnect is null) _pendingConnect = call;
                    else (_otherConnects ??= []).Add(call);
                    return CallOutcome.Block;
                }
                if (State == TcpState.Close) return CallOutcome.Fail(ConnectFailed());
                _sockState = SocketState.Connected;
                return CallOutcome.Ok();
            case SocketState.Unconnected when State != TcpState.Close:
                // "err = -EISCONN; if (sk->sk_state != TCP_CLOSE) goto out;" — a listener too.
                return CallOutcome.Fail(Errno.EISCONN);
        }
        if (remote.Address == IPv4.Any) remote = new Endpoint(UnspecifiedDestination(), remote.Port);
        if (!_sim.HasRoute(Host, remote.Address)) return CallOutcome.Fail(Errno.ENETUNREACH);
        // __mkroute_output() — net/ipv4/route.c: "if (ipv4_is_loopback(fl4->saddr) && !(dev_out->flags & IFF_LOOPBACK))
        // return ERR_PTR(-EINVAL)": a socket bound to 127.0.0.0/8 reaches only the host's own addresses (lo); to another
        // host connect() fails with EINVAL at once, its port kept (observed on Linux 6.18.44).
        if (InetSaddr.IsLoopback && !Host.IsLocal(remote.Address)) return CallOutcome.Fail(Errno.EINVAL);
        Remote = remote;
        var saddr = ConnectSource(remote.Address);
        var err = BoundPort ? Host.ConnectBound(this, saddr, remote) : Host.ConnectAutobind(this, saddr, remote);
        if (err is not null)
        {
            Remote = default;
            // tcp_v4_connect()'s failure path: tcp_set_state(sk, TCP_CLOSE) from SYN_SENT, which releases a port that no
            // SOCK_BINDPORT_LOCK holds — bind(0)'s (__inet_bind() locks only an explicit port): the socket may bind again,
            // and its next connect() searches a port as an unbound one does.
            if (BoundPort && !UserBoundPort) ReleasePort();
            return CallOutcome.Fail(err);
        }
        BoundPort = true;
        if (!_snd.WriteSeqKept) _snd.WriteSeq = SecureSeq(Tuple);
        _tsOffset = TimestampOffset(Local.Address, remote.Address);
        _snd.Iss = _snd.WriteSeq;
        _snd.Una = _snd.Nxt = _snd.Iss;
        _snd.WriteSeq = _snd.Iss + 1;
        _snd.QueuePurged = false;
        Host.Established[Tuple] = this;
        Host.ConnectHeld(this, held: true);
        Host.Count(MibCounter.TcpActiveOpens);
        TransitionTo(TcpState.SynSent, "tcp_v4_connect");
        _icsk.Rto = TcpConstants.TimeoutInit;
        // tcp_connect_init() — net/ipv4/tcp_output.c: "sk->sk_err = 0; sock_reset_flag(sk, SOCK_DONE);" — an error no
        // call took (the ECONNRESET of a tcp_disconnect(), an RST's before connect(AF_UNSPEC)) does not outlive the
        // reconnect: no POLLERR, SO_ERROR 0, send() copies.
        SoftError = null;
        SockDone = false;
        RetransStamp = _sim.Now; // tcp_connect(): the SYN's time bounds the handshake (retransmits_timed_out)
        SendSyn(retransmission: false);
        _sockState = SocketState.Connecting;
        // __inet_stream_connect(): timeo = sock_sndtimeo(sk, O_NONBLOCK); with 0 (O_NONBLOCK, or SO_SNDTIMEO with a
        // negative tv_sec) no wait in inet_wait_for_connect(): -EINPROGRESS, sock->state SS_CONNECTING.
        if (!Sleep(call, SockSndTimeo, TcpTimerKind.SendTimeout)) return CallOutcome.Fail(Errno.EINPROGRESS);
        _pendingConnect = call;
        return CallOutcome.Block;
    }

    /// <summary>
    /// The destination a connect() to 0.0.0.0 goes to — ip_route_output_key_hash_rcu() (net/ipv4/route.c), reached from
    /// tcp_v4_connect()'s ip_route_connect() with the socket's inet_saddr: "if (!fl4->daddr) { fl4->daddr = fl4->saddr;
    /// if (!fl4->daddr) fl4->daddr = fl4->saddr = htonl(INADDR_LOOPBACK); dev_out = net->loopback_dev; … RTN_LOCAL }".
    /// The bound source address if the socket has one (a broadcast or multicast bind leaves inet_saddr 0), else
    /// 127.0.0.1; tcp_v4_connect() then takes fl4->daddr as the peer, so getpeername() and the journal say that
    /// address, never 0.0.0.0. The route is lo's: never unreachable while lo is up (every simulated host's is).
    /// </summary>
    IPv4 UnspecifiedDestination() => InetSaddr != IPv4.Any ? InetSaddr : Host.Loopback;

    /// <summary>
    /// Models __inet_stream_connect() with an AF_UNSPEC address — net/ipv4/af_inet.c: sk_prot->disconnect(),
    /// i.e. tcp_disconnect() (<see cref="Disconnect"/>), and sock->state = SS_UNCONNECTED; returns 0 in every state.
    /// </summary>
    internal CallOutcome ConnectUnspec()
    {
        CountDisconnect();
        Disconnect("connect(AF_UNSPEC) → tcp_disconnect");
        return CallOutcome.Ok();
    }

    /// <summary>
    /// Models __sys_accept4_file() — net/socket.c: get_unused_fd_flags() first, so a table full up to RLIMIT_NOFILE
    /// fails EMFILE at once — nothing dequeued, no sleep, even on an empty queue or a socket not listening; then
    /// do_accept() → inet_csk_accept(): takes the oldest established child, or sleeps holding the descriptor.
    /// </summary>
    internal CallOutcome Accept(PendingCall call, out TcpSocket? child)
    {
        child = null;
        var process = call.Process;
        int fd = process.AllocFd();
        if (fd < 0) return CallOutcome.Fail(Errno.EMFILE);
        if (State != TcpState.Listen)
        {
            process.PutUnusedFd(fd);
            return CallOutcome.Fail(Errno.EINVAL);
        }
        if (AcceptQueue.Count > 0)
        {
            child = AcceptQueue.Dequeue();
            process.InstallOwn(child, fd);
            return CallOutcome.Ok(fd);
        }
        // inet_csk_accept(): timeo = sock_rcvtimeo(); with 0 (O_NONBLOCK) inet_csk_wait_for_connect() is not
        // entered: EAGAIN (put_unused_fd()). Otherwise it sleeps, bounded by SO_RCVTIMEO, the descriptor reserved.
        if (!Sleep(call, SockRcvTimeo, TcpTimerKind.ReceiveTimeout))
        {
            process.PutUnusedFd(fd);
            return CallOutcome.Fail(Errno.EAGAIN);
        }
        // The descriptor is held across the sleep (engine rules 3), or under older rules while the process has a limit of
        // its own; without one it is taken again at the return, so stored journals replay as recorded.
        if (process.LimitsNoFile || _sim.EngineRules >= EngineRules.AcceptHoldsItsFd) call.ReservedFd = fd;
        else process.PutUnusedFd(fd);
        ListenState.Waiters.Enqueue(call);
        return CallOutcome.Block;
    }

    /// <summary>
    /// Models tcp_sendmsg_locked(): copies as much as the send buffer takes (<see cref="CopyToSendQueue"/>, skbs
    /// charged in truesize against sk_sndbuf) and pushes it; blocks in sk_stream_wait_memory() for the rest.
    /// Errors: the pending sk_err, else EPIPE.
    /// </summary>
    internal CallOutcome Send(long bytes, MsgFlags flags, PendingCall call)
    {
        if (bytes < 0) return CallOutcome.Fail(Errno.EINVAL);
        call.MsgFlags = flags;
        RateCheckAppLimited(); // "is sending application-limited?" — before sk_stream_wait_connect() and the error checks
        return SendAfterRateCheck(bytes, call);
    }

    /// <summary>tcp_sendmsg_locked() from sk_stream_wait_connect() on: a send deferred by the handshake resumes here.</summary>
    CallOutcome SendAfterRateCheck(long bytes, PendingCall call)
    {
        if (State is TcpState.SynSent or TcpState.SynRecv)
        {
            // sk_stream_wait_connect(): sock_error() first, then EAGAIN when the timeout (sock_sndtimeo()) is 0; else
            // sleep, bounded by SO_SNDTIMEO.
            if (SoftError is not null) return CallOutcome.Fail(TakeStreamError());
            if (!Sleep(call, SndTimeo(call), TcpTimerKind.SendTimeout)) return CallOutcome.Fail(Errno.EAGAIN);
            call.SendWaitsConnect = true;
            QueueSender(call);
            return CallOutcome.Block;
        }
        if (SoftError is not null || SendShutdown || State is not (TcpState.Established or TcpState.CloseWait))
            return CallOutcome.Fail(TakeStreamError());
        Ledger.Sent += bytes;
        CopyToSendQueue(call);
        if (call.Done == bytes) return CallOutcome.Ok(bytes);
        // sk_stream_wait_memory() sleeps with the call's timeo (sock_sndtimeo() at entry, what is left of it after an
        // earlier sleep).
        if (!EnterMemoryWait(call))
        {
            // sk_stream_wait_memory() with timeo 0: what was copied, or EAGAIN when nothing was.
            Ledger.Sent -= bytes - call.Done;
            return call.Done > 0 ? CallOutcome.Ok(call.Done) : CallOutcome.Fail(Errno.EAGAIN);
        }
        QueueSender(call);
        return CallOutcome.Block;
    }

    /// <summary>
    /// A send() goes to sleep at the head of the wait queue: sk_stream_wait_memory() → sk_wait_event() → add_wait_queue()
    /// puts a sleeper first, and __wake_up_common() wakes from the head, so the newest sleeper runs first
    /// (<see cref="PendingSend"/>), the ones before it after (<see cref="OtherSends"/>, newest first). Observed on 6.18.44:
    /// a 1,000-byte send() made while a 5 MB one slept was copied at the first wakeup and returned, the 5 MB one went on.
    /// </summary>
    void QueueSender(PendingCall call)
    {
        if (PendingSend is { } older) (OtherSends ??= []).Insert(0, older);
        PendingSend = call;
    }

    /// <summary>
    /// The sleeping send() at the head has returned: the next one, woken by the same wakeup, takes the lock and goes on
    /// (<see cref="RunWokenWriter"/>) — with <paramref name="run"/> false (a timeout or signal ended the first, or the
    /// first's vm_wait timer woke it alone) it only becomes the head.
    /// </summary>
    void NextSender(bool run)
    {
        if (PendingSend is not null || OtherSends is not { Count: > 0 } others) return;
        PendingSend = others[0];
        others.RemoveAt(0);
        if (run) RunWokenWriter(PendingSend, wokenTogether: true);
    }

    /// <summary>A sleeping send() leaves its wait (timeout, signal) without the others'.</summary>
    void ForgetSender(PendingCall call)
    {
        if (PendingSend == call)
        {
            PendingSend = null;
            NextSender(run: false);
        }
        else OtherSends?.Remove(call);
    }

    /// <summary>sk_stream_error(): the pending socket error if any (consumed), else EPIPE.</summary>
    string TakeStreamError()
    {
        var e = SoftError ?? Errno.EPIPE;
        SoftError = null;
        return e;
    }

    /// <summary>
    /// A wakeup of the socket's wait queue reaches a send() asleep in sk_stream_wait_memory() (or in
    /// sk_stream_wait_connect(): <see cref="RunWokenConnectWaiter"/>) — net/core/stream.c:
    /// sk_stream_write_space() once the buffer is writeable, sk_state_change(), sk_data_ready() (the sleeper's
    /// woken_wake_function() takes any wakeup). Its sk_wait_event() condition is sk_err, SEND_SHUTDOWN or
    /// sk_stream_memory_free(): with room it copies again (tcp_sendmsg_locked()'s loop), and sleeps again for the
    /// rest of its timeo if the buffer fills once more; without room it sleeps again at once for the rest of its
    /// timeo — a new timer for the same expiry, placed on the wheel from the clock of the new sleep. From a softirq the
    /// writer runs after it (<see cref="Simulation.WakeTask"/>): an ACK's sk_stream_write_space() wakes it, and it
    /// copies and pushes once net_rx_action() has processed every ACK of the burst — the space they all freed, the
    /// cwnd they grew, SOCK_NOSPACE cleared by the first (tcp_check_space() does not run again for the others).
    /// </summary>
    void WakeWriter()
    {
        if (PendingSend is null || WakeLater(WokenTasks.Writer)) return;
        RunWokenWriters();
    }

    /// <summary>
    /// The sleeping senders a wakeup reached run: the head (<see cref="PendingSend"/>), then every other one in its
    /// vm_wait sleep — add_wait_queue() is not exclusive, so __wake_up_common() wakes every sleeper, and
    /// woken_wake_function() ends a vm_wait sleep whatever the wakeup. A woken sender out of vm_wait without memory only
    /// sleeps again (the head runs the next one when it returns: <see cref="NextSender"/>).
    /// </summary>
    void RunWokenWriters()
    {
        if (PendingSend is not { } head) return;
        var inVmWait = OtherSends?.Where(c => c.VmWait is not null).Select(c => (Call: c, Sleep: c.VmWait)).ToList();
        RunWokenWriter(head, wokenTogether: true);
        foreach (var (call, vmWait) in inVmWait ?? [])
            if (call.VmWait == vmWait && Simulation.IsPending(call)) RunWokenWriter(call, wokenTogether: false);
    }

    /// <summary>
    /// sk_stream_wait_memory() (or sk_stream_wait_connect()) of <paramref name="call"/> returns to tcp_sendmsg_locked()'s
    /// loop. When the head returns, the next sender runs if the same wakeup reached it (<paramref name="wokenTogether"/>;
    /// a vm_wait timer's process_timeout() wakes its own task alone).
    /// </summary>
    void RunWokenWriter(PendingCall call, bool wokenTogether)
    {
        if (call.SendWaitsConnect)
        {
            RunWokenConnectWaiter(call);
            return;
        }
        bool vmWaitEnded = EndVmWait(call);
        if (State is TcpState.Established or TcpState.CloseWait && !SendShutdown && SoftError is null)
        {
            if (vmWaitEnded && call.Sleep is { } asleep && Jiffies.Absolute(_sim.Now) >= asleep.ExpiresJiffies)
            {
                // The vm_wait sleep outlasted the timeo ("if ((current_timeo -= vm_wait) < 0) current_timeo = 0"): the
                // loop's "if (!*timeo_p) goto do_eagain" comes before the memory test.
                ReturnTimedOutSend(call);
                return;
            }
            if (!StreamMemoryFree)
            {
                // sk_wait_event() returned with the condition false: the loop sleeps again with the timeo left.
                Sleep(call, SndTimeo(call), TcpTimerKind.SendTimeout);
                return;
            }
            CopyToSendQueue(call);
            if (call.Done < call.Requested)
            {
                // Woken by sk_stream_write_space(), copied what fitted, and sleeps again for the rest of its timeo
                // (wait_for_space: sk_stream_wait_memory() entered again, its add_wait_queue() putting it first).
                EnterMemoryWait(call);
                if (PendingSend == call) return;
                OtherSends!.Remove(call);
                QueueSender(call);
                return;
            }
            SenderReturns(call, call.Done, null, wokenTogether);
            return;
        }
        // A blocked send returns what it copied, or the error when it copied nothing.
        if (call.Done > 0) SenderReturns(call, call.Done, null, wokenTogether);
        else SenderReturns(call, -1, TakeStreamError(), wokenTogether);
    }

    /// <summary>A woken send() returns: it leaves the wait queue, and the next one goes on if it was woken too.</summary>
    void SenderReturns(PendingCall call, long result, string? errno, bool wokenTogether)
    {
        bool head = PendingSend == call;
        if (head) PendingSend = null;
        else OtherSends?.Remove(call);
        _sim.CompleteCall(call, result, errno);
        if (head) NextSender(run: wokenTogether);
    }

    /// <summary>
    /// A send() asleep in sk_stream_wait_connect() (net/core/stream.c) runs: still SYN_SENT or SYN_RECV, it sleeps again
    /// with the timeo left; else the loop returns sock_error() or -EPIPE (a reset, a disconnect), or 0 in ESTABLISHED or
    /// CLOSE_WAIT, and tcp_sendmsg_locked() goes on to copy. Woken by the handshake's sk_state_change()
    /// (tcp_finish_connect(), tcp_rcv_state_process() in SYN_RECV) it runs after the softirq
    /// (<see cref="Simulation.WakeTask"/>): a RST right behind the SYN-ACK fails it with ECONNRESET, nothing sent;
    /// data right behind is ACKed first (quickack mode), and the first data segment carries that ACK.
    /// </summary>
    void RunWokenConnectWaiter(PendingCall call)
    {
        PendingSend = null;
        call.SendWaitsConnect = false;
        var outcome = SendAfterRateCheck(call.Requested, call);
        if (outcome.Blocked) return;
        _sim.CompleteCall(call, outcome.Value, outcome.Errno);
        NextSender(run: true);
    }

    /// <summary>
    /// Models tcp_recvmsg_locked() — net/ipv4/tcp.c: copies what is queued (up to len); returns once it has
    /// target = sock_rcvlowat() bytes (SO_RCVLOWAT, at most len), or reached the FIN. With less, and something
    /// copied, it returns when the call may not sleep (timeo 0), on sk_err, in CLOSE or after RCV_SHUTDOWN; with
    /// nothing copied: SOCK_DONE (EOF) returns 0, a pending error is reported once, RCV_SHUTDOWN returns 0, CLOSE
    /// gives ENOTCONN, timeo 0 EAGAIN. Else tcp_cleanup_rbuf(copied) and sleep in sk_wait_data() — woken by
    /// tcp_data_ready() only once SO_RCVLOWAT bytes wait (<see cref="DataReady"/>), and the loop copies again.
    /// </summary>
    /// <param name="timedOut">The sleep's timer ran: timeo is 0 for this pass (what arrived meanwhile is still copied).</param>
    internal CallOutcome Recv(long bytes, MsgFlags flags, PendingCall call, bool timedOut = false)
    {
        if (State == TcpState.Listen) return CallOutcome.Fail(Errno.ENOTCONN);
        call.MsgFlags = flags;
        bool peek = (flags & MsgFlags.MSG_PEEK) != 0;
        long len = bytes < 0 ? long.MaxValue : bytes;
        long target = RecvTarget(len);
        // MSG_PEEK copies from a local peek_seq (copied_seq + what this call peeked), not copied_seq.
        long avail = peek ? _rcv.Unread - call.Done : _rcv.Unread;
        bool finEaten = false;
        if (avail > 0)
        {
            long n = Math.Min(len - call.Done, avail);
            if (peek)
            {
                // MSG_PEEK: nothing is consumed, the FIN is not eaten; tcp_rcv_space_adjust() still runs (with
                // sk_rmem_alloc unchanged).
                RcvSpaceAdjust(_rcv.Unread);
            }
            else
            {
                _rcv.Unread -= n;
                finEaten = _rcv.Unread == 0 && SockDone;
                ConsumeRcv(n, eatFin: finEaten);
                Recharge();
                _sim.RecordDelivered(this, n);
                if (_rcv.Unread == 0) CopyFin();
            }
            call.Done += n;
        }
        else if (!peek && call.Done > 0 && SockDone && !FinCopied)
        {
            // Woken with nothing new but the FIN skb at copied_seq: found_fin_ok eats it and ends the loop.
            ConsumeRcv(0, eatFin: true);
            CopyFin();
            finEaten = true;
        }
        long copied = call.Done;
        if (copied > 0 || avail > 0)
        {
            // found_fin_ok breaks the loop; so do copied >= target and an exhausted len.
            bool done = copied >= target || finEaten || copied == len;
            long timeo = timedOut || (flags & MsgFlags.MSG_DONTWAIT) != 0 ? 0 : SockRcvTimeo;
            if (done || timeo == 0 || SoftError is not null || State == TcpState.Close || RcvShutdown)
            {
                // After the loop, tcp_cleanup_rbuf(sk, copied).
                CleanupRbuf(copied);
                return CallOutcome.Ok(copied);
            }
            // copied < target: tcp_cleanup_rbuf(sk, copied), then sk_wait_data() with the timeo left (a new timer).
            CleanupRbuf(copied);
            Sleep(call, timeo, TcpTimerKind.ReceiveTimeout);
            AddSleepingReader(call);
            return CallOutcome.Block;
        }
        if (SockDone)
        {
            if (peek) return CallOutcome.Ok(0); // found_fin_ok with MSG_PEEK: only peek_seq moves past the FIN
            // The loop runs once even for len 0: the FIN skb at copied_seq is found and eaten.
            ConsumeRcv(0, eatFin: true);
            CopyFin();
            return CallOutcome.Ok(0);
        }
        // len 0 takes the same checks (target = sock_rcvlowat(…, 0) = 1): EAGAIN, the error, ENOTCONN, or a sleep that
        // any wakeup ends (EndZeroLengthRecv).
        if (SoftError is not null)
        {
            var e = SoftError;
            SoftError = null;
            return CallOutcome.Fail(e);
        }
        if (RcvShutdown) return CallOutcome.Ok(0);
        if (State == TcpState.Close) return CallOutcome.Fail(Errno.ENOTCONN);
        // tcp_recvmsg_locked(): timeo = sock_rcvtimeo(); 0 → -EAGAIN; else sk_wait_data(), bounded by SO_RCVTIMEO.
        // A call woken and still without data sleeps again with the timeo schedule_timeout() returned: a new timer
        // for its first expiry, placed on the wheel from the clock of the new sleep.
        if (timedOut || !Sleep(call, (flags & MsgFlags.MSG_DONTWAIT) != 0 ? 0 : SockRcvTimeo, TcpTimerKind.ReceiveTimeout))
            return CallOutcome.Fail(Errno.EAGAIN);
        AddSleepingReader(call);
        return CallOutcome.Block;
    }

    /// <summary>
    /// The found_fin_ok step of tcp_recvmsg_locked() — net/ipv4/tcp.c: a read that reaches the FIN
    /// moves copied_seq past it (*seq + 1), so Recv-Q (rcv_nxt − copied_seq) drops to 0. A FIN that
    /// arrives while data is unread is coalesced onto the tail skb (tcp_try_coalesce() ORs its
    /// flags in), so the read that empties the queue eats it; a FIN arriving on an empty queue is
    /// its own skb, eaten by the next read, which returns 0.
    /// </summary>
    void CopyFin()
    {
        if (SockDone) FinCopied = true;
    }

    /// <summary>
    /// A recv() of length 0 woken from sk_wait_data() — by data, a FIN, a RST, a shutdown or its timeo running out:
    /// tcp_recvmsg_locked()'s "continue" meets the loop's while (len &gt; 0), so no second pass looks at the queue (a
    /// FIN is not eaten, an error not taken); tcp_cleanup_rbuf(sk, 0) and 0 returned.
    /// </summary>
    bool EndZeroLengthRecv(PendingCall call)
    {
        if (call.Requested != 0) return false;
        CleanupRbuf(0);
        _sim.CompleteCall(call, 0, null);
        return true;
    }

    /// <summary>
    /// A wakeup of the socket's wait queue reaches a recv() asleep in sk_wait_data() — net/core/sock.c: sk_data_ready()
    /// (sock_def_readable() → wake_up_interruptible_sync_poll()), sk_state_change(), sk_error_report(),
    /// sk_stream_write_space(). From a softirq the reader runs after it (<see cref="Simulation.WakeTask"/>): by then
    /// net_rx_action() has received every segment of the burst; a reader that does run at once on another CPU holds
    /// the socket lock, so the rest of the burst goes to the backlog, and tcp_recvmsg_locked() goes on copying while
    /// sk->sk_backlog.tail is set (__sk_flush_backlog()) — the same bytes. A wakeup made by a call (shutdown(),
    /// connect(AF_UNSPEC), setsockopt(SO_RCVLOWAT)) completes the woken recv with the waker's call.
    /// </summary>
    void WakeReader()
    {
        if (!HasSleepingReader || WakeLater(WokenTasks.Reader)) return;
        RunWokenReaders();
    }

    /// <summary>Whether a task of this socket woken now runs later, after the softirq (<see cref="Simulation.WakeTask"/>).</summary>
    bool WakeLater(WokenTasks task) => _sim.WakeTask(this, ref _woken, task);

    /// <summary>A woken task of this socket runs: its sk_wait_event() (or wait loop) re-takes the socket lock and tests its condition.</summary>
    void TaskWoken(WokenTasks task)
    {
        if ((_woken & task) == 0) return; // the socket was reused meanwhile
        _woken &= ~task;
        switch (task)
        {
            case WokenTasks.Reader: RunWokenReaders(); break;
            case WokenTasks.Writer: RunWokenWriters(); break;
            case WokenTasks.Close: LingerWoken(); break;
            case WokenTasks.Connect: RunWokenConnect(); break;
            case WokenTasks.Accept: RunWokenAcceptor(); break;
        }
    }

    /// <summary>
    /// The listener's sk_data_ready() (a child queued by inet_csk_reqsk_queue_add()) reaches an accept() asleep in
    /// inet_csk_wait_for_connect() (prepare_to_wait_exclusive(): one sleeper per wakeup); from a softirq it runs after it
    /// (<see cref="Simulation.WakeTask"/>), so until then the child counts in sk_ack_backlog — a SYN of the same burst
    /// meets the queue as full as it is.
    /// </summary>
    void WakeAcceptor()
    {
        if (_rare?.Listen is not { Waiters.Count: > 0 } || WakeLater(WokenTasks.Accept)) return;
        RunWokenAcceptor();
    }

    /// <summary>Models inet_csk_accept() after the wait: each woken accept() takes the oldest child (reqsk_queue_remove()).</summary>
    void RunWokenAcceptor()
    {
        if (_rare?.Listen is not { } listen) return;
        while (listen.Accept.Count > 0 && listen.Waiters.TryDequeue(out var call))
        {
            var child = listen.Accept.Dequeue();
            // fd_install() at the descriptor accept() took before it slept (or, without a limit, the lowest free now).
            int fd = call.ReservedFd >= 0 ? call.ReservedFd : call.Process.AllocFd(Engine.Simulation.NrOpen);
            call.ReservedFd = -1;
            call.Process.InstallOwn(child, fd);
            _sim.CompleteCall(call, fd, null, child);
        }
    }

    /// <summary>
    /// Every recv() asleep on the socket was woken (__wake_up_common() ends no non-exclusive sleep early): each runs in
    /// the wait queue's order, the last sleeper first; one that finds nothing to return sleeps again at the head.
    /// </summary>
    void RunWokenReaders()
    {
        var call = SleepingReaders;
        SleepingReaders = null;
        while (call is not null)
        {
            var next = call.NextSleepingReader;
            call.NextSleepingReader = null;
            RunWokenReader(call);
            call = next;
        }
    }

    /// <summary>sk_wait_event() returns to tcp_recvmsg_locked(): -EPIPE after a disconnect, else the loop copies again.</summary>
    void RunWokenReader(PendingCall call)
    {
        if (call.DisconnectsAtSleep != Disconnects)
        {
            // sk_wait_data() → sk_wait_event() saw sk_disconnects move: -EPIPE; tcp_recvmsg_locked() "err = copied ? : err".
            if (call.Done > 0) _sim.CompleteCall(call, call.Done, null);
            else _sim.CompleteCall(call, -1, Errno.EPIPE);
            return;
        }
        if (EndZeroLengthRecv(call)) return;
        var outcome = Recv(call.Requested, call.MsgFlags, call);
        if (!outcome.Blocked) _sim.CompleteCall(call, outcome.Value, outcome.Errno);
    }

    /// <summary>Models inet_shutdown() + tcp_shutdown().</summary>
    internal CallOutcome Shutdown(ShutdownHow how)
    {
        bool rd = how != ShutdownHow.SHUT_WR, wr = how != ShutdownHow.SHUT_RD;
        CallOutcome result = CallOutcome.Ok();
        // inet_shutdown(): an SS_CONNECTING socket (a connect() not yet collected) becomes SS_DISCONNECTING while the
        // handshake runs or after it failed, else SS_CONNECTED.
        if (_sockState == SocketState.Connecting)
            _sockState = State is TcpState.SynSent or TcpState.SynRecv or TcpState.Close ? SocketState.Disconnecting : SocketState.Connected;
        switch (State)
        {
            case TcpState.Close:
                result = CallOutcome.Fail(Errno.ENOTCONN);
                SetShutdownFlags(rd, wr);
                break;
            case TcpState.Listen:
                // "Remaining two branches are temporary solution for missing close() in multithreaded environment."
                if (rd) Disconnect("inet_shutdown (listener)");
                break;
            case TcpState.SynSent:
                Disconnect("inet_shutdown (SYN-SENT)");
                break;
            default:
                SetShutdownFlags(rd, wr);
                if (wr) TcpShutdown("tcp_shutdown");
                break;
        }
        WakeReader();
        WakeWriter();
        return result;
    }

    /// <summary>
    /// Models tcp_shutdown(sk, SEND_SHUTDOWN) — net/ipv4/tcp.c: in ESTABLISHED or CLOSE_WAIT (SYN_SENT never gets here:
    /// inet_shutdown() disconnects it) the close state table and a FIN. Since 6.10 not in SYN_RECV ("tcp: defer
    /// shutdown(SEND_SHUTDOWN) for TCP_SYN_RECV sockets"): the FIN waits for tcp_rcv_state_process() to make the socket
    /// ESTABLISHED, which calls tcp_shutdown() again when SEND_SHUTDOWN is set; linux-4.4 still closes SYN_RECV at once.
    /// </summary>
    void TcpShutdown(string cause)
    {
        if (State is TcpState.Established or TcpState.CloseWait
            || State == TcpState.SynRecv && _sim.Profile == KernelProfile.Linux44)
            CloseStateAndFin(cause);
    }

    void SetShutdownFlags(bool rd, bool wr)
    {
        RcvShutdown |= rd;
        SendShutdown |= wr;
    }

    /// <summary>Models sock_setsockopt()/do_tcp_setsockopt() for the options the simulator knows.</summary>
    internal CallOutcome SetOption(SocketOption option, int value, int lingerOnOff)
    {
        switch (option)
        {
            case SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO:
                // sock_set_timeout() → sock_copy_user_timeval(): an int is shorter than struct timeval: EINVAL.
                return CallOutcome.Fail(Errno.EINVAL);
            case SocketOption.SO_ERROR or SocketOption.TCP_INFO or SocketOption.SO_MEMINFO:
                // Read-only: sock_setsockopt() / do_tcp_setsockopt() have no case for them.
                return CallOutcome.Fail(Errno.ENOPROTOOPT);
            case SocketOption.SO_LINGER:
                SetLinger(lingerOnOff, value);
                break;
            case SocketOption.TCP_LINGER2:
                // do_tcp_setsockopt(TCP_LINGER2) — net/ipv4/tcp.c: < 0 → -1, 0 → the sysctl, above TCP_FIN_TIMEOUT_MAX / HZ →
                // TCP_FIN_TIMEOUT_MAX (5.8+, "net: Replace the limit of TCP_LINGER2 with TCP_FIN_TIMEOUT_MAX"). linux-4.4:
                // above sysctl_tcp_fin_timeout / HZ (as it is now) → 0, i.e. the sysctl again.
                if (value < 0) Linger.Linger2 = -1;
                else if (_sim.Profile == KernelProfile.Linux44) Linger.Linger2 = value > Host.Sysctls.TcpFinTimeoutSec ? 0 : value;
                else Linger.Linger2 = Math.Min(value, TcpConstants.FinTimeoutMaxSec);
                break;
            case SocketOption.SO_REUSEADDR: ReuseAddr = value != 0; break;
            case SocketOption.SO_REUSEPORT: ReusePort = value != 0; break;
            case SocketOption.SO_KEEPALIVE: SetKeepalive(value != 0); break;
            case SocketOption.TCP_KEEPIDLE:
                if (value is < 1 or > TcpConstants.MaxKeepIdle) return CallOutcome.Fail(Errno.EINVAL);
                SetKeepIdle(value);
                break;
            case SocketOption.TCP_KEEPINTVL:
                if (value is < 1 or > TcpConstants.MaxKeepIdle) return CallOutcome.Fail(Errno.EINVAL);
                Keepalive.IntvlSec = value;
                break;
            case SocketOption.TCP_KEEPCNT:
                if (value is < 1 or > TcpConstants.MaxKeepCnt) return CallOutcome.Fail(Errno.EINVAL);
                Keepalive.Probes = value;
                break;
            case SocketOption.TCP_USER_TIMEOUT:
                if (value < 0) return CallOutcome.Fail(Errno.EINVAL);
                Keepalive.UserTimeoutMs = value;
                break;
            case SocketOption.IP_LOCAL_PORT_RANGE when _sim.Profile == KernelProfile.Linux44:
                return CallOutcome.Fail(Errno.ENOPROTOOPT); // IP_LOCAL_PORT_RANGE came in 6.3: 4.4's do_ip_setsockopt() default
            case SocketOption.IP_LOCAL_PORT_RANGE: return SetLocalPortRange(value);
            case SocketOption.IP_BIND_ADDRESS_NO_PORT: return SetBindAddressNoPort(value);
            case SocketOption.SO_SNDBUF:
                // sk_setsockopt() SO_SNDBUF: SOCK_SNDBUF_LOCK, sk_sndbuf = max(2 · min(val, wmem_max), SOCK_MIN_SNDBUF),
                // then sk->sk_write_space(): a writer asleep for space wakes if the new size makes the buffer writeable.
                SndBufSet = BufferOptionValue(value, TcpConstants.SockMinSndBuf);
                StreamWriteSpace();
                break;
            case SocketOption.SO_RCVBUF: RcvBufSet = BufferOptionValue(value, TcpConstants.SockMinRcvBuf); break;
            case SocketOption.TCP_NODELAY: SetNoDelay(value != 0); break;
            case SocketOption.TCP_CORK: SetCork(value != 0); break;
            case SocketOption.TCP_QUICKACK: SetQuickAck(value); break;
            case SocketOption.TCP_SYNCNT: return SetSynCount(value);
            case SocketOption.TCP_DEFER_ACCEPT: SetDeferAccept(value); break;
            case SocketOption.TCP_MAXSEG: return SetMaxSeg(value);
            case SocketOption.SO_RCVLOWAT: SetRcvLowat(value); break;
            case SocketOption.TCP_NOTSENT_LOWAT: SetNotsentLowat(value); break;
            case SocketOption.TCP_RTO_MAX_MS: return SetRtoMax(value);
        }
        return CallOutcome.Ok();
    }

    /// <summary>
    /// The SO_SNDBUF / SO_RCVBUF value kept, as sk_setsockopt() — net/core/sock.c — reads it: <c>min_t(u32, val,
    /// sysctl_[wr]mem_max)</c> takes the int as u32 (so -1 is 4294967295, capped at the maximum: sk_sndbuf/sk_rcvbuf
    /// 2 · [wr]mem_max, not the minimum), then <c>min_t(int, val, INT_MAX / 2)</c> so val · 2 fits an int, and
    /// <c>max_t(int, val * 2, SOCK_MIN_[SND|RCV]BUF)</c>. The [wr]mem_max cap is applied where the size is read
    /// (<see cref="SkSndbuf"/>, <see cref="SkRcvbuf"/>); kept here at least half the minimum, never 0 ("not set").
    /// </summary>
    static int BufferOptionValue(int value, int minBuffer) =>
        (int)Math.Max(minBuffer / 2, Math.Min(unchecked((uint)value), int.MaxValue / 2));

    /// <summary>
    /// Models sk_setsockopt(SO_LINGER) — net/core/sock.c: l_onoff 0 only clears SOCK_LINGER (sk_lingertime stays, the
    /// l_linger given is ignored); else <c>unsigned long t_sec = l_linger</c> — a negative int sign-extends to a huge
    /// value — and t_sec ≥ MAX_SCHEDULE_TIMEOUT / HZ saturates to MAX_SCHEDULE_TIMEOUT (no limit), else t_sec·HZ
    /// jiffies; SOCK_LINGER set. linux-4.4 on a 64-bit kernel: (unsigned int)l_linger · HZ, never saturated, an
    /// unsigned int product that wraps at 32 bits before it is stored in the unsigned long sk_lingertime.
    /// </summary>
    void SetLinger(int onOff, int seconds)
    {
        if (onOff == 0)
        {
            if (LingerSet is { } l) l.On = false;
            return;
        }
        if (_sim.Profile == KernelProfile.Linux44)
            Linger.Jiffies = unchecked((uint)seconds * (uint)Jiffies.Hz);
        else
            Linger.Jiffies = seconds < 0 ? MaxScheduleTimeout : (long)seconds * Jiffies.Hz;
        Linger.On = true;
    }

    /// <summary>getsockopt(): effective values as the kernel reports them (SO_SNDBUF doubled, TCP_LINGER2 in seconds).</summary>
    /// <summary>
    /// Models sock_getsockopt() / do_tcp_getsockopt(): the value as the call's result (0 for
    /// TCP_INFO), and what optval received as compact JSON — SO_LINGER's struct linger
    /// {onoff, linger}, SO_ERROR's error name (read and cleared: sock_error()), tcp_get_info()'s fields (ca_state:
    /// icsk_ca_state, 0 Open … 4 Loss) — with those of
    /// the delivery-rate sampler and the chronographs (tcpi_delivery_rate, tcpi_delivery_rate_app_limited, tcpi_busy_time,
    /// tcpi_rwnd_limited, tcpi_sndbuf_limited, µs) and tcpi_delivered_ce, named as struct tcp_info names them; on
    /// linux-4.4 up to tcpi_segs_in, where 4.4's struct ends (<see cref="MoreTcpInfoJson"/>).
    /// </summary>
    internal CallOutcome GetOption(SocketOption option)
    {
        switch (option)
        {
            case SocketOption.SO_LINGER:
                // sk_getsockopt(): l_onoff = sock_flag(SOCK_LINGER), l_linger = sk_lingertime / HZ (kept while off).
                return CallOutcome.Ok(LingerOn ? LingerSec : 0, $"{{\"onoff\":{(LingerOn ? 1 : 0)},\"linger\":{LingerSec}}}");
            case SocketOption.IP_LOCAL_PORT_RANGE when _sim.Profile == KernelProfile.Linux44:
                return CallOutcome.Fail(Errno.ENOPROTOOPT); // IP_LOCAL_PORT_RANGE came in 6.3: 4.4's do_ip_getsockopt() default
            case SocketOption.IP_LOCAL_PORT_RANGE: return GetLocalPortRange();
            case SocketOption.SO_SNDTIMEO: return GetTimeout(SndTimeoJiffies);
            case SocketOption.SO_RCVTIMEO: return GetTimeout(RcvTimeoJiffies);
            case SocketOption.SO_ERROR:
                // sock_error(): xchg(&sk->sk_err, 0) — the next read sees 0.
                var error = SoftError;
                SoftError = null;
                return error is null ? CallOutcome.Ok(0, "0") : CallOutcome.Ok(Errno.Number(error), $"\"{error}\"");
            case SocketOption.TCP_CONGESTION: return CallOutcome.Ok(0, $"\"{CaOps.ToName()}\"");
            case SocketOption.TCP_RTO_MAX_MS when _sim.Profile == KernelProfile.Linux44:
                return CallOutcome.Fail(Errno.ENOPROTOOPT); // 4.4's do_tcp_getsockopt() has no such case: default
            case SocketOption.SO_MEMINFO when _sim.Profile == KernelProfile.Linux44:
                return CallOutcome.Fail(Errno.ENOPROTOOPT); // SO_MEMINFO came in 4.12: 4.4's sock_getsockopt() default
            case SocketOption.SO_MEMINFO: return CallOutcome.Ok(0, Meminfo.Json); // sk_getsockopt(): sk_get_meminfo()
            case SocketOption.TCP_INFO:
                var i = Info;
                return CallOutcome.Ok(0, $"{{\"state\":\"{i.State.ToDisplayName()}\",\"ca_state\":{i.CaState},\"retransmits\":{i.Retransmits},\"probes\":{i.Probes}," +
                    $"\"backoff\":{i.Backoff},\"rto\":{i.RtoUs},\"snd_mss\":{i.SndMss},\"unacked\":{i.Unacked}," +
                    // tcpi_sacked is sk_max_ack_backlog for a listener ("listeners aliased fields"); tcpi_snd_ssthresh is
                    // raw (TCP_INFINITE_SSTHRESH 2147483647 before the first loss; 0 for a listener, which returns early).
                    $"\"sacked\":{(State == TcpState.Listen ? Backlog : i.Sacked)},\"lost\":{i.Lost},\"retrans\":{i.Retrans}," +
                    $"\"snd_ssthresh\":{i.SndSsthresh},\"snd_cwnd\":{i.SndCwnd},{MoreTcpInfoJson(i)}}}");
            default:
                return CallOutcome.Ok(IntOption(option));
        }
    }

    /// <summary>
    /// The rest of struct tcp_info that tcp_get_info() fills and the engine keeps, named as the struct names them: 4.4's
    /// fields (ato … segs_in; tcpi_last_ack_sent is always 0, "not remembered"), then on linux-6 the later ones
    /// (notsent_bytes, min_rtt, data_segs_in/out 4.6; delivered 4.18; bytes_sent, bytes_retrans, dsack_dups, reord_seen 4.19;
    /// rcv_ooopack, snd_wnd 5.4; rcv_wnd, rehash 6.2), the delivery-rate sampler and the chronographs (delivery_rate, delivery_rate_app_limited 4.9; busy_time,
    /// rwnd_limited, sndbuf_limited 4.10), delivered_ce (4.20) and tcpi_total_rto, tcpi_total_rto_recoveries,
    /// tcpi_total_rto_time (6.7). linux-4.4's struct tcp_info ends at tcpi_segs_in: its getsockopt(TCP_INFO) copies
    /// no more. A listener returns early after pacing_rate, reordering and snd_cwnd: the others read 0 (min_rtt too),
    /// as observed on Linux 6.18.44.
    /// </summary>
    string MoreTcpInfoJson(TcpInfo i)
    {
        var common = $"\"ato\":{i.AtoUs},\"rcv_mss\":{i.RcvMss},\"last_data_sent\":{i.LastDataSentMs},\"last_ack_sent\":0," +
            $"\"last_data_recv\":{i.LastDataRecvMs},\"last_ack_recv\":{i.LastAckRecvMs},\"pmtu\":{i.Pmtu},\"rcv_ssthresh\":{i.RcvSsthresh}," +
            $"\"rtt\":{i.RttUs},\"rttvar\":{i.RttVarUs},\"advmss\":{i.AdvMss},\"reordering\":{unchecked((uint)i.Reordering)}," +
            $"\"rcv_rtt\":{i.RcvRttUs},\"rcv_space\":{i.RcvSpace},\"total_retrans\":{i.TotalRetrans},\"pacing_rate\":{i.PacingRate}," +
            $"\"bytes_acked\":{i.BytesAcked},\"bytes_received\":{i.BytesReceived},\"segs_out\":{i.SegsOut},\"segs_in\":{i.SegsIn}";
        if (_sim.Profile == KernelProfile.Linux44) return common;
        long minRtt = State == TcpState.Listen ? 0 : i.MinRttUs;
        return common + $",\"notsent_bytes\":{i.NotSentBytes},\"min_rtt\":{minRtt},\"data_segs_in\":{i.DataSegsIn},\"data_segs_out\":{i.DataSegsOut}," +
            $"\"delivered\":{i.Delivered},\"bytes_sent\":{i.BytesSent},\"bytes_retrans\":{i.BytesRetrans},\"dsack_dups\":{i.DsackDups}," +
            $"\"reord_seen\":{i.ReordSeen},\"rcv_ooopack\":{i.RcvOoopack},\"snd_wnd\":{i.SndWnd},\"rcv_wnd\":{i.RcvWnd},\"rehash\":{i.Rehash}," +
            $"\"delivery_rate\":{i.DeliveryRate},\"delivery_rate_app_limited\":{(i.DeliveryRateAppLimited ? 1 : 0)}," +
            $"\"busy_time\":{i.BusyTimeUs},\"rwnd_limited\":{i.RwndLimitedUs},\"sndbuf_limited\":{i.SndbufLimitedUs}," +
            $"\"delivered_ce\":{i.DeliveredCe}," +
            $"\"total_rto\":{i.TotalRto},\"total_rto_recoveries\":{i.TotalRtoRecoveries},\"total_rto_time\":{i.TotalRtoTimeMs}";
    }

    /// <summary>
    /// Models inet_getname(peer = 1): the peer's address while connected; ENOTCONN before the
    /// connection has a peer port, or in CLOSE/SYN-SENT.
    /// </summary>
    /// <summary>fcntl(F_SETFL, O_NONBLOCK): the file's flag every later call reads (sock_sndtimeo / sock_rcvtimeo 0).</summary>
    internal CallOutcome SetNonBlocking(bool on)
    {
        NonBlocking = on;
        return CallOutcome.Ok();
    }

    /// <summary>poll() with a zero timeout: 1 and the returned events when any requested one (or POLLERR/POLLHUP) is set, else 0.</summary>
    internal CallOutcome PollNow(int events)
    {
        int revents = PollMask() & (events | PollEvents.POLLERR | PollEvents.POLLHUP);
        return CallOutcome.Ok(revents != 0 ? 1 : 0, $"\"{PollEvents.Text(revents)}\"");
    }

    /// <summary>
    /// Models tcp_poll() — net/ipv4/tcp.c: a listener is readable with a connection to accept;
    /// HUP when both directions are shut or the socket is CLOSE; RDHUP and readable after the peer's
    /// FIN; outside SYN-SENT/SYN-RECV, readable when tcp_epollin_ready(sk, SO_RCVLOWAT) and writable while the send
    /// buffer has room for half of what it holds (__sk_stream_is_writeable(): sk_sndbuf − sk_wmem_queued ≥
    /// sk_wmem_queued / 2) and twice the unsent bytes are below TCP_NOTSENT_LOWAT (tcp_stream_memory_free(sk, 1)),
    /// or the send side is shut; ERR while sk_err is set.
    /// A never-connected socket is CLOSE, hence writable and HUP, as in Linux.
    /// </summary>
    public int PollMask()
    {
        if (State == TcpState.Listen) return AcceptQueueCount > 0 ? PollEvents.POLLIN | PollEvents.POLLRDNORM : 0;
        int mask = 0;
        if (((RcvShutdown || SockDone) && SendShutdown) || State == TcpState.Close) mask |= PollEvents.POLLHUP;
        if (RcvShutdown || SockDone) mask |= PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLRDHUP;
        if (State is not (TcpState.SynSent or TcpState.SynRecv))
        {
            // tcp_stream_is_readable(sk, sock_rcvlowat(sk, 0, INT_MAX)) → tcp_epollin_ready(sk, sk_rcvlowat).
            if (PollReadable()) mask |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            // __sk_stream_is_writeable(sk, 1); when not, SOCK_NOSPACE is set so that tcp_check_space() will run
            // tcp_new_space() on the next ACK.
            if (SendShutdown || StreamWriteable) mask |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
            else NoSpace = true;
        }
        if (SoftError is not null) mask |= PollEvents.POLLERR;
        return mask;
    }

    internal CallOutcome GetPeerName() =>
        Remote.Port == 0 || State is TcpState.Close or TcpState.SynSent or TcpState.Listen
            ? CallOutcome.Fail(Errno.ENOTCONN)
            : CallOutcome.Ok(0, $"\"{Remote.Address}:{Remote.Port}\"");

    long IntOption(SocketOption option) => option switch
    {
        SocketOption.SO_LINGER => LingerOn ? LingerSec : 0,
        SocketOption.TCP_LINGER2 => Linger2 < 0 ? -1 : Linger2 == 0 ? Host.Sysctls.TcpFinTimeoutSec : Linger2,
        SocketOption.SO_REUSEADDR => ReuseAddr ? 1 : 0,
        SocketOption.SO_REUSEPORT => ReusePort ? 1 : 0,
        SocketOption.SO_KEEPALIVE => KeepOpen ? 1 : 0,
        SocketOption.TCP_KEEPIDLE => KeepaliveTimeSec,
        SocketOption.TCP_KEEPINTVL => KeepaliveIntvlSec,
        SocketOption.TCP_KEEPCNT => KeepaliveProbes,
        SocketOption.TCP_USER_TIMEOUT => UserTimeoutMs,
        SocketOption.IP_BIND_ADDRESS_NO_PORT => BindAddressNoPort ? 1 : 0,
        SocketOption.SO_SNDBUF => SkSndbuf,
        SocketOption.SO_RCVBUF => SkRcvbuf,
        SocketOption.TCP_NODELAY => (_nonagle & Nagle.Off) != 0 ? 1 : 0,
        SocketOption.TCP_CORK => (_nonagle & Nagle.Cork) != 0 ? 1 : 0,
        SocketOption.TCP_QUICKACK => InPingPongMode ? 0 : 1, // !inet_csk_in_pingpong_mode()
        SocketOption.TCP_SYNCNT => SynRetries,
        SocketOption.TCP_DEFER_ACCEPT => DeferAcceptSeconds,
        SocketOption.TCP_MAXSEG => MaxSegOption,
        SocketOption.SO_RCVLOWAT => RcvLowat, // sk_getsockopt(): READ_ONCE(sk->sk_rcvlowat)
        SocketOption.TCP_NOTSENT_LOWAT => unchecked((int)NotsentLowatSet), // do_tcp_getsockopt(): int val = READ_ONCE(tp->notsent_lowat), 0 while unset
        SocketOption.TCP_RTO_MAX_MS => Jiffies.FromDuration(RtoMax) * 1000 / Jiffies.Hz, // jiffies_to_msecs(tcp_rto_max(sk))
        _ => 0,
    };

    /// <summary>
    /// Models do_tcp_setsockopt(TCP_RTO_MAX_MS) — net/ipv4/tcp.c, 6.15+: outside 1 s..TCP_RTO_MAX_SEC (120 s) EINVAL, else
    /// icsk_rto_max = msecs_to_jiffies(val), rounded up to whole jiffies. It bounds every backoff that reads tcp_rto_max():
    /// the retransmission timer's doubling, the persist timer's, and tcp_write_timeout()'s budget. linux-4.4 has no such
    /// option: its do_tcp_setsockopt() ends in the default case, ENOPROTOOPT.
    /// </summary>
    CallOutcome SetRtoMax(int ms)
    {
        if (_sim.Profile == KernelProfile.Linux44) return CallOutcome.Fail(Errno.ENOPROTOOPT);
        if (ms is < 1000 or > RtoMaxSec * 1000) return CallOutcome.Fail(Errno.EINVAL);
        _icsk.RtoMax = Jiffies.ToDuration(Jiffies.FromDuration(SimDuration.FromMilliseconds(ms)));
        return CallOutcome.Ok();
    }

    int KeepaliveTimeSec => KeepaliveSet is { IdleSec: > 0 } k ? k.IdleSec : Host.Sysctls.TcpKeepaliveTimeSec;
    int KeepaliveIntvlSec => KeepaliveSet is { IntvlSec: > 0 } k ? k.IntvlSec : Host.Sysctls.TcpKeepaliveIntvlSec;
    int KeepaliveProbes => KeepaliveSet is { Probes: > 0 } k ? k.Probes : Host.Sysctls.TcpKeepaliveProbes;

    /// <summary>Copies what accepted children inherit from the listener (sk_clone_lock copies the options).</summary>
    void InheritOptions(TcpSocket listener)
    {
        ReuseAddr = listener.ReuseAddr;
        ReusePort = listener.ReusePort;
        SndBufSet = listener.SndBufSet;
        RcvBufSet = listener.RcvBufSet;
        _rcvBuf = listener._rcvBuf;
        _sndBuf = listener._sndBuf;
        _nonagle = listener._nonagle;
        // sk_clone_lock() → sock_copy(): sk_shutdown too — a listener shut down before listen() passes it on (a child's
        // SEND_SHUTDOWN sends its FIN once ESTABLISHED: CreateChild()).
        RcvShutdown = listener.RcvShutdown;
        SendShutdown = listener.SendShutdown;
        // icsk_syn_retries, user_mss, sk_rcvlowat, notsent_lowat, linger, keepalive, timeouts
        if (listener._rare?.Options?.CloneForChild() is { } options) RareToWrite.Options = options;
        else _rare?.Options = null;
        _ca.Reordering = listener._ca.Reordering; // sk_clone_lock(): the listener's tp->reordering, as tcp_init_sock() set it
        _icsk.RtoMin = listener._icsk.RtoMin; // inet_csk_clone_lock(): the listener's icsk_rto_min and icsk_rto_max, not today's sysctls
        _icsk.RtoMax = listener._icsk.RtoMax;
        InheritCongestionControl(listener);
    }

    /// <summary>sk_sndbuf: 2 × SO_SNDBUF (at most wmem_max) once set (SOCK_SNDBUF_LOCK), else the autotuned value.</summary>
    internal long SkSndbuf => SndBufSet > 0 ? 2L * Math.Min(SndBufSet, Host.Sysctls.WmemMax) : _sndBuf;

    /// <summary>
    /// Models tcp_init_transfer() + tcp_init_buffer_space() — net/ipv4/tcp_input.c, when the connection
    /// becomes ESTABLISHED: tcp_mtup_init() again (<see cref="MtupInit"/>), snd_cwnd = 1 when more than one SYN (or SYN-ACK) was retransmitted and the
    /// timeouts were not undone (tp->total_retrans &gt; 1 &amp;&amp; tp->undo_marker — RFC 5681 §3.1 after the
    /// RFC 6298 1 s initial RTO), else tcp_init_cwnd() = TCP_INIT_CWND; then, without SOCK_SNDBUF_LOCK,
    /// tcp_sndbuf_expand(), whose max(TCP_INIT_CWND, cwnd) makes a cwnd of 1 expand for 10 segments.
    /// </summary>
    /// <remarks>
    /// The engine sets its cwnd here, after the handshake's ACK was processed, so the SYN's ACK is no
    /// slow-start growth. A passive child carries req->num_retrans as total_retrans, and undo_marker only when
    /// the request's timer fired (tcp_create_openreq_child()): two SYN-ACKs resent with one by the timer start it at 1.
    /// </remarks>
    /// <param name="activeOpen">
    /// SYN-SENT → ESTABLISHED: sk_pacing_rate was set by the SYN-ACK's tcp_ack() → tcp_cong_control(), with the mss_cache
    /// that tcp_ack_update_window()'s tcp_sync_mss() gave (<see cref="SynAckMssCache"/>: the peer's MSS less the
    /// connect-time timestamp option, 1448) and tcp_init_sock()'s cwnd of 10. A passive (or
    /// simultaneous) open sets it in tcp_rcv_state_process() SYN_RECV after tcp_init_transfer(), with the synced MSS
    /// and the new cwnd.
    /// </param>
    void InitBufferSpace(bool activeOpen = false)
    {
        MtupInit(timestampHeader: _rxOpt.TsOk); // tcp_init_transfer() starts with it, the options negotiated
        _ca.Cwnd = TotalRetrans > 1 && _ca.UndoMarker != 0 ? 1 : TcpConstants.InitCwnd;
        InitCongestionControl();
        if (SndBufSet == 0) SndbufExpand(TcpConstants.InitCwnd);
        InitReceiveSpace();
        InitPushedSeq();
        if (activeOpen) UpdatePacingRate(SynAckMssCache(), TcpConstants.InitCwnd);
        else UpdatePacingRate(PayloadMss, _ca.Cwnd);
    }

    /// <summary>
    /// Models tcp_sndbuf_expand() — net/ipv4/tcp_input.c: room for two congestion windows (cubic has no
    /// sndbuf_expand hook: the factor 2 of "Fast Recovery") of at least TCP_INIT_CWND and
    /// tp->reordering + 1 segments, each charged as a non-GSO skb: the MSS (max of mss_clamp and
    /// mss_cache) plus MAX_TCP_HEADER and the shared info, rounded up to a power of two (kmalloc),
    /// plus the sk_buff. sk_sndbuf only grows, up to tcp_wmem[2]. With a 1460-byte MSS and MAX_TCP_HEADER 192:
    /// 1460 + 192 + 320 = 1972 → 2048, 2 × 10 × (2048 + 256) = 46080 (observed on Linux 6.18.44, also at MSS 1500;
    /// linux-4.4's 320 gives 2100 → 4096: 87040).
    /// </summary>
    void SndbufExpand(int cwnd)
    {
        int perMss = Math.Max(_rxOpt.MssClamp, PayloadMss) + MaxTcpHeader + TcpConstants.SkbSharedInfoSize;
        perMss = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)perMss) + TcpConstants.SkBuffSize;
        // max_t(u32, nr_segs, tp->reordering + 1): u32 arithmetic.
        long nrSegs = Math.Max((uint)Math.Max(TcpConstants.InitCwnd, cwnd), unchecked(_ca.Reordering + 1));
        long sndmem = 2L * nrSegs * perMss;
        if (_sndBuf < sndmem) _sndBuf = (int)Math.Min(sndmem, Host.Sysctls.TcpWmem[2]); // ≤ tcp_wmem[2], an int
    }

    /// <summary>secure_tcp_seq(): keyed hash of the 4-tuple plus the clock in 64 ns units.</summary>
    uint SecureSeq(FourTuple t) => unchecked((uint)KeyedHash.Of(_sim.IsnSecret, t.Local.Address.Value, t.Remote.Address.Value,
        ((ulong)t.Local.Port << 16) | t.Remote.Port) + (uint)(_sim.Now.Ns >> 6));

    /// <summary>secure_tcp_ts_off(): per address pair on linux-6; none on linux-4.4 (host clocks differ instead).</summary>
    uint TimestampOffset(IPv4 saddr, IPv4 daddr) => _sim.Profile == KernelProfile.Linux6
        ? unchecked((uint)KeyedHash.Of(_sim.TsSecret, saddr.Value, daddr.Value))
        : Host.BootClockOffset;

    /// <summary>The TSval this socket puts on a segment now (tcp_time_stamp_ts: milliseconds).</summary>
    uint TsVal => TsValAt(_sim.Now);

    /// <summary>The TSval at <paramref name="t"/>: tcp_time_stamp_ts() + tsoffset (milliseconds on linux-6, jiffies on linux-4.4).</summary>
    uint TsValAt(SimTime t) => TcpTimestamp.At(_sim.Profile, t, _tsOffset);

    /// <summary>Inherited on TIME-WAIT reuse (tcp_twsk_unique): write_seq = tw_snd_nxt + 65537 and the timestamp state.</summary>
    internal void InheritFromTimeWait(in TimeWaitEntry tw)
    {
        _snd.WriteSeq = tw.SuccessorIsn;
        _snd.WriteSeqKept = true;
        _rxOpt.TsRecent = tw.TsRecent;
        _rxOpt.TsRecentStampSec = tw.TsRecentStampSec;
    }

    /// <summary>A signal interrupts a blocked call of this socket (the process is being killed).</summary>
    internal void Interrupt(PendingCall call)
    {
        ForgetConnect(call);
        ForgetSender(call);
        RemoveSleepingReader(call);
        if (PendingClose == call)
        {
            // sk_stream_wait_close(): the loop ends on signal_pending(); __tcp_close() goes on to orphan the socket.
            PendingClose = null;
            FinishClose();
        }
        RemovePendingAccept(call);
    }
}
