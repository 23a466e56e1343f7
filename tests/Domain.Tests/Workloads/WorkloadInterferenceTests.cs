using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Scenarios;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Workloads;

/// <summary>
/// A workload's processes ("wN", "wN-srv") and an adopted listener's owner are ordinary processes a scenario or a call may
/// reach: a limit on them, a kill of them, a close of their socket. Each threw "workload call refused" out of the engine
/// (a 500 through the API, exit 134 from the tool); now the workload meets what a program would — EMFILE from socket(),
/// EBADF from a call on a descriptor that went — and the connection ends on it.
/// </summary>
public class WorkloadInterferenceTests
{
    const string Hosts = """
        "hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},"links":[{"between":["client","server"],"delay":"1ms"}]
        """;

    static Workload RunScenario(string steps)
    {
        var outcome = ScenarioRunner.Run($$"""{"name":"w",{{Hosts}},"steps":[{{steps}}],"runUntil":"10s"}""");
        Assert.Empty(outcome.ParseErrors);
        Assert.Empty(outcome.Result!.Errors);
        return outcome.Result.Simulation.FindWorkload(1)!;
    }

    /// <summary>The 50 connections of <paramref name="steps"/>' workload all end: those before the interference connected, the rest refused.</summary>
    static void AssertCompletesRefusingTheRest(string steps, long connected, long refused)
    {
        var w = RunScenario(steps);
        var r = w.Result();

        Assert.True(w.Done);
        Assert.Equal(new Dictionary<string, long> { ["0"] = connected, [Errno.ECONNREFUSED] = refused }, r.ConnectResults);
        Assert.Equal((50L, 50L, 0L), (r.Started, r.Finished, r.Unfinished));
    }

    static WorkloadSpec Spec(long count, double rate, SimDuration think, bool options = false) => new()
    {
        Clients = ["client"], Server = "server", Port = 80, Count = count, Rate = rate, RequestBytes = 100, ResponseBytes = 200,
        CloseFirst = CloseFirst.Client, ThinkTime = think, KeepAlive = options,
    };

    static Simulation TwoHosts(params SimCommand[] more) => TwoHosts(EngineRules.Current, more);

    static Simulation TwoHosts(int rules, params SimCommand[] more)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 11) { EngineRules = rules };
        foreach (var c in new SimCommand[]
        {
            new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []), new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
            new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0),
        }.Concat(more)) Assert.True(CommandApplier.Apply(sim, c).IsOk);
        return sim;
    }

    /// <summary>
    /// Through the API alone: a workload stopped by its event budget stays live; its server process killed between
    /// commands, every later advance threw at the workload's next call (a 500 each time, the stored simulation stuck for
    /// good). Time now goes on; under rules 3 the server's recv() the kill interrupted returns EINTR to its connection, which
    /// ends, so the workload finishes (under rules 2 those connections stay open until the drain limit).
    /// </summary>
    [Theory]
    [InlineData(EngineRules.AcceptHoldsItsFd, 0L, true)]
    [InlineData(EngineRules.WokenAfterSoftirq, 3L, false)] // stored under rules 2: the three interrupted recv()s never return to their connections
    public void TruncatedWorkload_ServerProcessKilledBetweenCommands_LaterAdvancesRunItToItsEnd(int rules, long unfinished, bool done)
    {
        var sim = TwoHosts(rules);
        var truncated = CommandApplier.Apply(sim, new WorkloadCommand(Spec(1000, 1000, SimDuration.FromMilliseconds(10)), EventBudget: 3000)).Workload!;

        var killed = CommandApplier.Apply(sim, new KillCommand("server", "w1-srv", "SIGKILL"));
        var advanced = CommandApplier.Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(5), long.MaxValue));
        var w = sim.FindWorkload(1)!;

        Assert.True(truncated.Truncated);
        Assert.True(killed.IsOk);
        Assert.True(advanced.IsOk, advanced.Error?.Message);
        Assert.Equal((1000L, 1000L, unfinished, done), (w.Result().Started, w.Result().Finished, w.Result().Unfinished, w.Done));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClientProcessAtItsNoFileLimit_TheThirdConnectOnIsEmfileAndTheWorkloadCompletes(bool options)
    {
        // RLIMIT_NOFILE 5 on "w1" leaves fds 3 and 4: connections 1 and 2 (0 and 1 ms) hold them through the server's
        // 100 ms think; 3 to 10 (2–9 ms) find no descriptor — connect()'s own socket(), or the socket() before the options.
        var sim = TwoHosts(new SocketCallCommand(new SocketCallRequest("client", "w1", SocketCallKind.Setrlimit) { RlimCur = 5, RlimMax = 5 }));

        var r = CommandApplier.Apply(sim, new WorkloadCommand(Spec(10, 1000, SimDuration.FromMilliseconds(100), options))).Workload!;

        Assert.Equal(new Dictionary<string, long> { ["0"] = 2, [Errno.EMFILE] = 8 }, r.ConnectResults);
        Assert.Equal((true, 10L, 10L, 0L), (r.Completed, r.Started, r.Finished, r.Unfinished));
    }

    [Fact]
    public void ServerProcessKilledMidWorkload_ItsConnectionsEndAndTheLaterConnectsAreRefused()
    {
        // Arrivals every 10 ms, the server thinking 1 s: at 200 ms the kill closes the listener and the 20 accepted
        // connections (the one arriving at 200 ms runs after it). Each server side's think ends in a send() on a closed
        // descriptor (EBADF), and its close() too; the clients read EOF and close; the 30 later connects meet no listener.
        AssertCompletesRefusingTheRest("""
            {"at":"0ms","workload":{"clients":["client"],"server":"server","port":80,"rate":100,"count":50,"thinkTime":"1s","level":"counters"}},
            {"at":"200ms","kill":{"host":"server","process":"w1-srv","signal":"SIGKILL"}}
            """, connected: 20, refused: 30);
    }

    /// <summary>
    /// close() of the listener while the workload's accept() sleeps on it only drops the descriptor: the sleeping call holds
    /// the file (fdget()), so the listener lives on and accepts connection 21 (SYN at 201 ms); the next accept() finds no
    /// descriptor (EBADF), the last reference goes and the listener closes — the later 29 connects are refused.
    /// </summary>
    [Fact]
    public void AdoptedListenerClosedByItsOwner_AcceptStopsAndTheLaterConnectsAreRefused()
    {
        AssertCompletesRefusingTheRest("""
            {"at":"0ms","host":"server","process":"srv","call":"listen","port":80,"as":"l"},
            {"at":"0ms","workload":{"clients":["client"],"server":"server","port":80,"rate":100,"count":50,"thinkTime":"1s","level":"counters"}},
            {"at":"200ms","host":"server","process":"srv","call":"close","socket":"l"}
            """, connected: 21, refused: 29);
    }

    [Fact]
    public void AdoptedListenersOwnerKilled_ItsAcceptedConnectionsEndToo()
    {
        AssertCompletesRefusingTheRest("""
            {"at":"0ms","host":"server","process":"srv","call":"listen","port":80,"as":"l"},
            {"at":"0ms","workload":{"clients":["client"],"server":"server","port":80,"rate":100,"count":50,"thinkTime":"1s","level":"counters"}},
            {"at":"200ms","kill":{"host":"server","process":"srv","signal":"SIGKILL"}}
            """, connected: 20, refused: 30);
    }

    /// <summary>
    /// A workload on the owner's listener ends its accept() when it ends (EINTR): nothing of it stays pending, and the
    /// owner's own accept() of a later connection returns it. The workload's accept slept on and took that connection,
    /// leaving the owner's accept() asleep (tester37b MEDIUM-3).
    /// </summary>
    [Theory]
    [InlineData("counters")]
    [InlineData("full")]
    public void WorkloadOnAnAdoptedListener_LeavesNoAcceptBehind_TheOwnersNextAcceptTakesItsConnection(string level)
    {
        var sim = OwnersAcceptAfterAWorkload(level, rules: null);
        Assert.Equal(EngineRules.WorkloadAcceptEndsWithIt, sim.EngineRules);
        Assert.True(sim.FindWorkload(1)!.Done);
        Assert.Empty(sim.PendingCalls);
    }

    /// <summary>
    /// The same story stored under engine rules 3 (made before session 38; an export's <c>"engineRules": 3</c>, a stored
    /// row's rules) rebuilds as it was recorded: the workload's accept() sleeps on after it and takes the owner's connection,
    /// the owner's accept() stays asleep. The journal is the one main's engine before the fix recorded (Workload.cs at
    /// e84792f), byte for byte (Recorded/adopted-listener-accept-rules-3.txt).
    /// </summary>
    [Fact]
    public void WorkloadOnAnAdoptedListener_StoredUnderRules3_RebuildsItsRecordedJournal()
    {
        var sim = OwnersAcceptAfterAWorkload("full", EngineRules.AcceptHoldsItsFd);
        var recorded = Path.Combine(ExampleScenarios.RepoRoot, "tests", "Domain.Tests", "Workloads", "Recorded", "adopted-listener-accept-rules-3.txt");

        Assert.Equal(File.ReadAllText(recorded), JournalLines(sim));
        var asleep = Assert.Single(sim.PendingCalls);
        Assert.Equal((SocketCallKind.Accept, "srv"), (asleep.Kind, asleep.Process.Name));
    }

    static Simulation OwnersAcceptAfterAWorkload(string level, int? rules)
    {
        var outcome = ScenarioRunner.Run($$$"""
            {"name":"w",{{{Hosts}}},"steps":[
              {"at":"0ms","host":"server","process":"srv","call":"listen","port":80,"as":"l"},
              {"at":"0ms","workload":{"clients":["client"],"server":"server","port":80,"rate":1000,"count":5,"level":"{{{level}}}"}},
              {"at":"1s","host":"client","process":"app","call":"connect","to":"server:80","as":"c","expect":{"result":0}},
              {"at":"1100ms","host":"server","process":"srv","call":"accept","socket":"l","as":"a"}
            ],"runUntil":"2s"{{{(rules is { } r ? $",\"engineRules\":{r}" : "")}}}}
            """);
        Assert.Empty(outcome.ParseErrors);
        Assert.Empty(outcome.Result!.Errors);
        return outcome.Result.Simulation;
    }

    /// <summary>
    /// A workload on an adopted listener at level counters or states gives the journal back its level when it ends, under
    /// every rules version (review38b M-1: under 3 and older the rules gate returned before the level was restored, and
    /// every later event of a stored log went unrecorded).
    /// </summary>
    [Theory]
    [InlineData("counters", 3)]
    [InlineData("states", 3)]
    [InlineData("counters", 4)]
    public void WorkloadOnAnAdoptedListener_EndsWithTheJournalAtItsLevelAgain_UnderEveryRulesVersion(string level, int rules)
    {
        var outcome = ScenarioRunner.Run($$$"""
            {"name":"w","hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},"links":[{"between":["client","server"],"delay":"1ms"}],"steps":[
              {"at":"0ms","host":"server","process":"srv","call":"listen","port":80,"as":"l"},
              {"at":"0ms","workload":{"clients":["client"],"server":"server","port":80,"rate":1000,"count":5,"level":"{{{level}}}"}},
              {"at":"1s","host":"client","process":"app","call":"connect","to":"server:80","as":"c","expect":{"result":0}},
              {"at":"1100ms","host":"server","process":"srv","call":"accept","socket":"l","as":"a"}
            ],"runUntil":"2s","engineRules":{{{rules}}}}
            """);

        Assert.Empty(outcome.ParseErrors);
        var sim = outcome.Result!.Simulation;
        Assert.True(sim.FindWorkload(1)!.Done);
        Assert.Equal(JournalLevel.Full, sim.JournalFloor);
        Assert.Contains(sim.Journal, e => e.At.Ns >= 1_000_000_000);
    }

    static string JournalLines(Simulation sim) =>
        string.Concat(sim.Journal.Select(e => $"{e.At} #{e.Seq} {JournalText.Describe(e)}\n"));
}
