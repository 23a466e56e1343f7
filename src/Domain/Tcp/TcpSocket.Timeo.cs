using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// SO_SNDTIMEO / SO_RCVTIMEO: sk->sk_sndtimeo and sk->sk_rcvtimeo, in jiffies, and the sleep of a blocked
/// call bounded by them (schedule_timeout(): a timer on the kernel's timer wheel).
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>MAX_SCHEDULE_TIMEOUT (LONG_MAX): sleep without a timer — sock_init_data()'s default for both.</summary>
    public const long MaxScheduleTimeout = long.MaxValue;

    /// <summary>Made by the first SO_SNDTIMEO/SO_RCVTIMEO (null: MAX_SCHEDULE_TIMEOUT for both).</summary>
    SockTimeouts? TimeoutsSet => _rare?.Options?.Timeouts;
    SockTimeouts Timeouts => RareOptionsToWrite.Timeouts ??= new();

    /// <summary>sk->sk_sndtimeo in jiffies (<see cref="MaxScheduleTimeout"/>: no limit).</summary>
    public long SndTimeoJiffies => TimeoutsSet?.Snd ?? MaxScheduleTimeout;
    /// <summary>sk->sk_rcvtimeo in jiffies (<see cref="MaxScheduleTimeout"/>: no limit).</summary>
    public long RcvTimeoJiffies => TimeoutsSet?.Rcv ?? MaxScheduleTimeout;

    /// <summary>Models sock_sndtimeo() — include/net/sock.h: 0 with O_NONBLOCK, else sk_sndtimeo.</summary>
    long SockSndTimeo => NonBlocking ? 0 : SndTimeoJiffies;

    /// <summary>sock_sndtimeo(sk, flags &amp; MSG_DONTWAIT) for a send: 0 for MSG_DONTWAIT as for O_NONBLOCK.</summary>
    long SndTimeo(PendingCall call) => (call.MsgFlags & MsgFlags.MSG_DONTWAIT) != 0 ? 0 : SockSndTimeo;

    /// <summary>Models sock_rcvtimeo() — include/net/sock.h: 0 with O_NONBLOCK, else sk_rcvtimeo.</summary>
    long SockRcvTimeo => NonBlocking ? 0 : RcvTimeoJiffies;

    /// <summary>
    /// Models sock_set_timeout() — net/core/sock.c: tv_usec outside [0, USEC_PER_SEC) → EDOM; tv_sec &lt; 0 →
    /// a timeout of 0 (every blocking call then fails at once, as with O_NONBLOCK) and the kernel's pr_info "tries to set
    /// negative timeout", at most 10 per boot and rate-limited (<see cref="Host.WarnNegativeTimeout"/>); {0, 0}, or tv_sec ≥
    /// MAX_SCHEDULE_TIMEOUT/HZ − 1 → MAX_SCHEDULE_TIMEOUT (no limit); else tv_sec·HZ + DIV_ROUND_UP(tv_usec, USEC_PER_SEC/HZ) jiffies.
    /// </summary>
    CallOutcome SetTimeout(ref long timeo, long sec, long usec, SimProcess caller)
    {
        if (usec is < 0 or >= UsecPerSec) return CallOutcome.Fail(Errno.EDOM);
        if (sec < 0)
        {
            timeo = 0;
            Host.WarnNegativeTimeout(caller);
            return CallOutcome.Ok();
        }
        timeo = MaxScheduleTimeout;
        if ((sec != 0 || usec != 0) && sec < MaxScheduleTimeout / Jiffies.Hz - 1)
            timeo = sec * Jiffies.Hz + (usec + UsecPerSec / Jiffies.Hz - 1) / (UsecPerSec / Jiffies.Hz);
        return CallOutcome.Ok();
    }

    /// <summary>
    /// Models sock_get_timeout() — net/core/sock.c: MAX_SCHEDULE_TIMEOUT reads back as {0, 0}; else
    /// {timeo / HZ, (timeo % HZ)·USEC_PER_SEC / HZ} — so {0, 1} reads back as {0, 4000} at HZ=250, and a
    /// negative tv_sec (stored as 0) also as {0, 0}. The call returns 0; optval is the timeval.
    /// </summary>
    static CallOutcome GetTimeout(long timeo)
    {
        long sec = 0, usec = 0;
        if (timeo != MaxScheduleTimeout)
        {
            sec = timeo / Jiffies.Hz;
            usec = timeo % Jiffies.Hz * UsecPerSec / Jiffies.Hz;
        }
        return CallOutcome.Ok(0, $"{{\"sec\":{sec},\"usec\":{usec}}}");
    }

    const long UsecPerSec = 1_000_000;

    /// <summary>sock_setsockopt(): SO_SNDTIMEO → sock_set_timeout(&amp;sk->sk_sndtimeo), SO_RCVTIMEO → &amp;sk->sk_rcvtimeo.</summary>
    internal CallOutcome SetTimeoOption(SocketOption option, long sec, long usec, SimProcess caller) => option == SocketOption.SO_SNDTIMEO
        ? SetTimeout(ref Timeouts.Snd, sec, usec, caller)
        : SetTimeout(ref Timeouts.Rcv, sec, usec, caller);

    /// <summary>
    /// A blocked call goes to sleep (sk_wait_event() → wait_woken() → schedule_timeout(timeo) —
    /// kernel/time/sleep_timeout.c): false when <paramref name="timeo"/> is 0 and the call must not sleep
    /// (the caller's -EAGAIN / -EINPROGRESS path). A finite timeo arms an on-stack timer at
    /// <c>expire = jiffies + timeo</c>, queued on the timer wheel like any timer (<see cref="Jiffies.WheelFires"/>);
    /// MAX_SCHEDULE_TIMEOUT sleeps with no timer. A call that sleeps again after a wakeup (a send that
    /// copied part of its data or waited for the handshake, any sleeper woken without its condition met — a
    /// send by incoming data, a recv by a state change, a lingering close by a simultaneous FIN) keeps its
    /// first expiry: the kernel sleeps again with the remaining timeo, i.e. a new timer for the same jiffy,
    /// placed on the wheel from the clock of the new sleep.
    /// </summary>
    bool Sleep(PendingCall call, long timeo, TcpTimerKind kind)
    {
        call.DisconnectsAtSleep = Disconnects;
        if (call.Sleep is { } asleep)
        {
            asleep.Arm();
            return true;
        }
        if (timeo == 0) return false;
        if (timeo == MaxScheduleTimeout) return true;
        call.Sleep = new CallSleep(this, call, kind, Jiffies.Absolute(_sim.Now) + timeo);
        call.Sleep.Arm();
        return true;
    }

    /// <summary>
    /// A blocked call's timer ran (process_timeout() woke the task): schedule_timeout() returns
    /// <c>expire − jiffies</c>, at most 0 here, so the call's loop sees timeo == 0 and gives up —
    /// unless the expiry lay beyond the wheel's reach (WHEEL_TIMEOUT_MAX, about 49 days), when the task
    /// wakes early and sleeps again for the rest.
    /// </summary>
    internal void OnSleepTimeout(PendingCall call)
    {
        // A lingering close may be no caller's pending call (the close dup2() or a returning call's fdput() made).
        if (call.Kind == SocketCallKind.Close ? PendingClose != call : !Simulation.IsPending(call)) return;
        _sim.TimerFired(Host, Id, call.Sleep!.Kind); // a sleep's timer has one use: its kind
        if (Jiffies.Absolute(_sim.Now) < call.Sleep.ExpiresJiffies)
        {
            call.Sleep.Arm();
            return;
        }
        switch (call.Kind)
        {
            case SocketCallKind.Connect:
                // __inet_stream_connect(): inet_wait_for_connect() returned 0 — "goto out" with err as set
                // before the wait: -EINPROGRESS on the first connect() (sock->state stays SS_CONNECTING, the
                // handshake goes on), -EALREADY on a connect() made while SS_CONNECTING.
                ForgetConnect(call);
                var errno = call.ConnectWasConnecting ? Errno.EALREADY : Errno.EINPROGRESS;
                _sim.CompleteCall(call, -1, errno);
                break;
            case SocketCallKind.Accept:
                // inet_csk_wait_for_connect(): "err = -EAGAIN; if (!timeo) break;".
                RemovePendingAccept(call);
                _sim.CompleteCall(call, -1, Errno.EAGAIN);
                break;
            case SocketCallKind.Recv:
                // tcp_recvmsg_locked()'s next pass with timeo 0: it copies what came meanwhile (below SO_RCVLOWAT,
                // no wakeup) and returns the count; nothing copied → -EAGAIN.
                RemoveSleepingReader(call);
                if (EndZeroLengthRecv(call)) break;
                var read = Recv(call.Requested, call.MsgFlags, call, timedOut: true);
                _sim.CompleteCall(call, read.Value, read.Errno);
                break;
            case SocketCallKind.Close:
                // sk_stream_wait_close(): the timeout is used up; __tcp_close() goes on, close() returns 0.
                EndLinger();
                break;
            case SocketCallKind.Send:
                ReturnTimedOutSend(call);
                break;
        }
    }

    /// <summary>
    /// sk_stream_wait_connect() / sk_stream_wait_memory(): !*timeo_p → -EAGAIN; tcp_sendmsg_locked() then returns what
    /// it copied, if anything ("if (copied + copied_syn) goto out").
    /// </summary>
    void ReturnTimedOutSend(PendingCall call)
    {
        ForgetSender(call);
        if (!call.SendWaitsConnect) Ledger.Sent -= call.Requested - call.Done;
        _sim.CompleteCall(call, call.Done > 0 ? call.Done : -1, call.Done > 0 ? null : Errno.EAGAIN);
    }

    /// <summary>
    /// Models the entry of sk_stream_wait_memory() — net/core/stream.c — from tcp_sendmsg_locked()'s wait_for_space, after
    /// its tcp_push(): false when the timeo is 0 (the -EAGAIN path). When sk_stream_memory_free() holds at entry — the push
    /// freed truesize below sk_sndbuf (tcp_grow_skb() emptying unsent skbs it merged), or an skb or its memory was
    /// refused — the task sleeps <c>current_timeo = vm_wait = get_random_u32_below(HZ / 5) + 2</c> jiffies in place of
    /// its timeo, with a condition ("sk_stream_memory_free(sk) &amp;&amp; !vm_wait") no wakeup can meet; the sleep's end, by
    /// its timer or by any wakeup, takes what it lasted from the timeo and clears vm_wait, and the loop copies again if
    /// memory is still free (<see cref="RunWokenWriters"/>). No ACK is needed: observed on Linux 6.18.44
    /// (scenarios/observed-2host-blocked-send-memory-free-after-push-sleeps-vm-wait-then-copies.json). Otherwise it
    /// sleeps with its timeo as before.
    /// </summary>
    internal bool EnterMemoryWait(PendingCall call)
    {
        long timeo = SndTimeo(call);
        if (timeo == 0 || !StreamMemoryFree) return Sleep(call, timeo, TcpTimerKind.SendTimeout);
        long now = Jiffies.Absolute(_sim.Now);
        call.DisconnectsAtSleep = Disconnects;
        // The timeo's own expiry is kept (not armed) for the loop after the vm_wait sleep: *timeo_p less what it lasted.
        if (call.Sleep is { } asleep) asleep.Cancel();
        else if (timeo != MaxScheduleTimeout) call.Sleep = new CallSleep(this, call, TcpTimerKind.SendTimeout, now + timeo);
        call.VmWait = new CallSleep(this, call, TcpTimerKind.SendTimeout, now + Host.DrawVmWaitJiffies(), memoryWait: true);
        call.VmWait.Arm();
        return true;
    }

    /// <summary>A send's vm_wait sleep ends (its timer, or a wakeup): true if it was in one.</summary>
    bool EndVmWait(PendingCall call)
    {
        if (call.VmWait is not { } vm) return false;
        vm.Cancel();
        call.VmWait = null;
        return true;
    }

    /// <summary>
    /// The vm_wait sleep's timer ran (process_timeout() wakes that task alone): the call goes round its own
    /// sk_stream_wait_memory() loop, whether or not it is the head of the wait queue.
    /// </summary>
    internal void OnVmWaitTimeout(PendingCall call)
    {
        if (!Simulation.IsPending(call) || call.VmWait is null) return;
        _sim.TimerFired(Host, Id, TcpTimerKind.SendTimeout);
        RunWokenWriter(call, wokenTogether: false);
    }

    void RemovePendingAccept(PendingCall call)
    {
        if (_rare?.Listen is not { Waiters: var waiters }) return;
        for (int n = waiters.Count; n > 0; n--)
        {
            var c = waiters.Dequeue();
            if (c != call) waiters.Enqueue(c);
        }
    }

    /// <summary>Arms or stops a sleeping call's timer through the socket's timer choke points.</summary>
    internal void ArmSleep(SimTimer timer, TcpTimerKind kind, SimTime expires) => _sim.ArmTimer(timer, Host, Id, kind, expires);

    internal void CancelSleep(SimTimer timer) => CancelTimer(timer);
}

/// <summary>
/// The timer of a call asleep in schedule_timeout() — kernel/time/sleep_timeout.c: an on-stack timer_list
/// whose expiry wakes the task (process_timeout()). Its expiry is fixed when the call first sleeps
/// (jiffies + timeo); every new sleep of the same call arms a new timer for that jiffy.
/// </summary>
internal sealed class CallSleep : IEventTarget
{
    readonly TcpSocket _socket;
    readonly PendingCall _call;
    readonly SimTimer _timer;
    /// <summary>A send's vm_wait sleep (<see cref="TcpSocket.EnterMemoryWait"/>), not its timeo's.</summary>
    readonly bool _memoryWait;

    public CallSleep(TcpSocket socket, PendingCall call, TcpTimerKind kind, long expiresJiffies, bool memoryWait = false)
    {
        _memoryWait = memoryWait;
        _socket = socket;
        _call = call;
        _timer = new SimTimer(this, (int)kind);
        Kind = kind;
        ExpiresJiffies = expiresJiffies;
    }

    public TcpTimerKind Kind { get; }

    /// <summary>The sleeping call's socket.</summary>
    public TcpSocket Socket => _socket;

    /// <summary>expire = jiffies + timeo at the first sleep, absolute jiffies.</summary>
    public long ExpiresJiffies { get; }

    /// <summary>
    /// schedule_timeout(expire − jiffies): a fresh timer (never mod_timer()'s same-expiry shortcut), so the
    /// wheel places it from the current clock. An expiry beyond the wheel's reach is capped where
    /// calc_wheel_index() caps it (the task then wakes early and sleeps again).
    /// </summary>
    public void Arm()
    {
        _socket.CancelSleep(_timer);
        long now = Jiffies.Absolute(_socket.Host.Sim.Now);
        long expires = Math.Min(ExpiresJiffies, now + MaxWheelReach);
        _socket.ArmSleep(_timer, Kind, new SimTime((expires - Jiffies.Initial) * Jiffies.Tick.Ns));
    }

    /// <summary>More than WHEEL_TIMEOUT_MAX (≈ 2^30 jiffies): the wheel treats every longer timeout alike.</summary>
    const long MaxWheelReach = 1L << 31;

    /// <summary>The call returned by other means (woken, interrupted): del_timer_sync() of the on-stack timer.</summary>
    public void Cancel() => _socket.CancelSleep(_timer);

    void IEventTarget.OnDue(Simulation sim, object? payload)
    {
        if (_memoryWait) _socket.OnVmWaitTimeout(_call);
        else _socket.OnSleepTimeout(_call);
    }
}
