using System.Text;
using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Observability;

/// <summary>
/// /proc/net/netstat of Linux 6.18 (netstat_seq_show() — net/ipv4/proc.c, then mptcp_seq_show() —
/// net/mptcp/mib.c): every field of the kernel's lists in its order, checked against the file on
/// the 6.18.44 reference machine. TcpExt fields the simulator counts come from the host's
/// <see cref="Mib"/>, as do IpExt's InOctets, OutOctets and InNoECTPkts; all others and MPTcpExt print 0.
/// The linux-4.4 profile prints 4.4's own lists instead (<see cref="TcpExt44"/>, <see cref="IpExt44"/>, no MPTcpExt).
/// </summary>
public static class ProcNetNetstat
{
    /// <summary>snmp4_net_list (6.18).</summary>
    public static readonly IReadOnlyList<string> TcpExt = MibSection.Names(
        "SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned " +
        "OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab BeyondWindow " +
        "TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows " +
        "ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging " +
        "TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo " +
        "TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans " +
        "TCPTimeouts TCPLossProbes TCPLossProbeRecovery TCPRenoRecoveryFail TCPSackRecoveryFail " +
        "TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv " +
        "TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed " +
        "TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo " +
        "TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged " +
        "TCPSackShiftFallback TCPBacklogDrop PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop " +
        "IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail " +
        "TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge TCPFastOpenActive " +
        "TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow " +
        "TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking " +
        "TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent " +
        "TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd " +
        "TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait " +
        "TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail TCPMTUPSuccess TCPDelivered " +
        "TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig " +
        "TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs " +
        "TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash TCPAORequired TCPAOBad " +
        "TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps");

    /// <summary>
    /// snmp4_net_list of linux-4.4 (net/ipv4/proc.c; read from the 4.1 source, which the 4.2–4.5 releases left
    /// unchanged — PFMemallocDrop, TCPWinProbe, TCPKeepAlive and TCPMTUP* came in 4.6): PAWSPassive (tcp_tw_recycle),
    /// the prequeue, FACK, TCPForwardRetrans and TCPSchedulerFailed fields, ending at TCPACKSkippedChallenge.
    /// </summary>
    public static readonly IReadOnlyList<string> TcpExt44 = MibSection.Names(
        "SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned " +
        "OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSPassive PAWSActive PAWSEstab " +
        "DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPPrequeued TCPDirectCopyFromBacklog " +
        "TCPDirectCopyFromPrequeue TCPPrequeueDropped TCPHPHits TCPHPHitsToUser TCPPureAcks TCPHPAcks TCPRenoRecovery " +
        "TCPSackRecovery TCPSACKReneging TCPFACKReorder TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo " +
        "TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures " +
        "TCPFastRetrans TCPForwardRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery " +
        "TCPRenoRecoveryFail TCPSackRecoveryFail TCPSchedulerFailed TCPRcvCollapsed TCPDSACKOldSent TCPDSACKOfoSent " +
        "TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout " +
        "TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo " +
        "TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPSackShifted TCPSackMerged TCPSackShiftFallback " +
        "TCPBacklogDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies " +
        "TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK " +
        "TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail " +
        "TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking " +
        "TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent " +
        "TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv " +
        "TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge");

    /// <summary>snmp4_ipextstats_list (6.18).</summary>
    public static readonly IReadOnlyList<string> IpExt = MibSection.Names(
        "InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets " +
        "InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts " +
        "InECT0Pkts InCEPkts ReasmOverlaps");

    /// <summary>snmp4_ipextstats_list of linux-4.4: 6.18's without ReasmOverlaps (IPSTATS_MIB_REASM_OVERLAPS, 4.19).</summary>
    public static readonly IReadOnlyList<string> IpExt44 = IpExt.Take(IpExt.Count - 1).ToArray();

    /// <summary>mptcp_snmp_list (net/mptcp/mib.c, 6.18), printed when CONFIG_MPTCP is set, as on the reference machine.</summary>
    public static readonly IReadOnlyList<string> MpTcpExt = MibSection.Names(
        "MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK " +
        "MPCapableFallbackSYNACK MPCapableSYNTXDrop MPCapableSYNTXDisabled MPCapableEndpAttempt " +
        "MPFallbackTokenInit MPTCPRetrans MPJoinNoTokenFound MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx " +
        "MPJoinSynAckBackupRx MPJoinSynAckHMacFailure MPJoinAckRx MPJoinAckHMacFailure MPJoinRejected " +
        "MPJoinSynTx MPJoinSynTxCreatSkErr MPJoinSynTxBindErr MPJoinSynTxConnectErr DSSNotMatching " +
        "DSSCorruptionFallback DSSCorruptionReset InfiniteMapTx InfiniteMapRx DSSNoMatchTCP DataCsumErr " +
        "OFOQueueTail OFOQueue OFOMerge NoDSSInWindow DuplicateData AddAddr AddAddrTx AddAddrTxDrop EchoAdd " +
        "EchoAddTx EchoAddTxDrop PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx MPJoinPortAckRx " +
        "MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmAddrTx RmAddrTxDrop RmSubflow MPPrioTx " +
        "MPPrioRx MPFailTx MPFailRx MPFastcloseTx MPFastcloseRx MPRstTx MPRstRx SubflowStale SubflowRecover " +
        "SndWndShared RcvWndShared RcvWndConflictUpdate RcvWndConflict MPCurrEstab Blackhole " +
        "MPCapableDataFallback MD5SigFallback DssFallback SimultConnectFallback FallbackFailed WinProbe");

    /// <summary>
    /// Models netstat_seq_show() + mptcp_seq_show(): TcpExt, IpExt and MPTcpExt name/value line pairs, each list the
    /// profile's kernel's; linux-4.4 has no MPTCP (5.6), so no MPTcpExt lines.
    /// </summary>
    public static string Format(Host host)
    {
        bool legacy = host.Sim.Profile == KernelProfile.Linux44;
        var sb = new StringBuilder();
        MibSection.Append(sb, "TcpExt", legacy ? TcpExt44 : TcpExt, name => Mib.TryFind("TcpExt", name, out var c) ? host.Mib[c] : 0);
        MibSection.Append(sb, "IpExt", legacy ? IpExt44 : IpExt, name => Mib.TryFind("IpExt", name, out var c) ? host.Mib[c] : 0);
        if (!legacy) MibSection.Append(sb, "MPTcpExt", MpTcpExt, _ => 0);
        return sb.ToString();
    }
}
