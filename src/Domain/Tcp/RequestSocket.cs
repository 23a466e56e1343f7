using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// A request socket (state NEW_SYN_RECV): a half-open passive connection owned by a listener,
/// living in the established hash. Not counted in "inuse"; shown by `ss` as SYN-RECV.
/// </summary>
public sealed class RequestSocket : IEventTarget
{
    readonly Simulation _sim;
    readonly SimTimer _timer;
    readonly SimTime _synAckSentFirst;
    int _retransmits;
    /// <summary>req->num_retrans: any SYN-ACK resent (timer or duplicate SYN) rules out a sequence-based RTT sample.</summary>
    bool _resent;
    SimDuration _timeout = TcpConstants.TimeoutInit;

    internal RequestSocket(TcpSocket listener, FourTuple tuple, Segment syn, uint iss)
    {
        Listener = listener;
        Host = listener.Host;
        _sim = Host.Sim;
        Tuple = tuple;
        Irs = syn.Seq;
        Iss = iss;
        PeerOptions = syn.Options;
        TsOffset = _sim.Profile == KernelProfile.Linux6
            ? unchecked((uint)KeyedHash.Of(_sim.TsSecret, tuple.Local.Address.Value, tuple.Remote.Address.Value))
            : Host.BootClockOffset;
        // tcp_openreq_init_rwin(): the listener's full space, the advertised MSS less the timestamp
        // option when the peer offered timestamps; scaling only when the peer offered it (wscale_ok).
        bool tstampOk = syn.Options.HasTimestamp && Host.Sysctls.TcpTimestamps;
        bool wscaleOk = syn.Options.WindowScale is not null && Host.Sysctls.Get("net.ipv4.tcp_window_scaling") != 0;
        var initial = TcpSocket.SelectInitialWindow(Host, listener.RcvSpace,
            TcpConstants.EthernetMss - (tstampOk ? TcpConstants.TimestampOptionBytes : 0), wscaleOk, listener.RcvBufLocked);
        RcvWscale = initial.RcvWscale;
        WscaleOk = wscaleOk;
        RcvWnd = initial.RcvWnd;
        WindowClamp = initial.WindowClamp;
        _timer = new SimTimer(this, 0);
        _synAckSentFirst = _sim.Now;
    }

    public TcpSocket Listener { get; }
    public Host Host { get; }
    public FourTuple Tuple { get; }
    public uint Irs { get; }
    public uint Iss { get; }
    public TcpOptions PeerOptions { get; }
    public uint TsOffset { get; }
    public int RcvWscale { get; }
    /// <summary>ireq->wscale_ok: the peer offered window scaling and tcp_window_scaling allows it.</summary>
    public bool WscaleOk { get; }
    /// <summary>req->rsk_rcv_wnd: the window chosen by tcp_openreq_init_rwin().</summary>
    public uint RcvWnd { get; }
    /// <summary>req->rsk_window_clamp: the clamp tcp_select_initial_window() left (65535 &lt;&lt; wscale, or the full space under SO_RCVBUF).</summary>
    public uint WindowClamp { get; }
    public int SynAckRetransmits => _retransmits;
    /// <summary>req->num_retrans: every SYN-ACK resent (inet_rtx_syn_ack(), by the timer or for a duplicate SYN).</summary>
    public int NumRetrans { get; private set; }
    public SimTime TimerExpires => _timer.Expires;
    /// <summary>An RTT sample from the SYN-ACK when it was not retransmitted (tcp_synack_rtt_meas).</summary>
    public long? RttSampleUs { get; private set; }

    /// <summary>The TSval this request would put on a segment now.</summary>
    uint TsValNow => TcpTimestamp.At(_sim.Profile, _sim.Now, TsOffset);

    /// <summary>Models tcp_v4_send_synack(): SYN-ACK with our ISN, MSS, SACK-permitted, timestamps and window scale.</summary>
    internal void SendSynAck(bool retransmission)
    {
        bool ts = PeerOptions.HasTimestamp && Host.Sysctls.TcpTimestamps;
        uint tsVal = TsValNow;
        var options = new TcpOptions(
            Mss: TcpConstants.EthernetMss,
            WindowScale: WscaleOk ? (byte)RcvWscale : null,
            SackPermitted: PeerOptions.SackPermitted && Host.Sysctls.TcpSack,
            HasTimestamp: ts, TsVal: ts ? tsVal : 0, TsEcr: ts ? PeerOptions.TsVal : 0);
        // tcp_make_synack(): the SYN-ACK's window field is min(rsk_rcv_wnd, 65535), never scaled.
        Host.Transmit(new Segment(Tuple, TcpFlags.Syn | TcpFlags.Ack, Iss, Irs + 1, (ushort)Math.Min(RcvWnd, TcpConstants.MaxTcpWindow), 0, options),
            retransmission ? "inet_rtx_syn_ack" : "tcp_conn_request");
        if (retransmission)
        {
            // tcp_rtx_synack()
            Host.Count(MibCounter.TcpRetransSegs);
            Host.Count(MibCounter.TcpExtTCPSynRetrans);
            _resent = true;
            NumRetrans++;
        }
        _sim.ArmTimer(_timer, Host, 0, TcpTimerKind.SynAckRetransmit, Jiffies.Expiry(_sim.Now, _timeout));
    }

    /// <summary>
    /// Models reqsk_timer_handler(): retransmits the SYN-ACK with backoff; drops the request after
    /// tcp_synack_retries, or at once if the listener is gone.
    /// </summary>
    void IEventTarget.OnDue(Simulation sim, object? payload)
    {
        sim.TimerFired(Host, 0, TcpTimerKind.SynAckRetransmit);
        Host.Count(MibCounter.TcpExtTCPTimeouts); // tcp_syn_ack_timeout()
        if (Listener.State != TcpState.Listen || _retransmits >= Host.Sysctls.TcpSynackRetries)
        {
            Drop();
            return;
        }
        _retransmits++;
        _timeout = SimDuration.Min(_timeout * 2, TcpConstants.TimeWaitLen * 2);
        SendSynAck(retransmission: true);
    }

    void Drop()
    {
        _sim.CancelTimer(_timer, Host, 0, TcpTimerKind.SynAckRetransmit);
        _timer.Detach(); // its stale queue item then pins the small timer, not the request (reqsk_free())
        Host.Requests.Remove(Tuple);
    }

    /// <summary>
    /// Models tcp_check_req() — net/ipv4/tcp_minisocks.c: a retransmitted SYN gets the SYN-ACK
    /// again; an RST drops the request (EmbryonicRsts); an ACK of our ISN creates the child
    /// (or, with the listener gone, drops the request and the segment meets a host RST);
    /// any other ACK gets a reply RST.
    /// </summary>
    internal void OnSegment(Segment seg)
    {
        if (Listener.State != TcpState.Listen)
        {
            // tcp_v4_rcv(): a request whose listener is gone is dropped and the segment looked up again —
            // it finds no socket, so the host answers it as any stray segment.
            Drop();
            Host.SendResetReply(seg, "tcp_v4_rcv (listener gone)");
            return;
        }
        if (seg.Has(TcpFlags.Rst))
        {
            // tcp_check_req(): an RST anywhere in the window kills the request (embryonic reset).
            if (!SeqMath.Before(seg.Seq, Irs + 1) && SeqMath.Before(seg.Seq, Irs + 1 + Math.Max(1u, RcvWnd)))
            {
                Host.Count(MibCounter.TcpExtEmbryonicRsts);
                Host.Count(MibCounter.TcpAttemptFails);
                Drop();
            }
            return;
        }
        if (seg.Has(TcpFlags.Syn) && seg.Seq == Irs)
        {
            SendSynAck(retransmission: true);
            return;
        }
        if (!seg.Has(TcpFlags.Ack)) return;
        if (seg.Ack != Iss + 1)
        {
            Host.SendResetReply(seg, "tcp_check_req (bad ACK)");
            return;
        }
        if (Listener.AcceptQueue.Count > Listener.SendQueue)
        {
            Host.Count(MibCounter.TcpExtListenOverflows);
            Host.Count(MibCounter.TcpExtListenDrops);
            if (Host.Sysctls.TcpAbortOnOverflow)
            {
                Drop();
                Host.SendResetReply(seg, "tcp_check_req (tcp_abort_on_overflow)");
            }
            return;
        }
        // tcp_synack_rtt_meas(): from the SYN-ACK's send time unless it was resent; then from the timestamp echo.
        if (!_resent) RttSampleUs = (_sim.Now - _synAckSentFirst).Ns / 1000;
        else if (seg.Options.HasTimestamp && seg.Options.TsEcr != 0 && PeerOptions.HasTimestamp && Host.Sysctls.TcpTimestamps)
            RttSampleUs = Math.Max(0, (int)(TsValNow - seg.Options.TsEcr)) * 1000L;
        Drop();
        TcpSocket.CreateChild(Listener, this, seg);
    }
}
