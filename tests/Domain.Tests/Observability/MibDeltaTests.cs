using SimService.Domain.Observability;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Observability;

/// <summary>
/// The counter comparison of <c>simservice kernel --counters</c>: /proc/net/snmp and /proc/net/netstat read into
/// "Group.Field" values, the change over a run, and the engine's change against the kernel's.
/// </summary>
public class MibDeltaTests
{
    /// <summary>An active close that ends in TIME-WAIT, as packetdrill/close-active-then-remote-fin.pkt.</summary>
    const string ActiveClose = PacketdrillRunnerTests.Handshake + """
           +0 write(3, ..., 1000) = 1000
           +0 > P. 1:1001(1000) ack 1
         +.01 < . 1:1(0) ack 1001 win 257
           +0 close(3) = 0
           +0 > F. 1001:1001(0) ack 1
         +.01 < . 1:1(0) ack 1002 win 257
         +.01 < F. 1:1(0) ack 1002 win 257
           +0 > . 1002:1002(0) ack 2
        """;

    /// <summary>
    /// What Linux 6.18.44 counted for that script in a fresh network namespace (observed with
    /// <c>simservice kernel --counters packetdrill/close-active-then-remote-fin.pkt</c>): its non-zero changes.
    /// </summary>
    static readonly Dictionary<string, long> ObservedOn61844 = new()
    {
        ["Ip.InReceives"] = 4, ["Ip.InDelivers"] = 4, ["Ip.OutRequests"] = 5, ["Ip.OutTransmits"] = 5,
        ["Tcp.ActiveOpens"] = 1, ["Tcp.InSegs"] = 4, ["Tcp.OutSegs"] = 5,
        ["TcpExt.TW"] = 1, ["TcpExt.TCPPureAcks"] = 2, ["TcpExt.TCPOrigDataSent"] = 2, ["TcpExt.TCPDelivered"] = 3,
        ["IpExt.InOctets"] = 172, ["IpExt.OutOctets"] = 1220, ["IpExt.InNoECTPkts"] = 4,
    };

    /// <summary>The engine's counter changes over a script that must pass.</summary>
    static Dictionary<string, long> EngineDelta(string script = ActiveClose)
    {
        var run = PacketdrillRunner.Run(script, new PacketdrillOptions { ScriptName = "script.pkt" });
        Assert.True(run.Passed, run.Output);
        return MibDelta.SinceBoot(run.Simulation!.FindHost(PacketdrillRunner.LocalHost)!);
    }

    [Fact]
    public void Parse_ProcNetText_ReadsTheComparedSectionsByPosition()
    {
        const string snmp = "Ip: Forwarding DefaultTTL InReceives\nIp: 1 64 7\nIcmp: InMsgs\nIcmp: 3\nTcp: MaxConn CurrEstab OutRsts\nTcp: -1 2 5\n";
        const string netstat = "TcpExt: TW DelayedACKs\nTcpExt: 1 9\nMPTcpExt: MPCapableSYNRX\nMPTcpExt: 4\n";

        var values = MibDelta.Parse(snmp, netstat);

        Assert.Equal(
            new Dictionary<string, long>
            {
                ["Ip.Forwarding"] = 1, ["Ip.DefaultTTL"] = 64, ["Ip.InReceives"] = 7,
                ["Tcp.MaxConn"] = -1, ["Tcp.CurrEstab"] = 2, ["Tcp.OutRsts"] = 5, ["TcpExt.TW"] = 1, ["TcpExt.DelayedACKs"] = 9,
            },
            values);
    }

    [Fact]
    public void Delta_BeforeAndAfter_IsTheChangeOfEveryCounter()
    {
        var before = new Dictionary<string, long> { ["Tcp.OutSegs"] = 10, ["Tcp.CurrEstab"] = 1 };
        var after = new Dictionary<string, long> { ["Tcp.OutSegs"] = 15, ["Tcp.CurrEstab"] = 0, ["TcpExt.TW"] = 1 };

        Assert.Equal(new Dictionary<string, long> { ["Tcp.OutSegs"] = 5, ["Tcp.CurrEstab"] = -1, ["TcpExt.TW"] = 1 }, MibDelta.Delta(before, after));
    }

    [Fact]
    public void SinceBoot_ActiveCloseToTimeWait_MatchesWhat61844Counted()
    {
        var engine = EngineDelta();

        Assert.Equal(0, engine["Tcp.RtoMin"]); // a constant does not move
        Assert.Empty(MibDelta.Compare(engine, ObservedOn61844));
    }

    /// <summary>
    /// A 2-segment TSO chunk (1:2001 at MSS 1000) then the 500-byte tail with the FIN, as
    /// packetdrill/close-corked-tail-leaves-with-fin.pkt: the IP layer counts the chunk once — one OutRequests and
    /// OutTransmits, its headers once in OutOctets (2040, not 2 × 1040) — while Tcp.OutSegs counts its two segments.
    /// Observed on Linux 6.18.44 through a TUN device (<c>simservice kernel --counters</c>); the engine counted per
    /// segment before (OutRequests 5, OutOctets 2720).
    /// </summary>
    [Fact]
    public void SinceBoot_CorkedTwoSegmentChunkThenFin_IpCountsTheChunkOnceAsOn61844()
    {
        const string script = """
            `./defaults.sh`
                0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
               +0...0.010 connect(3, ..., ...) = 0
               +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
             +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,wscale 7,nop,nop,sackOK>
               +0 > . 1:1(0) ack 1
               +0 setsockopt(3, SOL_TCP, TCP_CORK, [1], 4) = 0
               +0 write(3, ..., 2500) = 2500
               +0 > . 1:1001(1000) ack 1
               +0 > P. 1001:2001(1000) ack 1
             +.001 close(3) = 0
               +0 > FP. 2001:2501(500) ack 1
             +.01 < . 1:1(0) ack 2502 win 257
            """;
        var observed = new Dictionary<string, long>
        {
            ["Ip.InReceives"] = 2, ["Ip.InDelivers"] = 2, ["Ip.OutRequests"] = 4, ["Ip.OutTransmits"] = 4,
            ["Tcp.ActiveOpens"] = 1, ["Tcp.InSegs"] = 2, ["Tcp.OutSegs"] = 5,
            ["TcpExt.TW"] = 1, ["TcpExt.TCPPureAcks"] = 1, ["TcpExt.TCPOrigDataSent"] = 3, ["TcpExt.TCPDelivered"] = 4,
            ["IpExt.InOctets"] = 92, ["IpExt.OutOctets"] = 2680, ["IpExt.InNoECTPkts"] = 2,
        };
        Assert.Empty(MibDelta.Compare(EngineDelta(script), observed));
    }

    /// <summary>
    /// packetdrill/data-and-fin-skb-acked-in-two-steps-counts-sack-reorder.pkt: a one-segment skb of data and FIN acked
    /// to its last data byte, then the FIN. tcp_clean_rtx_queue() leaves a one-segment skb untrimmed on the partial
    /// ACK, so freeing it later reads start_seq 1 below the prior snd_una 1001: tcp_check_sack_reordering() counts
    /// TCPSACKReorder (and reord_seen). Observed on Linux 6.18.44 (<c>simservice kernel --counters</c>); the engine
    /// trimmed the segment and counted nothing.
    /// </summary>
    [Fact]
    public void SinceBoot_DataAndFinSkbAckedInTwoSteps_CountsSackReorderAsOn61844()
    {
        var text = File.ReadAllText(Path.Combine(ProjectScripts.Folder, "data-and-fin-skb-acked-in-two-steps-counts-sack-reorder.pkt"));
        var observed = new Dictionary<string, long>
        {
            ["Ip.InReceives"] = 5, ["Ip.InDelivers"] = 5, ["Ip.OutRequests"] = 3, ["Ip.OutTransmits"] = 3,
            ["Tcp.ActiveOpens"] = 1, ["Tcp.InSegs"] = 5, ["Tcp.OutSegs"] = 3,
            ["TcpExt.TCPPureAcks"] = 4, ["TcpExt.TCPSACKReorder"] = 1, ["TcpExt.TCPOrigDataSent"] = 1, ["TcpExt.TCPDelivered"] = 2,
            ["IpExt.InOctets"] = 208, ["IpExt.OutOctets"] = 1140, ["IpExt.InNoECTPkts"] = 5,
        };
        Assert.Empty(MibDelta.Compare(EngineDelta(text), observed));
    }

    /// <summary>
    /// packetdrill/close-wait-close-with-unread-data-sends-rst.pkt: 10 bytes left unread, then a bare FIN, then close().
    /// tcp_queue_rcv() → tcp_try_coalesce() merges the FIN into the unread tail skb (skb_try_coalesce() copies its 0
    /// bytes), counting TCPRcvCoalesce; the close with unread data resets (TCPAbortOnClose, EstabResets, OutRsts).
    /// Observed on Linux 6.18.44 (<c>simservice kernel --counters</c>); the engine did not keep TCPRcvCoalesce.
    /// </summary>
    [Fact]
    public void SinceBoot_BareFinAfterUnreadDataThenClose_CoalescesTheFinAsOn61844()
    {
        var text = File.ReadAllText(Path.Combine(ProjectScripts.Folder, "close-wait-close-with-unread-data-sends-rst.pkt"));
        var observed = new Dictionary<string, long>
        {
            ["Ip.InReceives"] = 3, ["Ip.InDelivers"] = 3, ["Ip.OutRequests"] = 5, ["Ip.OutTransmits"] = 5,
            ["Tcp.ActiveOpens"] = 1, ["Tcp.EstabResets"] = 1, ["Tcp.InSegs"] = 3, ["Tcp.OutSegs"] = 5, ["Tcp.OutRsts"] = 1,
            ["TcpExt.DelayedACKs"] = 1, ["TcpExt.TCPAbortOnClose"] = 1, ["TcpExt.TCPRcvCoalesce"] = 1, ["TcpExt.TCPDelivered"] = 1,
            ["IpExt.InOctets"] = 142, ["IpExt.OutOctets"] = 220, ["IpExt.InNoECTPkts"] = 3,
        };

        Assert.Empty(MibDelta.Compare(EngineDelta(text), observed));
    }

    [Fact]
    public void Compare_DeliberatelyWrongCounters_AreReportedModelledOrNot()
    {
        var engine = EngineDelta();
        var kernel = new Dictionary<string, long>(ObservedOn61844)
        {
            ["TcpExt.TW"] = 0, // the engine counted a TIME-WAIT this "kernel" did not
            ["Tcp.OutRsts"] = 1,
            ["TcpExt.TCPAutoCorking"] = 3, // a counter the engine does not keep
        };

        Assert.Equal(
            [
                new CounterDifference("Tcp.OutRsts", 0, 1, Modelled: true),
                new CounterDifference("TcpExt.TCPAutoCorking", 0, 3, Modelled: false),
                new CounterDifference("TcpExt.TW", 1, 0, Modelled: true),
            ],
            MibDelta.Compare(engine, kernel));
    }

    [Theory]
    [InlineData("TcpExt.TW", true)]
    [InlineData("Tcp.CurrEstab", true)]
    [InlineData("IpExt.InOctets", true)]
    [InlineData("TcpExt.TCPRcvCoalesce", true)]
    [InlineData("TcpExt.TCPSackShiftFallback", true)]
    [InlineData("TcpExt.TCPBacklogCoalesce", true)]
    [InlineData("TcpExt.TCPBacklogDrop", true)]
    [InlineData("TcpExt.TCPAutoCorking", false)]
    [InlineData("IpExt.InMcastPkts", false)]
    public void IsModelled_Counter_WhetherTheEngineKeepsIt(string name, bool modelled) =>
        Assert.Equal(modelled, MibDelta.IsModelled(name));
}
