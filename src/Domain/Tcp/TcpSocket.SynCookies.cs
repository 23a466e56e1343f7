using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// A listener's SYN queue under pressure: tcp_conn_request()'s SYN-queue test and tcp_syn_flood_action()
/// (net/ipv4/tcp_input.c), the cookie SYN-ACK that keeps no request socket, and cookie_v4_check()
/// (net/ipv4/syncookies.c) for the ACK that returns a cookie.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// Models inet_csk_reqsk_queue_is_full(): more requests than sk_max_ack_backlog on 6.18 (since 6.13,
    /// commit 3479c7549fb1 "tcp/dccp: allow a connection when sk_max_ack_backlog is zero"), at least as many on 4.4.
    /// </summary>
    bool ReqskQueueIsFull => _sim.Profile == KernelProfile.Linux6 ? ReqskQueueLen > Backlog : ReqskQueueLen >= Backlog;

    /// <summary>
    /// Models tcp_syn_flood_action(): TCPReqQFullDoCookies (cookies on) or TCPReqQFullDrop, and once per
    /// listener (queue->synflood_warned), unless tcp_syncookies is 2, the "Possible SYN flooding" line —
    /// 6.18 prints the listener's bound address and port (%pI4:%u), 4.4 the port and "Check SNMP counters".
    /// </summary>
    bool SynFloodAction()
    {
        int syncookies = Host.Sysctls.TcpSyncookies;
        bool wantCookie = syncookies != 0;
        Host.Count(wantCookie ? MibCounter.TcpExtTCPReqQFullDoCookies : MibCounter.TcpExtTCPReqQFullDrop);
        if (!ListenState.SynfloodWarned && syncookies != 2)
        {
            ListenState.SynfloodWarned = true;
            string msg = wantCookie ? "Sending cookies" : "Dropping request";
            Host.LogRateLimited(_sim.Profile == KernelProfile.Linux6
                ? $"TCP: request_sock_TCP: Possible SYN flooding on port {Local.Address}:{Local.Port}. {msg}."
                : $"TCP: request_sock_TCP: Possible SYN flooding on port {Local.Port}. {msg}.  Check SNMP counters.");
        }
        return wantCookie;
    }

    /// <summary>
    /// The stamp tcp_synq_overflow() writes and tcp_synq_no_recent_overflow() reads (include/net/tcp.h): with SO_REUSEPORT,
    /// the group's reuse->synq_overflow_ts (sk_reuseport_cb; since Linux 4.19, so not on linux-4.4), else the listener's
    /// own rx_opt.ts_recent_stamp.
    /// </summary>
    ref uint SynqOverflowStamp => ref (Reuseport is { } group && _sim.Profile == KernelProfile.Linux6
        ? ref group.SynqOverflowStamp
        : ref ListenState.SynqOverflowStamp);

    /// <summary>
    /// tcp_conn_request() with want_cookie: the options are parsed without Fast Open and, when the SYN has no
    /// (accepted) timestamp, cleared (tcp_clear_options(): no window scaling, no SACK); cookie_init_sequence()
    /// stamps the overflow (tcp_synq_overflow()), counts SyncookiesSent and makes the ISN from the peer's MSS
    /// (msstab); the SYN-ACK goes out as TCP_SYNACK_COOKIE and the request is freed — no SYN-RECV row, no timer,
    /// no retransmission.
    /// </summary>
    void SendCookieSynAck(FourTuple tuple, Segment syn)
    {
        if (!(syn.Options.HasTimestamp && Host.Sysctls.TcpTimestamps))
            syn = syn with { Options = syn.Options with { WindowScale = null, SackPermitted = false, HasTimestamp = false, TsVal = 0, TsEcr = 0 } };
        // tcp_parse_options(): mss_clamp = the SYN's MSS option, else TCP_MSS_DEFAULT (af_ops->mss_clamp).
        int mss = syn.Options.Mss > 0 ? syn.Options.Mss : TcpConstants.MssDefault;
        int mssIndex = SynCookies.MssIndex(mss);
        SynCookies.SynqOverflow(ref SynqOverflowStamp, _sim.Now);
        Host.Count(MibCounter.TcpExtSyncookiesSent);
        long count = SynCookies.CookieTime(_sim.Now);
        uint isn = SynCookies.Isn(_sim, tuple, syn.Seq, count, mssIndex);
        Host.IssuedCookies.Remember(tuple, isn, syn.Seq, mssIndex, count);
        new RequestSocket(this, tuple, syn, isn, cookie: true).SendSynAck(retransmission: false);
    }

    /// <summary>
    /// Models cookie_v4_check() → cookie_tcp_check() for an ACK (no SYN, no RST) that found only this listener:
    /// nothing unless tcp_syncookies is set and the listener overflowed recently (tcp_synq_no_recent_overflow());
    /// an ACK that does not return a valid cookie counts SyncookiesFailed; a valid one SyncookiesRecv, then the
    /// options come back from the echoed TSval less ts_off (cookie_timestamp_decode()) and the child is made by
    /// tcp_get_cookie_sock() → syn_recv_sock, which fails on a full accept queue (ListenOverflows, ListenDrops:
    /// the ACK is dropped, never reset, whatever tcp_abort_on_overflow says). Returns false when the listener
    /// should answer as to any ACK (a RST).
    /// </summary>
    bool CookieCheck(Segment ack)
    {
        if (Host.Sysctls.TcpSyncookies == 0) return false;
        if (SynCookies.NoRecentOverflow(SynqOverflowStamp, _sim.Now)) return false;
        var tuple = new FourTuple(ack.Destination, ack.Source);
        int mss = Host.IssuedCookies.Check(tuple, ack.Ack - 1, ack.Seq - 1, SynCookies.CookieTime(_sim.Now));
        if (mss == 0)
        {
            Host.Count(MibCounter.TcpExtSyncookiesFailed);
            return false;
        }
        Host.Count(MibCounter.TcpExtSyncookiesRecv);
        // tcp_parse_options(estab = 0): a timestamp is seen only under tcp_timestamps.
        bool sawTs = ack.Options.HasTimestamp && Host.Sysctls.TcpTimestamps;
        uint tsecr = ack.Options.TsEcr;
        // linux-6: tcp_opt.rcv_tsecr -= secure_tcp_ts_off() when there is an echo; 4.4 encoded on the host's own clock.
        if (sawTs && tsecr != 0 && _sim.Profile == KernelProfile.Linux6) tsecr -= TimestampOffset(tuple.Local.Address, tuple.Remote.Address);
        if (!SynCookies.TimestampDecode(Host.Sysctls, sawTs, tsecr, out var options)) return false;
        var req = RequestSocket.FromCookie(this, tuple, ack, mss, options, sawTs);
        if (AcceptQueueCount > Backlog)
        {
            // tcp_v4_syn_recv_sock(): sk_acceptq_is_full() → ListenOverflows, tcp_listendrop(); cookie_v4_check() drops.
            Host.Count(MibCounter.TcpExtListenOverflows);
            ListenDrop();
            Ignore(ack, "SYN cookie valid but the accept queue is full"); // tcp_v4_do_rcv(): discard, no sk_drops
            return true;
        }
        CreateChild(this, req, ack);
        return true;
    }
}
