using System.Text;
using SimService.Domain.Network;

namespace SimService.Domain.Observability;

/// <summary>
/// /proc/net/netstat of Linux 6.18 (netstat_seq_show() — net/ipv4/proc.c, then mptcp_seq_show() —
/// net/mptcp/mib.c): every field of the kernel's lists in its order, checked against the file on
/// the 6.18.44 reference machine. TcpExt fields the simulator counts come from the host's
/// <see cref="Mib"/>, as do IpExt's InOctets, OutOctets and InNoECTPkts; all others and MPTcpExt print 0.
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

    /// <summary>snmp4_ipextstats_list (6.18).</summary>
    public static readonly IReadOnlyList<string> IpExt = MibSection.Names(
        "InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets " +
        "InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts " +
        "InECT0Pkts InCEPkts ReasmOverlaps");

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

    /// <summary>Models netstat_seq_show() + mptcp_seq_show(): TcpExt, IpExt and MPTcpExt name/value line pairs.</summary>
    public static string Format(Host host)
    {
        var sb = new StringBuilder();
        MibSection.Append(sb, "TcpExt", TcpExt, name => Mib.TryFind("TcpExt", name, out var c) ? host.Mib[c] : 0);
        MibSection.Append(sb, "IpExt", IpExt, name => Mib.TryFind("IpExt", name, out var c) ? host.Mib[c] : 0);
        MibSection.Append(sb, "MPTcpExt", MpTcpExt, _ => 0);
        return sb.ToString();
    }
}
