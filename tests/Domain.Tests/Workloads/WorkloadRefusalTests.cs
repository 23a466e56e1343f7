using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Workloads;

/// <summary>
/// A refused workload changes nothing: every refusal of the workload command leaves hosts, sockets, socket numbering,
/// the journal floor, the queue and the journal as they were, so the simulation goes on exactly as the log without the
/// refused command (which is never logged) rebuilds it.
/// </summary>
public class WorkloadRefusalTests
{
    const long Seed = 7;

    /// <summary>client, server, a scripted peer, 1 ms links; "app" listens on server:80 and makes socket 2; "taken" holds w2-c2's address.</summary>
    static readonly SimCommand[] Setup =
    [
        new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
        new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
        new AddHostCommand("peer", "10.0.0.3", HostKind.Scripted, []),
        new AddHostCommand("taken", "100.68.0.2", HostKind.Linux, []),
        new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0),
        new SocketCallCommand(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 }),
        new SocketCallCommand(new SocketCallRequest("server", "app", SocketCallKind.Socket)),
    ];

    static WorkloadSpec First(JournalLevel level) => new()
    {
        Clients = ["client"], Server = "server", Port = 81, Rate = 1000, Count = 10, Level = level,
    };

    /// <summary>Every way the workload command refuses once a first workload (id 1) ran on port 81, and the field it names.</summary>
    public static TheoryData<string, JournalLevel> Refusals()
    {
        var data = new TheoryData<string, JournalLevel>();
        foreach (var level in new[] { JournalLevel.Full, JournalLevel.Counters })
            foreach (var name in Refused.Keys) data.Add(name, level);
        return data;
    }

    static readonly Dictionary<string, (Func<WorkloadSpec, WorkloadSpec> Change, string Field)> Refused = new()
    {
        ["invalid spec"] = (s => s with { Rate = 0 }, "rate"),
        ["unknown server"] = (s => s with { Server = "nowhere" }, "server"),
        ["scripted server"] = (s => s with { Server = "peer" }, "server"),
        ["unknown client"] = (s => s with { Clients = ["client", "nowhere"] }, "clients[1]"),
        ["scripted client"] = (s => s with { Clients = ["peer"] }, "clients[0]"),
        ["client is the server"] = (s => s with { Clients = ["server"] }, "clients[0]"),
        ["generated client taken"] = (s => s with { Clients = [], GeneratedClients = 3, Port = 82 }, "generatedClients"),
        // The first workload's accepted children hold port 81 (TIME-WAIT): bind() without SO_REUSEADDR fails.
        ["port in use"] = (s => s, "port"),
        ["port in use, generated clients"] = (s => s with { Clients = [], GeneratedClients = 1 }, "port"),
    };

    /// <summary>What a refusal must not change, as text.</summary>
    static string State(Simulation sim) =>
        $"now={sim.Now.Ns} events={sim.EventsProcessed} pending={sim.PendingEvents} floor={sim.JournalFloor} journal={sim.Journal.Count} "
        + $"workloads={sim.Workloads.Count} links={sim.Links.Count} hosts=" + string.Join(",", sim.Hosts.Select(h =>
            $"{h.Name}[{string.Join(" ", h.AllSockets.Select(s => $"{s.Id}:{s.Owner?.Name}:{s.State}"))}]"));

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Workload_Refused_ChangesNothingAndTheSimulationGoesOnAsItsLogRebuildsIt(string refusal, JournalLevel level)
    {
        var live = new Simulation(KernelProfile.Linux6, Seed) { JournalLevel = JournalLevel.Full };
        var log = new List<SimCommand>(Setup) { new WorkloadCommand(First(level)) };
        foreach (var c in log) Assert.True(CommandApplier.Apply(live, c).IsOk);
        var before = State(live);

        var (change, field) = Refused[refusal];
        var refused = CommandApplier.Apply(live, new WorkloadCommand(change(First(level))));

        Assert.False(refused.IsOk);
        Assert.Equal(field, refused.Error!.Field);
        Assert.Equal(before, State(live));
        // Later commands: the next socket is numbered as if the refused command never came, and journals at the sink's level.
        SimCommand[] later =
        [
            new SocketCallCommand(new SocketCallRequest("server", "app", SocketCallKind.Socket)),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), 1_000_000),
        ];
        var socket = CommandApplier.Apply(live, later[0]);
        Assert.Equal(24, socket.Call!.Value.SocketId);
        int journalBefore = live.Journal.Count;
        Assert.True(CommandApplier.Apply(live, later[1]).IsOk);
        Assert.True(live.Journal.Count > journalBefore); // the floor went back: the advance's timers and segments are journaled
        var rebuilt = CommandApplier.Replay(KernelProfile.Linux6, Seed, [.. log, .. later]);
        Assert.Equal(rebuilt.Journal, live.Journal);
        Assert.Equal(State(rebuilt), State(live));
    }
}
