using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Workloads;

/// <summary>
/// What a workload leaves due at its own instant (session 28's question "workloads do not run same-instant events"). A call,
/// kill or inject runs the events due at its instant before it returns (EngineRules.SameInstant). A workload run to its end
/// (the API's command) leaves nothing due either: it runs what is still due at the instant it ended. A workload only
/// started (a scenario's step) leaves its first arrival and first sample due at the step's instant — and the runner runs
/// them before the next step, as it runs every step's instant first, so a check at the step's own time sees the first
/// connect() made. Nothing a user reads differs from "run within the instant".
/// </summary>
public class WorkloadInstantTests
{
    static Simulation World(long delayNs)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 11);
        foreach (var c in new SimCommand[]
                 {
                     new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []), new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
                     new AddLinkCommand("client", "server", new SimDuration(delayNs), 0),
                 })
            Assert.True(CommandApplier.Apply(sim, c).IsOk);
        return sim;
    }

    static readonly WorkloadSpec Three = new()
    {
        Clients = ["client"], Server = "server", Port = 80, Count = 3, Rate = 1000, RequestBytes = 100, ResponseBytes = 200,
    };

    /// <summary>Over a zero-delay link every connection lives and dies inside its start instant; the last ends at 2 ms.</summary>
    [Fact]
    public void RunToEnd_ZeroDelayLink_NothingLeftDueAtTheInstantItEnded()
    {
        var sim = World(0);

        var result = CommandApplier.Apply(sim, new WorkloadCommand(Three)).Workload!;

        Assert.Equal((true, 3L, 2_000_000L, 2_000_000L), (result.Completed, result.Finished, result.EndedAtNs, sim.Now.Ns));
        Assert.True(sim.NextEventTime > sim.Now, $"an event is still due at {sim.Now}");
    }

    /// <summary>Only started: the first arrival and the first sample, both due at the start instant, and nothing else.</summary>
    [Fact]
    public void Started_LeavesItsFirstArrivalAndSampleDueAtItsInstant()
    {
        var sim = World(10_000_000);

        Assert.True(CommandApplier.Apply(sim, new WorkloadCommand(Three, RunToEnd: false)).IsOk);

        Assert.Equal((2, SimTime.Zero), (sim.PendingEvents, sim.NextEventTime));
        Assert.Equal(2, sim.RunUntil(sim.Now, eventBudget: 2).EventsProcessed);
        Assert.Equal(new SimTime(1_000_000), sim.NextEventTime); // the second arrival: the first connect()'s SYN is 10 ms out
    }

    /// <summary>
    /// A scenario's check at the workload step's own time sees what that instant did: the first client socket made and
    /// connecting (sockstat inuse 1), the listener on the server; half a second later that connection is over (the client,
    /// closing first, holds it in TIME-WAIT), and at 2 s the second one is made at its own instant too.
    /// </summary>
    [Fact]
    public void ScenarioStep_CheckAtTheSameInstant_SeesTheFirstConnectMade()
    {
        var outcome = ScenarioRunner.Run("""
            {"name":"workload-instant","hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},
             "links":[{"between":["client","server"],"delay":"10ms"}],
             "steps":[{"at":"1s","workload":{"clients":["client"],"server":"server","rate":1,"count":2}},
                      {"at":"1s","expect":{"sockstat":{"client":{"inuse":1},"server":{"inuse":1}}}},
                      {"at":"1.5s","expect":{"sockstat":{"client":{"inuse":0,"tw":1},"server":{"inuse":1}}}},
                      {"at":"2s","expect":{"sockstat":{"client":{"inuse":1,"tw":1},"server":{"inuse":1}}}}]}
            """);

        Assert.True(outcome.Result!.Passed, string.Join("\n", outcome.Result.FailedChecks.Select(c => c.ToString())));
    }
}
