using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Observability;

/// <summary>
/// /proc/net/sockstat, snmp, netstat, snmp6. The expected header lines are copied from the files of
/// the 6.18.44 reference machine, so a field missing, added or out of order fails here.
/// </summary>
public class ProcNetCountersTests
{
    const string TcpExtHeader =
        "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned " +
        "OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab BeyondWindow " +
        "TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops " +
        "TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging TCPSACKReorder TCPRenoReorder " +
        "TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures " +
        "TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes " +
        "TCPLossProbeRecovery TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce " +
        "TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory " +
        "TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard " +
        "TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure " +
        "TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop PFMemallocDrop TCPMinTTLDrop " +
        "TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail " +
        "TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge TCPFastOpenActive " +
        "TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow " +
        "TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking " +
        "TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent " +
        "TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv " +
        "TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge " +
        "TCPWinProbe TCPKeepAlive TCPMTUPFail TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed " +
        "TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash " +
        "TCPDSACKRecvSegs TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash TCPAORequired " +
        "TCPAOBad TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps";

    const string IpExtHeader =
        "IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets " +
        "InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts " +
        "InCEPkts ReasmOverlaps";

    const string MPTcpExtHeader =
        "MPTcpExt: MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK " +
        "MPCapableFallbackSYNACK MPCapableSYNTXDrop MPCapableSYNTXDisabled MPCapableEndpAttempt MPFallbackTokenInit " +
        "MPTCPRetrans MPJoinNoTokenFound MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx MPJoinSynAckBackupRx " +
        "MPJoinSynAckHMacFailure MPJoinAckRx MPJoinAckHMacFailure MPJoinRejected MPJoinSynTx MPJoinSynTxCreatSkErr " +
        "MPJoinSynTxBindErr MPJoinSynTxConnectErr DSSNotMatching DSSCorruptionFallback DSSCorruptionReset InfiniteMapTx " +
        "InfiniteMapRx DSSNoMatchTCP DataCsumErr OFOQueueTail OFOQueue OFOMerge NoDSSInWindow DuplicateData AddAddr " +
        "AddAddrTx AddAddrTxDrop EchoAdd EchoAddTx EchoAddTxDrop PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx " +
        "MPJoinPortAckRx MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmAddrTx RmAddrTxDrop RmSubflow MPPrioTx " +
        "MPPrioRx MPFailTx MPFailRx MPFastcloseTx MPFastcloseRx MPRstTx MPRstRx SubflowStale SubflowRecover " +
        "SndWndShared RcvWndShared RcvWndConflictUpdate RcvWndConflict MPCurrEstab Blackhole MPCapableDataFallback " +
        "MD5SigFallback DssFallback SimultConnectFallback FallbackFailed WinProbe";

    const string IpHeader =
        "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards " +
        "InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails " +
        "FragCreates OutTransmits";

    const string IcmpHeader =
        "Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos " +
        "InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal " +
        "OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps " +
        "OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps";

    const string TcpHeader =
        "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs " +
        "OutSegs RetransSegs InErrs OutRsts InCsumErrors";

    const string UdpHeader =
        "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors";

    const string UdpLiteHeader =
        "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti " +
        "MemErrors";

    [Fact]
    public void Netstat_Headers_AreTheKernelsInOrder()
    {
        var lines = Lines(ProcNetNetstat.Format(new TwoHostHarness().Client));
        Assert.Equal(6, lines.Length);
        Assert.Equal([TcpExtHeader, IpExtHeader, MPTcpExtHeader], [lines[0], lines[2], lines[4]]);
        AssertValueLinesMatchHeaders(lines);
    }

    [Fact]
    public void Snmp_Headers_AreTheKernelsInOrder()
    {
        var lines = Lines(ProcNetSnmp.Format(new TwoHostHarness().Client));
        Assert.Equal(10, lines.Length); // no IcmpMsg lines: icmpmsg_put() prints only non-zero types
        Assert.Equal([IpHeader, IcmpHeader, TcpHeader, UdpHeader, UdpLiteHeader], [lines[0], lines[2], lines[4], lines[6], lines[8]]);
        AssertValueLinesMatchHeaders(lines);
        Assert.StartsWith("Ip: 2 64 0 ", lines[1]);
    }

    /// <summary>
    /// linux-4.4's snmp4_net_list and snmp4_ipextstats_list (net/ipv4/proc.c): PAWSPassive still there (tcp_tw_recycle),
    /// the prequeue, FACK, TCPForwardRetrans and TCPSchedulerFailed fields, the list ending at TCPACKSkippedChallenge
    /// (PFMemallocDrop, TCPWinProbe and the rest came in 4.6 and later), IpExt without ReasmOverlaps, no MPTcpExt (5.6).
    /// </summary>
    const string TcpExtHeader44 =
        "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned " +
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
        "TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge";

    const string IpExtHeader44 =
        "IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets " +
        "InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts " +
        "InCEPkts";

    /// <summary>linux-4.4's /proc/net/snmp: no OutTransmits (6.3), no OutRateLimitGlobal/Host (6.0), no Udp MemErrors.</summary>
    const string IpHeader44 =
        "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards " +
        "InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails " +
        "FragCreates";

    const string IcmpHeader44 =
        "Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos " +
        "InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutDestUnreachs " +
        "OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps " +
        "OutAddrMasks OutAddrMaskReps";

    const string UdpHeader44 = "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti";

    const string UdpLiteHeader44 =
        "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti";

    [Fact]
    public void Netstat_Linux44_HeadersAreItsKernelsInOrder()
    {
        var lines = Lines(ProcNetNetstat.Format(new TwoHostHarness(profile: KernelProfile.Linux44).Client));
        Assert.Equal(4, lines.Length);
        Assert.Equal([TcpExtHeader44, IpExtHeader44], [lines[0], lines[2]]);
        AssertValueLinesMatchHeaders(lines);
    }

    [Fact]
    public void Snmp_Linux44_HeadersAreItsKernelsInOrder()
    {
        var lines = Lines(ProcNetSnmp.Format(new TwoHostHarness(profile: KernelProfile.Linux44).Client));
        Assert.Equal(10, lines.Length);
        Assert.Equal([IpHeader44, IcmpHeader44, TcpHeader, UdpHeader44, UdpLiteHeader44], [lines[0], lines[2], lines[4], lines[6], lines[8]]);
        AssertValueLinesMatchHeaders(lines);
    }

    /// <summary>Every counter the engine keeps for a profile is a field its kernel prints (or the count would be invisible).</summary>
    [Theory]
    [InlineData(KernelProfile.Linux6)]
    [InlineData(KernelProfile.Linux44)]
    public void EveryKeptCounter_IsPrintedByTheProfilesFiles(KernelProfile profile)
    {
        var h = new TwoHostHarness(profile: profile);
        var printed = (ProcNetNetstat.Format(h.Client) + ProcNetSnmp.Format(h.Client)).Split('\n')
            .Where((l, i) => i % 2 == 0 && l.Length > 0).SelectMany(l => l.Split(' ')[1..].Select(n => (l[..l.IndexOf(':')], n))).ToHashSet();
        Assert.All(Mib.In(profile), c => Assert.Contains((Mib.Group(c), Mib.Name(c)), printed));
    }

    [Fact]
    public void TimeWait_Linux44_NetstatPrintsPawsPassiveAndTheTwCount()
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(70)); // linux-4.4 counts TW when the TIME-WAIT timer fires (tw_timer_handler())
        Assert.Equal(1, Value(ProcNetNetstat.Format(h.Client), "TcpExt", "TW"));
        Assert.Equal(0, Value(ProcNetNetstat.Format(h.Client), "TcpExt", "PAWSPassive"));
    }

    [Fact]
    public void TimeWait_Netstat_CountsTwAndSnmpCountsTheSegments()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1000));
        Assert.Equal(1, Value(ProcNetNetstat.Format(h.Client), "TcpExt", "TW"));
        Assert.Equal(0, Value(ProcNetNetstat.Format(h.Client), "TcpExt", "TWKilled"));
        // SYN, ACK, FIN, ACK of the peer's FIN out; SYN-ACK, ACK of our FIN, the peer's FIN in.
        Assert.Equal("Tcp: 1 200 120000 -1 1 0 0 0 0 3 4 0 0 0 0", Lines(ProcNetSnmp.Format(h.Client))[5]);
        Assert.Equal(h.Client.Mib[MibCounter.TcpOutSegs], Value(ProcNetSnmp.Format(h.Client), "Tcp", "OutSegs"));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 1)]
    [InlineData(KernelProfile.Linux44, 0)]
    public void CloseWait_Snmp_CurrEstabCountsItSince610(KernelProfile profile, long currEstab)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, _, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(500)); // server CLOSE-WAIT, client FIN-WAIT-2
        Assert.Equal(currEstab, Value(ProcNetSnmp.Format(h.Server), "Tcp", "CurrEstab"));
        Assert.Equal(0, Value(ProcNetSnmp.Format(h.Client), "Tcp", "CurrEstab"));
    }

    [Fact]
    public void Sockstat_TimeWaitWhileTheDescriptorIsOpen_AllocAndUsedKeepTheClosedSocket()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1200));
        // tcp_time_wait() unhashes the full socket (inuse 0) and tcp_done() leaves it in TCP_CLOSE under the descriptor:
        // inet_csk_destroy_sock() has not run, so tcp_sockets_allocated and sock_inuse still count it.
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        Assert.StartsWith("sockets: used 1\nTCP: inuse 0 orphan 0 tw 1 alloc 1 mem 0\n", ProcNetSockstat.Format(h.Client));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(1300));
        Assert.StartsWith("sockets: used 0\nTCP: inuse 0 orphan 0 tw 1 alloc 0 mem 0\n", ProcNetSockstat.Format(h.Client));
    }

    [Fact]
    public void Sockstat_OrphanFinWait2OnTheKeepaliveTimer_CountsAsAnOrphanNotTw()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_LINGER2, 100);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(1000));
        // tcp_fin_time() above 60 s keeps the full socket: still hashed and orphaned (tcp_orphan_count), no timewait socket.
        Assert.StartsWith("sockets: used 1\nTCP: inuse 1 orphan 1 tw 0 alloc 1 mem 0\n", ProcNetSockstat.Format(h.Client));
    }

    [Fact]
    public void Sockstat_ThroughTeardown_CountsInuseOrphanTwAlloc()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Assert.Equal(Sockstat(used: 1, inuse: 1, orphan: 0, tw: 0), ProcNetSockstat.Format(h.Client));
        Assert.Equal(Sockstat(used: 2, inuse: 2, orphan: 0, tw: 0), ProcNetSockstat.Format(h.Server));
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, null, true));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200)); // FIN lost: an orphan in FIN-WAIT-1, still hashed
        Assert.Equal(Sockstat(used: 1, inuse: 1, orphan: 1, tw: 0), ProcNetSockstat.Format(h.Client));
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, null, false));
        h.At(Ms(2000)); // retransmitted FIN acknowledged: parked as a FIN_WAIT2 timewait socket
        Assert.Equal(Sockstat(used: 0, inuse: 0, orphan: 0, tw: 1), ProcNetSockstat.Format(h.Client));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(3000));
        Assert.Equal(Sockstat(used: 1, inuse: 1, orphan: 0, tw: 0), ProcNetSockstat.Format(h.Server));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 0)]
    [InlineData(KernelProfile.Linux44, 3)]
    public void UnreadData_Sockstat_MemCountsTheChargedPages(KernelProfile profile, int mem)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 5000 });
        h.At(Ms(500)); // 5000 unread bytes on the server: four skbs of truesize 2304 (sk_rmem_alloc 9216) in the pages
        // sk_rmem_schedule() took (sk_wmem_queued + sk_rmem_alloc + sk_forward_alloc = 12288): 3 pages
        Assert.Equal(5000, s.RecvQueue);
        // 6.0+: the 3 pages sit in the per-CPU cache (sk_memory_allocated_add() drains it to memory_allocated only
        // from SK_MEMORY_PCPU_RESERVE, 256 pages): sockstat_seq_show() prints proto_memory_allocated() = 0.
        // linux-4.4 charged memory_allocated directly: 3.
        Assert.Contains($"TCP: inuse 2 orphan 0 tw 0 alloc 2 mem {mem}\n", ProcNetSockstat.Format(h.Server));
        Assert.Contains("TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 0\n", ProcNetSockstat.Format(h.Client));
    }

    /// <summary>
    /// The host's TCP pages are the pages its sockets scheduled — sk_wmem_queued + sk_rmem_alloc + sk_forward_alloc — not
    /// an estimate from the payload: 3,000,000 bytes queued at once under SO_SNDBUF 4000000 sit in 64 KB skbs whose
    /// sk_wmem_queued is about the payload (the 3/2 the engine charged before session 36 made 1099 pages, drained at once,
    /// over tcp_mem[1] = 700). About 750 pages, charged a few at a time on the kernel, drain as two reserves of 256:
    /// sockstat mem 512, under tcp_mem[1], no pressure.
    /// </summary>
    [Fact]
    public void LargeSendQueue_Sockstat_MemIsTheScheduledPagesNotThreeHalvesOfThePayload()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_mem", "0 700 100000000");
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 4_000_000);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 3_000_000, Flags = MsgFlags.MSG_DONTWAIT });
        var mem = c.Meminfo;
        Assert.Equal(0u, (mem.WmemQueued + mem.RmemAlloc + mem.FwdAlloc) % 4096);
        Assert.Equal("TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 512", ProcNetSockstat.Format(h.Client).Split('\n')[1]);
        Assert.Equal((false, 0L), (h.Client.TcpMemoryPressure, h.Client.Mib[MibCounter.TcpExtTCPMemoryPressures]));
    }

    /// <summary>
    /// Out-of-order skbs are charged to the host as they are queued (tcp_try_rmem_schedule() → sk_rmem_schedule()): ten
    /// 1448-byte segments behind a hole hold 23,040 bytes of rmem_alloc, six scheduled pages, and linux-4.4's global count
    /// shows them at once (review36 M-2: it showed 0 until the next send, ACK, in-order receive or read).
    /// </summary>
    [Fact]
    public void OutOfOrderData_HostPagesAreTheSocketsScheduledPages()
    {
        var p = InjectedPeer.Connected(profile: KernelProfile.Linux44);
        for (int i = 1; i <= 10; i++) p.Data(1448, at: 1448L * i);
        var m = p.C.Meminfo;

        Assert.Equal((6L, 23040u), (p.H.Client.TcpMemPages, m.RmemAlloc));
        Assert.Equal(0u, (m.WmemQueued + m.RmemAlloc + m.FwdAlloc) % 4096);
    }

    [Fact]
    public void Sockstat6AndSnmp6_NoIpv6_KernelLayoutWithZeros()
    {
        Assert.Equal("TCP6: inuse 0\nUDP6: inuse 0\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n", ProcNetSockstat.Sockstat6);
        var snmp6 = Lines(ProcNetSnmp.Snmp6(KernelProfile.Linux6));
        Assert.Equal(86, snmp6.Length);
        Assert.Equal("Ip6InReceives                   \t0", snmp6[0]);
        Assert.Equal("UdpLite6MemErrors               \t0", snmp6[^1]);
        Assert.Contains("Icmp6OutMLDv2Reports            \t0", snmp6);
    }

    /// <summary>
    /// linux-4.4's snmp6_seq_show() lists: no Ip6OutTransmits (6.3), no Icmp6OutRateLimitHost (6.0), no Udp6MemErrors /
    /// UdpLite6MemErrors (UDP_MIB_MEMERRORS is later); the named ICMPv6 types are the same.
    /// </summary>
    [Fact]
    public void Snmp6_Linux44_FieldsAreItsKernels()
    {
        var snmp6 = Lines(ProcNetSnmp.Snmp6(KernelProfile.Linux44));
        Assert.Equal(82, snmp6.Length);
        var names = snmp6.Select(l => l.Split('\t')[0].TrimEnd()).ToArray();
        Assert.Equal(("Ip6InCEPkts", "Icmp6InMsgs"), (names[31], names[32]));
        Assert.Equal(("Icmp6InCsumErrors", "Icmp6InDestUnreachs"), (names[36], names[37]));
        Assert.Equal(("Udp6IgnoredMulti", "UdpLite6InDatagrams"), (names[74], names[75]));
        Assert.Equal("UdpLite6InCsumErrors", names[^1]);
        Assert.Contains("Icmp6OutMLDv2Reports", names);
        Assert.Equal(ProcNetSnmp.Snmp6(KernelProfile.Linux44), ProcFs.Files(new TwoHostHarness(profile: KernelProfile.Linux44).Client).Single(f => f.Path == "net/snmp6").Text);
    }

    static string Sockstat(int used, int inuse, int orphan, int tw) =>
        $"sockets: used {used}\nTCP: inuse {inuse} orphan {orphan} tw {tw} alloc {used} mem 0\n" +
        "UDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n";

    static string[] Lines(string text)
    {
        Assert.EndsWith("\n", text);
        return text[..^1].Split('\n');
    }

    /// <summary>Each "Prefix: names" line is followed by "Prefix: values" with one value per name, as node_exporter zips them.</summary>
    static void AssertValueLinesMatchHeaders(string[] lines)
    {
        for (int i = 0; i < lines.Length; i += 2)
        {
            var names = lines[i].Split(' ');
            var values = lines[i + 1].Split(' ');
            Assert.Equal(names[0], values[0]);
            Assert.Equal(names.Length, values.Length);
            Assert.All(values[1..], v => Assert.True(long.TryParse(v, out _), v));
        }
    }

    static long Value(string file, string prefix, string name)
    {
        var lines = Lines(file);
        int i = Array.FindIndex(lines, l => l.StartsWith(prefix + ": ", StringComparison.Ordinal));
        int column = Array.IndexOf(lines[i].Split(' '), name);
        Assert.True(column > 0, $"{prefix} has no {name}");
        return long.Parse(lines[i + 1].Split(' ')[column]);
    }
}
