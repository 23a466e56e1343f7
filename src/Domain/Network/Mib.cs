using SimService.Domain.Engine;

namespace SimService.Domain.Network;

/// <summary>
/// The SNMP/MIB counters the simulator keeps (include/uapi/linux/snmp.h). Names are the kernel's,
/// as /proc/net/snmp ("Ip:", "Tcp:") and /proc/net/netstat ("TcpExt:") print them.
/// </summary>
public enum MibCounter
{
    // Ip: (IPSTATS_MIB_*) — every TCP segment is one IPv4 datagram (no fragments, no other protocols).
    IpInReceives,
    IpInDelivers,
    IpOutRequests,
    IpOutTransmits,
    // Tcp: (TCP_MIB_*)
    TcpActiveOpens,
    TcpPassiveOpens,
    TcpAttemptFails,
    TcpEstabResets,
    TcpInSegs,
    TcpOutSegs,
    TcpRetransSegs,
    TcpInErrs,
    TcpOutRsts,
    // TcpExt: (LINUX_MIB_*)
    TcpExtEmbryonicRsts,
    TcpExtTW,
    TcpExtTWRecycled,
    TcpExtTWKilled,
    TcpExtPAWSActive,
    TcpExtPAWSEstab,
    TcpExtPAWSTimewait,
    TcpExtPAWSPassive,
    TcpExtDelayedACKs,
    TcpExtDelayedACKLost,
    TcpExtListenOverflows,
    TcpExtListenDrops,
    TcpExtTCPTimeouts,
    TcpExtTCPLossProbes,
    TcpExtTCPFastRetrans,
    TcpExtTCPAbortOnData,
    TcpExtTCPAbortOnClose,
    TcpExtTCPAbortOnMemory,
    TcpExtTCPAbortOnTimeout,
    TcpExtTCPAbortOnLinger,
    TcpExtTCPAbortFailed,
    TcpExtTCPMemoryPressures,
    TcpExtTCPMemoryPressuresChrono,
    TcpExtTCPChallengeACK,
    TcpExtTCPTimeWaitOverflow,
    TcpExtTCPACKSkippedTimeWait,
    TcpExtTCPACKSkippedFinWait2,
    TcpExtTCPACKSkippedSeq,
    TcpExtTCPACKSkippedPAWS,
    TcpExtTCPACKSkippedChallenge,
    TcpExtTCPSYNChallenge,
    TcpExtTCPWinProbe,
    TcpExtTCPKeepAlive,
    // tcp_mtup_probe_success() and tcp_mtup_probe_failed(): an MTU probe acknowledged, or lost.
    TcpExtTCPMTUPFail,
    TcpExtTCPMTUPSuccess,
    TcpExtTCPSynRetrans,
    // cubic's hystart_update(): slow start ended by an ACK train or a delay increase, and the cwnds it ended at.
    TcpExtTCPHystartTrainDetect,
    TcpExtTCPHystartTrainCwnd,
    TcpExtTCPHystartDelayDetect,
    TcpExtTCPHystartDelayCwnd,
    TcpExtTCPOrigDataSent,
    TcpExtTCPDelivered,
    TcpExtTcpTimeoutRehash,
    TcpExtTCPWantZeroWindowAdv,
    TcpExtTCPToZeroWindowAdv,
    TcpExtTCPFromZeroWindowAdv,
    TcpExtTCPSackRecovery,
    TcpExtTCPSlowStartRetrans,
    TcpExtTCPSackRecoveryFail,
    TcpExtTCPSackFailures,
    TcpExtTCPLossFailures,
    TcpExtTCPLostRetransmit,
    TcpExtTCPDSACKOldSent,
    TcpExtTCPDSACKOfoSent,
    TcpExtTCPDSACKRecv,
    TcpExtTCPDSACKOfoRecv,
    TcpExtTCPDSACKRecvSegs,
    TcpExtTCPDSACKIgnoredDubious,
    TcpExtTCPDSACKIgnoredOld,
    TcpExtTCPDSACKIgnoredNoUndo,
    TcpExtTCPSACKDiscard,
    TcpExtTCPDSACKUndo,
    TcpExtTCPFullUndo,
    TcpExtTCPOFOQueue,
    // tcp_try_coalesce(): an in-order skb merged into the receive queue's tail.
    TcpExtTCPRcvCoalesce,
    TcpExtTCPOFOMerge,
    TcpExtTCPACKSkippedSynRecv,
    TcpExtTCPDeferAcceptDrop,
    TcpExtTSEcrRejected,
    TcpExtTCPRenoRecovery,
    TcpExtTCPRenoRecoveryFail,
    TcpExtTCPRenoFailures,
    TcpExtTCPRenoReorder,
    TcpExtTCPSACKReorder,
    TcpExtTCPTSReorder,
    TcpExtTCPLossUndo,
    TcpExtTCPPartialUndo,
    TcpExtTCPSpuriousRTOs,
    TcpExtTCPLossProbeRecovery,
    TcpExtSyncookiesSent,
    TcpExtSyncookiesRecv,
    TcpExtSyncookiesFailed,
    TcpExtTCPReqQFullDoCookies,
    TcpExtTCPReqQFullDrop,
    TcpExtPAWSOldAck,
    TcpExtBeyondWindow,
    // __tcp_ack_snd_check() / tcp_event_ack_sent(): ACKs the SACK compression saved (compressed_ack − 1 per ACK sent).
    TcpExtTCPAckCompressed,
    // tcp_data_queue(): text at rcv_nxt (or reaching past it) dropped because the receive window is zero.
    TcpExtTCPZeroWindowDrop,
    // tcp_rcv_established()'s header prediction and tcp_ack(): fast-path data, pure ACKs (slow path), fast-path ACKs.
    TcpExtTCPHPHits,
    TcpExtTCPPureAcks,
    TcpExtTCPHPAcks,
    // tcp_timeout_mark_lost(): an RTO found the retransmission queue's head SACKed (the receiver reneged).
    TcpExtTCPSACKReneging,
    // tcp_shifted_skb() / tcp_shift_skb_data(): SACKed data shifted onto the previous skb (part of an skb, a whole skb
    // eaten), and a SACKed skb that could not be shifted.
    TcpExtTCPSackShifted,
    TcpExtTCPSackMerged,
    TcpExtTCPSackShiftFallback,
    // tcp_add_backlog(): a segment merged into the tail of the socket backlog it came to wait in.
    TcpExtTCPBacklogCoalesce,
    // tcp_add_backlog() / sk_add_backlog(): a segment dropped at the limit of the socket backlog it came to wait in.
    TcpExtTCPBacklogDrop,
    // reuseport_migrate_sock() and the three callers that move a closed listener's child or request to another listener
    // of its SO_REUSEPORT group under net.ipv4.tcp_migrate_req (5.14+).
    TcpExtTCPMigrateReqSuccess,
    TcpExtTCPMigrateReqFailure,
    // tcp_prune_queue() (PruneCalled; RcvPruned when it could not make room), tcp_prune_ofo_queue() (OfoPruned), and the
    // segments tcp_data_queue_ofo() and tcp_data_queue() refused for want of receive memory (TCPOFODrop, TCPRcvQDrop).
    TcpExtPruneCalled,
    TcpExtRcvPruned,
    TcpExtOfoPruned,
    TcpExtTCPOFODrop,
    TcpExtTCPRcvQDrop,
    // tcp_fragment(): a cut of a retransmission-queue skb (not its head or tail) refused while half of sk_wmem_queued is
    // above sk_sndbuf + 2 · SKB_TRUESIZE(GSO_LEGACY_MAX_SIZE) (5.2+, "tcp: tcp_fragment() should apply sane memory limits").
    TcpExtTCPWqueueTooBig,
    // IpExt: (IPSTATS_MIB_* printed by netstat_seq_show()'s snmp4_ipextstats_list)
    IpExtInOctets,
    IpExtOutOctets,
    IpExtInNoECTPkts,
}

/// <summary>A host's counters (per network namespace in Linux).</summary>
public sealed class Mib
{
    public static readonly int Count = Enum.GetValues<MibCounter>().Length;
    readonly long[] _values = new long[Count];

    public long this[MibCounter c] => _values[(int)c];

    public void Increment(MibCounter c, long by = 1) => _values[(int)c] += by;

    /// <summary>A copy of every counter, or null while all are 0 (a new host's: nothing to copy).</summary>
    public long[]? SnapshotUnlessZero() => Array.FindIndex(_values, v => v != 0) < 0 ? null : (long[])_values.Clone();

    /// <summary>"Ip", "Tcp", "TcpExt" or "IpExt".</summary>
    public static string Group(MibCounter c) =>
        c < MibCounter.TcpActiveOpens ? "Ip" : c < MibCounter.TcpExtEmbryonicRsts ? "Tcp" : c < MibCounter.IpExtInOctets ? "TcpExt" : "IpExt";

    /// <summary>The kernel's field name without the group, e.g. "TCPAbortOnData", "OutRsts".</summary>
    public static string Name(MibCounter c)
    {
        var s = c.ToString();
        return s[Group(c).Length..];
    }

    static readonly Dictionary<(string, string), MibCounter> ByName =
        Enum.GetValues<MibCounter>().ToDictionary(c => (Group(c), Name(c)));

    public static bool TryFind(string group, string name, out MibCounter counter) =>
        ByName.TryGetValue((group, name), out counter);

    /// <summary>
    /// Counters that linux-4.4's include/uapi/linux/snmp.h (and /proc/net/snmp) did not have yet: its TcpExt list
    /// ends at TCPACKSkippedChallenge; TCPWinProbe, TCPKeepAlive, TCPMTUPFail and TCPMTUPSuccess came in 4.6, TCPMemoryPressuresChrono later in 4.x,
    /// TCPDelivered in 4.10, TCPAckCompressed and TCPBacklogCoalesce in 4.20, TCPZeroWindowDrop in 5.1, TCPRcvQDrop in 5.1, TCPWqueueTooBig in 5.2 (and 4.4.182's backport, past v4.4), TcpTimeoutRehash in 5.9, TCPDSACKRecvSegs
    /// and TCPDSACKIgnoredDubious in 5.10, TSEcrRejected,
    /// TCPMigrateReqSuccess and TCPMigrateReqFailure in 5.14, PAWSOldAck, PAWSTimewait and BeyondWindow in 6.x, Ip OutTransmits (IPSTATS_MIB_OUTPKTS) in 6.3.
    /// </summary>
    static readonly HashSet<MibCounter> AddedAfter44 =
    [
        MibCounter.IpOutTransmits, MibCounter.TcpExtTCPWinProbe, MibCounter.TcpExtTCPKeepAlive, MibCounter.TcpExtTCPDelivered,
        MibCounter.TcpExtTCPMTUPFail, MibCounter.TcpExtTCPMTUPSuccess,
        MibCounter.TcpExtTCPAckCompressed, MibCounter.TcpExtTCPBacklogCoalesce, MibCounter.TcpExtTCPZeroWindowDrop, MibCounter.TcpExtTCPRcvQDrop, MibCounter.TcpExtTcpTimeoutRehash, MibCounter.TcpExtTCPDSACKRecvSegs,
        MibCounter.TcpExtTCPDSACKIgnoredDubious, MibCounter.TcpExtTSEcrRejected, MibCounter.TcpExtPAWSOldAck,
        MibCounter.TcpExtPAWSTimewait, MibCounter.TcpExtBeyondWindow, MibCounter.TcpExtTCPMemoryPressuresChrono,
        MibCounter.TcpExtTCPMigrateReqSuccess, MibCounter.TcpExtTCPMigrateReqFailure, MibCounter.TcpExtTCPWqueueTooBig,
    ];

    /// <summary>
    /// Whether the profile's kernel has the counter: linux-4.4 lacks those added since (<see cref="AddedAfter44"/>);
    /// 6.18 lacks PAWSPassive (LINUX_MIB_PAWSPASSIVEREJECTED went with tcp_tw_recycle in 4.12).
    /// </summary>
    public static bool ExistsIn(MibCounter c, KernelProfile profile) =>
        profile == KernelProfile.Linux44 ? !AddedAfter44.Contains(c) : c != MibCounter.TcpExtPAWSPassive;

    /// <summary>The counters the profile's kernel has, in enum order.</summary>
    public static IEnumerable<MibCounter> In(KernelProfile profile) =>
        Enum.GetValues<MibCounter>().Where(c => ExistsIn(c, profile));
}
