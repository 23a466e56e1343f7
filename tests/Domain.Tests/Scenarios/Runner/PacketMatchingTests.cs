using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>How packet checks see the journal: relative numbers, drops, subsequence and one-to-one matching.</summary>
public class PacketMatchingTests
{
    static readonly IPv4 ClientIp = IPv4.Parse("10.0.0.1");
    static readonly IPv4 ServerIp = IPv4.Parse("10.0.0.2");
    static readonly FourTuple ClientToServer = new(new Endpoint(ClientIp, 40000), new Endpoint(ServerIp, 80));
    static readonly FourTuple ServerToClient = ClientToServer.Reversed;

    readonly List<SimEvent> _journal = [];

    static string? HostAt(IPv4 address) => address == ClientIp ? "client" : address == ServerIp ? "server" : null;

    void Sent(double ms, FourTuple tuple, string flags, uint seq, uint ack, int len = 0, bool dropped = false, string reason = "test")
    {
        Assert.True(TcpFlagsText.TryParse(flags, out var f));
        var at = new SimTime((long)(ms * 1_000_000));
        var host = tuple == ClientToServer ? "client" : "server";
        _journal.Add(new SegmentSent(at, _journal.Count, host, tuple, f, seq, ack, len, 65535, TcpOptions.None, reason, null));
        if (dropped) _journal.Add(new SegmentDropped(at, _journal.Count, host, tuple, f, seq, ack, len, "loss"));
    }

    IReadOnlyList<WirePacket> Capture() => ScenarioRunner.CapturePackets(_journal, HostAt);

    static PacketCheck Entry(string flags, string? from = null, string? to = null, uint? seq = null, uint? ack = null,
        string? at = null, long? len = null)
    {
        Assert.True(TcpFlagsText.TryParse(flags, out var f));
        CheckedDuration? when = null;
        if (at is not null)
        {
            Assert.True(CheckedDuration.TryParse(at, out var parsed));
            when = parsed;
        }
        return new PacketCheck(from is null ? null : new PacketEndpoint(from, null), to is null ? null : new PacketEndpoint(to, null),
            f, when, len, seq, ack);
    }

    /// <summary>A handshake with ISNs 1000 (client) and 5000 (server), 100 bytes from the client, then the client's FIN.</summary>
    void Handshake()
    {
        Sent(1, ClientToServer, "S", 1000, 0);
        Sent(11, ServerToClient, "S.", 5000, 1001);
        Sent(21, ClientToServer, ".", 1001, 5001);
        Sent(100, ClientToServer, "P.", 1001, 5001, len: 100);
        Sent(200, ClientToServer, "F.", 1101, 5001, dropped: true);
        Sent(410, ClientToServer, "F.", 1101, 5001);
    }

    void Injected(double ms, string flags, uint seq, uint ack = 0) => Sent(ms, ClientToServer, flags, seq, ack, reason: Host.InjectReason);

    [Fact]
    public void Capture_InjectedSynAnsweredByTimeWaitAck_NotANewConnectionNoRebase()
    {
        Handshake();
        Injected(1000, "S", 300);
        Sent(1010, ServerToClient, ".", 5001, 1102);
        Injected(1200, "R", 1102);

        var p = Capture();

        Assert.Equal([4294966596u, 5001 - 5000, 102u], p.Skip(6).Select(x => x.RelativeSeq));
        Assert.Equal(102u, p[7].RelativeAck);
    }

    [Fact]
    public void Capture_InjectedSynAnsweredBySynAck_RebasesBothDirections()
    {
        Handshake();
        Injected(1000, "S", 300);
        Sent(1010, ServerToClient, "S.", 9000, 301);
        Injected(1020, ".", 301, 9001);

        var p = Capture();

        Assert.Equal([(0u, 0u), (0u, 1u), (1u, 1u)], p.Skip(6).Select(x => (x.RelativeSeq, x.Flags.HasFlag(TcpFlags.Ack) ? x.RelativeAck : 0u)));
    }

    [Fact]
    public void Capture_InjectedSynRejectedThenRetriedAndAccepted_OnlyTheAcceptedOneRebases()
    {
        Handshake();
        Injected(1000, "S", 500);
        Sent(1010, ServerToClient, ".", 5001, 1102);
        Injected(1200, "R", 1102);
        Injected(2000, "S", 500);
        Sent(2010, ServerToClient, "S.", 7000, 501);

        var p = Capture();

        Assert.Equal(102u, p[8].RelativeSeq);
        Assert.Equal((0u, 0u, 1u), (p[9].RelativeSeq, p[10].RelativeSeq, p[10].RelativeAck));
    }

    [Fact]
    public void Capture_LinuxHostsOwnSynAnsweredWithChallengeAck_RebasesAsItsNewConnection()
    {
        Handshake();
        Sent(1000, ClientToServer, "S", 300, 0);
        Sent(1010, ServerToClient, ".", 5001, 1102);

        var p = Capture();

        Assert.Equal(0u, p[6].RelativeSeq);
        Assert.Equal(802u, p[7].RelativeAck);
    }

    [Fact]
    public void Capture_Handshake_SeqAndAckRelativeToEachDirectionsSyn()
    {
        Handshake();

        var packets = Capture();

        Assert.Equal([(0u, 0u), (0u, 1u), (1u, 1u), (1u, 1u), (101u, 1u), (101u, 1u)],
            packets.Select(p => (p.RelativeSeq, p.RelativeAck)));
        Assert.Equal(("client", "server", 1101u), (packets[4].From, packets[4].To, packets[4].Seq));
    }

    [Fact]
    public void Capture_NoSynSeen_NumbersStayAbsolute()
    {
        Sent(5, ServerToClient, "R", 77777, 0);

        var packet = Assert.Single(Capture());

        Assert.Equal((77777u, 0u), (packet.RelativeSeq, packet.RelativeAck));
    }

    [Fact]
    public void Capture_NewSynOnSameTuple_RebasesThatDirection()
    {
        Handshake();
        Sent(2000, ClientToServer, "S", 90000, 0);
        Sent(2010, ServerToClient, "S.", 123, 90001);

        var packets = Capture();

        Assert.Equal((0u, 0u), (packets[^2].RelativeSeq, packets[^2].RelativeAck));
        Assert.Equal((0u, 1u), (packets[^1].RelativeSeq, packets[^1].RelativeAck));
    }

    [Fact]
    public void Capture_SegmentDroppedRightAfter_MarkedDropped()
    {
        Handshake();

        Assert.Equal([false, false, false, false, true, false], Capture().Select(p => p.Dropped));
    }

    [Fact]
    public void Matches_Flags_MustBeExact()
    {
        Sent(1, ClientToServer, "FP.", 1, 1);
        var packet = Capture()[0];

        Assert.False(ScenarioRunner.Matches(Entry("F."), packet));
        Assert.True(ScenarioRunner.Matches(Entry("FP."), packet));
        Assert.True(ScenarioRunner.Matches(Entry("PF."), packet));
    }

    [Fact]
    public void Matches_OptionalFields_CheckedOnlyWhenGiven()
    {
        Handshake();
        var fin = Capture()[5];

        Assert.True(ScenarioRunner.Matches(Entry("F.", from: "client", to: "server", seq: 101, ack: 1, at: "~400ms", len: 0), fin));
        Assert.False(ScenarioRunner.Matches(Entry("F.", from: "server"), fin));
        Assert.False(ScenarioRunner.Matches(Entry("F.", seq: 1101), fin));
        Assert.False(ScenarioRunner.Matches(Entry("F.", at: "200ms"), fin));
        Assert.False(ScenarioRunner.Matches(new PacketCheck(new PacketEndpoint("client", 40001), null, TcpFlags.Fin | TcpFlags.Ack,
            null, null, null, null), fin));
        Assert.True(ScenarioRunner.Matches(new PacketCheck(new PacketEndpoint("client", 40000), new PacketEndpoint("server", 80),
            TcpFlags.Fin | TcpFlags.Ack, null, null, null, null), fin));
    }

    [Fact]
    public void Subsequence_InOrderWithGaps_EachEntryAtEarliestMatch()
    {
        Handshake();

        var found = ScenarioRunner.MatchSubsequence([Entry("S"), Entry("F."), Entry("F.")], Capture());

        Assert.Equal([0, 4, 5], found);
    }

    [Fact]
    public void Subsequence_OutOfOrder_LaterEntryNotFound()
    {
        Handshake();

        var found = ScenarioRunner.MatchSubsequence([Entry("F."), Entry("S.")], Capture());

        Assert.Equal([4, -1], found);
    }

    [Fact]
    public void Subsequence_MissingEntry_NextSearchesFromLastMatch()
    {
        Handshake();

        var found = ScenarioRunner.MatchSubsequence([Entry("S."), Entry("R"), Entry("."),], Capture());

        Assert.Equal([1, -1, 2], found);
    }

    [Fact]
    public void SegmentsBetweenNamedHosts_TwoHostsNamed_KeepsBothDirectionsBetweenThem()
    {
        Handshake();
        var thirdParty = new FourTuple(new Endpoint(IPv4.Parse("10.0.0.3"), 5000), new Endpoint(ServerIp, 80));
        _journal.Add(new SegmentSent(new SimTime(1), _journal.Count, "other", thirdParty, TcpFlags.Syn, 1, 0, 0, 0, TcpOptions.None, "x", null));
        var packets = Capture();

        var between = ScenarioRunner.SegmentsBetweenNamedHosts([Entry("S", from: "client", to: "server")], packets);
        var ofServer = ScenarioRunner.SegmentsBetweenNamedHosts([Entry("S", to: "server")], packets);
        var all = ScenarioRunner.SegmentsBetweenNamedHosts([Entry("S")], packets);

        Assert.Equal(6, between.Count);
        Assert.Equal(7, ofServer.Count);
        Assert.Equal(7, all.Count);
    }

    [Fact]
    public void PacketsExact_SameSegmentsAsSubsequence_FailsOnExtraSegment()
    {
        var subsequence = """[ { "from": "client", "flags": "F." }, { "from": "server", "flags": "F." } ]""";
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "close", "socket": "c" },
            { "at": "100ms", "host": "server", "call": "recv", "socket": "s" },
            { "at": "400ms", "host": "server", "call": "close", "socket": "s" }
            """, $$"""{ "packets": {{subsequence}}, "packetsExact": {{subsequence}} }""");

        var result = RunnerAssert.Run(json);

        Assert.True(RunnerAssert.Check(result, "$.expect.packets[0]").Passed);
        Assert.True(RunnerAssert.Check(result, "$.expect.packets[1]").Passed);
        var first = RunnerAssert.Check(result, "$.expect.packetsExact[0]");
        Assert.False(first.Passed);
        Assert.Contains("S ", first.Actual);
        Assert.False(RunnerAssert.Check(result, "$.expect.packetsExact").Passed);
    }

    [Fact]
    public void PacketsExact_WholeExchange_Passes()
    {
        var json = RunnerScenarios.TwoHosts("""
            { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "1ms", "host": "client", "call": "connect", "to": "server:80", "bind": { "port": 40000 }, "as": "c" }
            """, """
            { "packetsExact": [
                { "from": "client:40000", "to": "server:80", "flags": "S", "seq": 0, "at": "1ms" },
                { "from": "server", "to": "client", "flags": "S.", "seq": 0, "ack": 1, "at": "11ms" },
                { "from": "client", "to": "server", "flags": ".", "seq": 1, "ack": 1, "at": "21ms", "len": 0 } ] }
            """);

        var result = RunnerAssert.Run(json);

        RunnerAssert.Passed(result);
        Assert.Equal(4, result.Checks.Count(c => c.Kind == CheckKinds.PacketsExact));
    }

    [Fact]
    public void NoPackets_SegmentMatches_FailsAndShowsIt()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "close", "socket": "c" }
            """, """{ "noPackets": [ { "from": "client", "flags": "F." }, { "flags": "R" } ] }""");

        var result = RunnerAssert.Run(json);

        var fin = RunnerAssert.Check(result, "$.expect.noPackets[0]");
        Assert.False(fin.Passed);
        Assert.Contains("100ms client:", fin.Actual);
        Assert.True(RunnerAssert.Check(result, "$.expect.noPackets[1]").Passed);
    }

    [Fact]
    public void Packets_EntryNotFound_ActualListsNearMisses()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "close", "socket": "c" }
            """, """{ "packets": [ { "from": "client", "to": "server", "flags": "F.", "at": "~300ms" } ] }""");

        var result = RunnerAssert.Run(json);

        var check = RunnerAssert.Check(result, "$.expect.packets[0]");
        Assert.False(check.Passed);
        Assert.Equal("client > server F. at ~300ms", check.Expected);
        Assert.Contains("no matching segment", check.Actual);
        Assert.Contains("100ms client:", check.Actual);
    }
    /// <summary>
    /// tester40 MEDIUM-1: both hosts tcp_ecn 1, so the client's SYN is "SEW" and the answer "S.E" (tcp_ecn_send_syn(),
    /// tcp_ecn_make_synack()). Entries written "S" and "S." at those times find nothing with those flags; the actual names the
    /// segment that matches but for ECN's E/W. The FIN at 100 ms, with no E/W difference, still matches.
    /// </summary>
    [Fact]
    public void Packets_FlagsDifferOnlyByEcn_ActualNamesTheSegment()
    {
        var json = """
            {"name":"ecnjudge","hosts":{"client":{"address":"10.0.0.1","sysctls":{"net.ipv4.tcp_ecn":1}},"server":{"address":"10.0.0.2","sysctls":{"net.ipv4.tcp_ecn":1}}},
             "links":[{"between":["client","server"],"delay":"5ms"}],
             "steps":[{"at":"0ms","host":"server","call":"listen","port":80,"as":"l"},{"at":"1ms","host":"client","call":"connect","to":"server:80","as":"c"},
              {"at":"1ms","host":"server","call":"accept","socket":"l","as":"s"},{"at":"100ms","host":"client","call":"close","socket":"c"}],
             "expect":{"packets":[{"from":"client","to":"server","flags":"S","at":"1ms"},{"from":"server","to":"client","flags":"S.","at":"6ms"},
              {"from":"client","to":"server","flags":"F.","at":"100ms"},{"from":"client","to":"server","flags":"R"}]}}
            """;

        var result = RunnerAssert.Run(json);

        Assert.Equal("no matching segment; no segment has these flags and hosts; this one differs only by ECN's E/W (E ECE, W CWR): "
            + "1ms client:54660 > server:80 SEW seq=0 ack=0 win=64240 len=0 <mss 1460,sackOK,TS val 2359046878 ecr 0,wscale 10>",
            RunnerAssert.Check(result, "$.expect.packets[0]").Actual);
        Assert.Equal("no matching segment; no segment has these flags and hosts; this one differs only by ECN's E/W (E ECE, W CWR): "
            + "6ms server:80 > client:54660 S.E seq=0 ack=1 win=65160 len=0 <mss 1460,sackOK,TS val 1292659645 ecr 2359046878,wscale 10>",
            RunnerAssert.Check(result, "$.expect.packets[1]").Actual);
        Assert.True(RunnerAssert.Check(result, "$.expect.packets[2]").Passed);
        Assert.Equal("no matching segment after 100ms; no segment has these flags and hosts", RunnerAssert.Check(result, "$.expect.packets[3]").Actual);
    }
}
