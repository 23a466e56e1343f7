using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>What tcp_timewait_state_process() tells tcp_v4_rcv() to do with a segment.</summary>
public enum TimeWaitVerdict
{
    Success,
    Ack,
    Rst,
    Syn,
}

/// <summary>
/// The light inet_timewait_sock + tcp_timewait_sock that replaces a full socket in TIME_WAIT, or
/// parks an orphaned FIN_WAIT2 cheaply (substate FIN_WAIT2). It keeps the local port (bind hash)
/// and the 4-tuple (established hash), a few sequence and timestamp fields, and one timer. It is
/// not an orphan and not counted in sockstat "inuse"; it is counted in "tw".
/// </summary>
/// <remarks>
/// The entry is its own timer (the kernel's tw_timer is a field of inet_timewait_sock, not a separate
/// allocation): one object per entry, and once it is killed its queue slot is vacated, so nothing is kept.
/// </remarks>
public sealed class TimeWaitSocket : SimTimer, IBindOwner
{
    Simulation Sim => Host.Sim;
    OowRateLimit _oowAck;

    internal TimeWaitSocket(TcpSocket sk, TcpState substate, bool tsOk, uint tsRecent, long tsRecentStampSec, uint tsOffset, uint rcvWnd, int rcvWscale,
        SimDuration recycleTimeout)
    {
        Host = sk.Host;
        SocketId = sk.Id;
        Local = sk.Local;
        Remote = sk.Remote;
        Substate = substate;
        RcvNxt = sk.RcvNxt;
        SndNxt = sk.SndNxt;
        RcvWnd = rcvWnd;
        _recycleTimeout = recycleTimeout;
        Window = (ushort)Math.Min(rcvWnd >> rcvWscale, TcpConstants.MaxTcpWindow);
        UsedTimestamps = tsOk;
        TsRecent = tsRecent;
        TsRecentStampSec = tsOk ? tsRecentStampSec : 0;
        TsOffset = tsOffset;
        EntryStampMs = Sim.Now.Ms;
        ReuseAddr = sk.ReuseAddr;
        ReusePort = sk.ReusePort;
        ConnectBind = sk.ConnectBind;
        _fromState = (byte)sk.State;
    }

    // The states as bytes (they fit one; the entry is kept small, as inet_timewait_sock keeps tw_substate in a u8).
    readonly byte _fromState;
    byte _substate;
    /// <summary>tw_timeout: 3.5 × RTO, the TIME-WAIT length under linux-4.4 tcp_tw_recycle.</summary>
    readonly SimDuration _recycleTimeout;

    public Host Host { get; }
    /// <summary>The id of the full socket this one replaced: the connection's identity.</summary>
    public int SocketId { get; }
    public Endpoint Local { get; }
    public Endpoint Remote { get; }
    public FourTuple Tuple => new(Local, Remote);
    /// <summary>tw_substate: TIME_WAIT, or FIN_WAIT2 for a parked orphan.</summary>
    public TcpState Substate
    {
        get => (TcpState)_substate;
        private set => _substate = (byte)value;
    }
    public uint RcvNxt { get; private set; }
    public uint SndNxt { get; }

    /// <summary>
    /// The initial sequence of a connection that takes this 4-tuple over (a SYN accepted through TIME-WAIT,
    /// tcp_timewait_state_process(); a connect() reusing it, tcp_twsk_unique()): tw_snd_nxt + 65535 + 2, never 0.
    /// </summary>
    public uint SuccessorIsn => unchecked(SndNxt + 65535 + 2) is var isn && isn != 0 ? isn : 1;
    /// <summary>tw_rcv_wnd: the receive window in bytes (tcp_receive_window at entry).</summary>
    public uint RcvWnd { get; }
    /// <summary>The window field of its ACKs: tw_rcv_wnd >> rcv_wscale.</summary>
    public ushort Window { get; }
    public bool UsedTimestamps { get; }
    public uint TsRecent { get; private set; }
    public long TsRecentStampSec { get; private set; }
    public uint TsOffset { get; }
    /// <summary>tw_entry_stamp (ms): when the connection entered TIME_WAIT (tcp_tw_reuse_delay).</summary>
    public long EntryStampMs { get; private set; }
    public bool ReuseAddr { get; }
    public bool ReusePort { get; }
    /// <summary>tw_connect_bind: the closed socket got its port from connect().</summary>
    public bool ConnectBind { get; }
    bool IBindOwner.IsListener => false;
    /// <summary>tw_rcv_saddr: the connection's local address.</summary>
    IPv4 IBindOwner.RcvSaddr => Local.Address;
    int IBindOwner.BindHash => SocketId;
    public bool Alive { get; private set; }

    /// <summary>
    /// Models inet_twsk_hashdance_schedule() + inet_twsk_schedule(): hashed in place of the full
    /// socket, owner of its port, the timer armed; TW++ or, for at most 4 s, TWKilled++.
    /// </summary>
    internal void Schedule(SimDuration timeout, string cause)
    {
        Alive = true;
        Host.TimeWaits[Tuple] = this;
        if (Substate == TcpState.FinWait2) Host.TimeWaitFinWait2Count++;
        Host.AddBindOwner(Local.Port, this);
        Host.Count(timeout <= TcpConstants.TwKillThreshold ? MibCounter.TcpExtTWKilled : MibCounter.TcpExtTW);
        if (Sim.Journals(JournalLevel.States)) Sim.Record(JournalLevel.States, new StateChanged(Sim.Now, Sim.JournalSeq, Host.Name, SocketId,
            (TcpState)_fromState, Substate, cause + " → timewait socket"));
        Arm(timeout);
    }

    void Arm(SimDuration timeout)
    {
        Sim.ArmTimer(this, Host, SocketId, TcpTimerKind.TimeWait, Jiffies.Expiry(Sim.Now, timeout));
    }

    /// <summary>inet_twsk_kill() on expiry: unhashed and freed; the port becomes free; no packet.</summary>
    protected override void Expired(Simulation sim)
    {
        sim.TimerFired(Host, SocketId, TcpTimerKind.TimeWait);
        Kill("tw_timer_handler");
    }

    /// <summary>inet_twsk_deschedule_put(): removes the timewait socket now (expiry, RST, reuse, SYN).</summary>
    internal void Kill(string cause)
    {
        if (!Alive) return;
        Alive = false;
        Sim.CancelTimer(this, Host, SocketId, TcpTimerKind.TimeWait); // its queue slot is vacated: the entry is freed now (inet_twsk_put())
        Host.TimeWaits.Remove(Tuple);
        if (Substate == TcpState.FinWait2) Host.TimeWaitFinWait2Count--;
        Host.RemoveBindOwner(Local.Port, this);
        if (Sim.Journals(JournalLevel.States)) Sim.Record(JournalLevel.States, new StateChanged(Sim.Now, Sim.JournalSeq, Host.Name, SocketId, Substate, TcpState.Close, cause));
    }

    /// <summary>
    /// Models tcp_timewait_state_process() — net/ipv4/tcp_minisocks.c (the reference's §6.4
    /// tables): PAWS first; in substate FIN_WAIT2 the FIN exactly at rcv_nxt moves to TIME_WAIT
    /// (timer restarted at 60 s, ACK), new data or a SYN gets a reply RST and kills the socket;
    /// in TIME_WAIT a bare in-window ACK restarts the timer, an exact RST kills it unless
    /// tcp_rfc1337, a newer SYN may start a new connection, anything else is re-ACKed
    /// (pure ACKs and SYNs rate-limited).
    /// </summary>
    internal TimeWaitVerdict OnSegment(Segment seg)
    {
        var verdict = Process(seg);
        switch (verdict)
        {
            case TimeWaitVerdict.Ack:
                SendAck("tcp_timewait_state_process");
                break;
            case TimeWaitVerdict.Rst:
                Host.SendResetReply(seg, "tcp_timewait_state_process");
                Kill("tcp_timewait_state_process (TCP_TW_RST)");
                break;
        }
        return verdict;
    }

    TimeWaitVerdict Process(Segment seg)
    {
        var o = seg.Options;
        bool rst = seg.Has(TcpFlags.Rst), syn = seg.Has(TcpFlags.Syn), ack = seg.Has(TcpFlags.Ack), fin = seg.Has(TcpFlags.Fin);
        long nowSec = KernelSeconds.At(Sim.Now);
        // Options are parsed only when the connection used timestamps (tw_ts_recent_stamp != 0).
        if (TsRecentStampSec != 0) TcpSocket.ParseSynWindowScale(Host, seg);
        bool sawTs = o.HasTimestamp && TsRecentStampSec != 0;
        bool pawsReject = false;
        if (sawTs)
        {
            // tcp_paws_reject(): tcp_paws_check(rx_opt, 0) fails, and for a RST ts_recent is younger than TCP_PAWS_MSL.
            bool ok = TcpTimestamp.PawsCheck(Sim.Profile, TsRecent, TsRecentStampSec, o.TsVal, nowSec, pawsWin: 0);
            if (!ok && rst && nowSec >= TsRecentStampSec + TcpConstants.PawsMslSec) ok = true;
            pawsReject = !ok;
        }
        if (Substate == TcpState.FinWait2)
        {
            if (pawsReject || !SeqMath.InWindow(seg.Seq, seg.EndSeq, RcvNxt, RcvNxt + RcvWnd))
                return OowRateLimit(seg, MibCounter.TcpExtTCPACKSkippedFinWait2);
            if (rst)
            {
                Kill("tcp_timewait_state_process (RST in FIN_WAIT2)");
                return TimeWaitVerdict.Success;
            }
            if (syn && !SeqMath.Before(seg.Seq, RcvNxt)) return TimeWaitVerdict.Rst;
            if (!ack || !SeqMath.After(seg.EndSeq, RcvNxt) || seg.EndSeq == seg.Seq) return TimeWaitVerdict.Success;
            if (!fin || seg.EndSeq != RcvNxt + 1) return TimeWaitVerdict.Rst;
            // FIN arrived: enter true TIME-WAIT.
            var old = Substate;
            Substate = TcpState.TimeWait;
            Host.TimeWaitFinWait2Count--;
            RcvNxt = seg.EndSeq;
            if (sawTs)
            {
                TsRecentStampSec = nowSec;
                TsRecent = o.TsVal;
                // 6.14+: the TIME-WAIT age that tcp_tw_reuse_delay measures starts now.
                if (Sim.Profile == KernelProfile.Linux6) EntryStampMs = Sim.Now.Ms;
            }
            if (Sim.Journals(JournalLevel.States)) Sim.Record(JournalLevel.States, new StateChanged(Sim.Now, Sim.JournalSeq, Host.Name, SocketId, old, Substate,
                "tcp_timewait_state_process (FIN)"));
            // linux-4.4: with tcp_tw_recycle and a timestamp to remember (tcp_tw_remember_stamp), tw_timeout.
            if (Host.Sysctls.TcpTwRecycle && TsRecentStampSec != 0)
            {
                Host.RememberPeerTimestamp(Remote.Address, TsRecent, TsRecentStampSec);
                Arm(_recycleTimeout);
            }
            else
            {
                Arm(TcpConstants.TimeWaitLen);
            }
            return TimeWaitVerdict.Ack;
        }
        if (!pawsReject && seg.Seq == RcvNxt && (seg.Seq == seg.EndSeq || rst))
        {
            if (rst)
            {
                if (!Host.Sysctls.TcpRfc1337)
                {
                    Kill("tcp_timewait_state_process (RST: TIME-WAIT assassination)");
                    return TimeWaitVerdict.Success;
                }
            }
            else
            {
                Arm(TcpConstants.TimeWaitLen);
            }
            if (sawTs)
            {
                TsRecent = o.TsVal;
                TsRecentStampSec = nowSec;
            }
            return TimeWaitVerdict.Success;
        }
        if (syn && !rst && !ack && !pawsReject
            && (SeqMath.After(seg.Seq, RcvNxt) || (sawTs && (int)(TsRecent - o.TsVal) < 0)))
            return TimeWaitVerdict.Syn;
        if (pawsReject)
            Host.Count(Sim.Profile == KernelProfile.Linux6 ? MibCounter.TcpExtPAWSTimewait : MibCounter.TcpExtPAWSEstab);
        if (!rst)
        {
            if (pawsReject || ack) Arm(TcpConstants.TimeWaitLen);
            return OowRateLimit(seg, MibCounter.TcpExtTCPACKSkippedTimeWait);
        }
        return TimeWaitVerdict.Success;
    }

    /// <summary>tcp_timewait_check_oow_rate_limit(): at most one dup-ACK per tcp_invalid_ratelimit for pure ACKs and SYNs.</summary>
    TimeWaitVerdict OowRateLimit(Segment seg, MibCounter skipped)
    {
        return _oowAck.Limited(Host, Sim.Now, seg, skipped) ? TimeWaitVerdict.Success : TimeWaitVerdict.Ack;
    }

    /// <summary>
    /// Models tcp_v4_timewait_ack(): seq = tw_snd_nxt, ack = tw_rcv_nxt, the stored window, and the timestamp option
    /// only when tw_ts_recent is not 0 (tcp_v4_send_ack(): "if (tsecr)").
    /// </summary>
    internal void SendAck(string reason)
    {
        var options = UsedTimestamps && TsRecent != 0
            ? new TcpOptions(HasTimestamp: true, TsVal: TcpTimestamp.At(Sim.Profile, Sim.Now, TsOffset), TsEcr: TsRecent)
            : TcpOptions.None;
        Host.Transmit(Sim.NewSegment(Tuple, TcpFlags.Ack, SndNxt, RcvNxt, Window, 0, options), reason);
    }
}
