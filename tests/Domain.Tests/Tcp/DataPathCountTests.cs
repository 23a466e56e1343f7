using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// <see cref="Host.SocketsWithDataPath"/> is kept as sockets are allocated and freed and as a data path is made (the API's
/// memory estimate reads it after every command): it must equal a walk of the allocated sockets — a freed socket that goes
/// to the free list stops counting, one taken again with the data path it kept counts again at once.
/// </summary>
public class DataPathCountTests
{
    [Fact]
    public void SocketsWithDataPath_AfterFreesPooledReuseAndKills_EqualsAWalkOfTheAllocatedSockets_AndAfterARebuild()
    {
        var spec = new WorkloadSpec { Clients = ["c"], Server = "s", Port = 80, Count = 300, Rate = 2000, Level = JournalLevel.Counters };
        SimCommand[] log =
        [
            new AddHostCommand("c", "10.0.0.1", HostKind.Linux, []),
            new AddHostCommand("s", "10.0.0.2", HostKind.Linux, []),
            new AddLinkCommand("c", "s", SimDuration.FromMilliseconds(1), 0),
            // Connections that move data and close: their sockets go to the free lists, the clients' TIME-WAIT stays.
            new WorkloadCommand(spec with { CloseFirst = CloseFirst.Client }),
            // Bare sockets from the free list: allocated with a data path they never used.
            new SocketCallCommand(new SocketCallRequest("c", "app", SocketCallKind.Socket)),
            new SocketCallCommand(new SocketCallRequest("c", "app", SocketCallKind.Socket)),
            // Clients killed (SIGKILL) one process each, as they close.
            new WorkloadCommand(spec with { Port = 82, Count = 100, CloseStyle = CloseStyle.Kill }),
            // Sockets taken again from the free lists (each keeps its data path) and held, the server thinking.
            new WorkloadCommand(spec with { Port = 81, Count = 200, ThinkTime = SimDuration.FromSeconds(100) }, RunToEnd: false),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromMilliseconds(150), long.MaxValue),
            // The thinking server killed: its sockets reset and freed; the clients' answer the RSTs.
            new KillCommand("s", "w3-srv", "SIGKILL"),
            new KillCommand("c", "app", "SIGKILL"),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), long.MaxValue),
        ];

        var counts = Run(log, rebuilding: false);
        // (client, server) after each command from the first workload on: it leaves 2 and 4 sockets with data paths (TIME-WAIT
        // is not a full socket) and 10 and 5 on the free lists; each socket() takes one back with its data path (3, 4), and
        // the held workload's listener one (5); its connections make the rest; the kills and the run free them all again.
        Assert.Equal("(2, 4) (3, 4) (4, 4) (4, 4) (4, 5) (202, 201) (202, 200) (200, 200) (0, 0)", string.Join(" ", counts));

        // A rebuild from the same commands counts the same, command by command.
        Assert.Equal(counts, Run(log, rebuilding: true));
    }

    /// <summary>Applies the commands; after each, every host's count equals the walk. The counts of each (client, server).</summary>
    static List<(int, int)> Run(SimCommand[] log, bool rebuilding)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 5) { JournalLevel = JournalLevel.Counters, RebuildingStored = rebuilding };
        var counts = new List<(int, int)>();
        foreach (var command in log)
        {
            var outcome = CommandApplier.Apply(sim, command);
            Assert.True(outcome.IsOk, outcome.Error?.Message);
            foreach (var host in sim.Hosts) Assert.Equal(Walk(host), host.SocketsWithDataPath);
            if (command is not (AddHostCommand or AddLinkCommand)) counts.Add((sim.Hosts[0].SocketsWithDataPath, sim.Hosts[1].SocketsWithDataPath));
        }
        Assert.True(sim.Hosts.All(h => h.FreeSocketsHeld > 0));
        return counts;
    }

    static int Walk(Host host) => host.AllSockets.Count(sk => sk.HasDataPath);
}
