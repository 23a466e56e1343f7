using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The process's cache of released simulations' sockets (<see cref="SocketCache"/>): a socket another simulation left —
/// in any state, timers armed, data in flight — is a new socket in every field once taken, so a simulation run on cached
/// sockets journals byte for byte what it journals on new ones. In the "heap" collection (run alone, after the parallel
/// tests): the cache is the process's, and no other test must take from it or count its bytes meanwhile.
/// </summary>
[Collection("heap")]
public class SocketCacheTests
{
    [Fact]
    public void Adopt_AfterEveryFieldWasWritten_EqualsANewSocketOfTheNewHostInEveryField()
    {
        var old = new TwoHostHarness();
        var used = old.Sim.FindHost("client")!.NewSocket();
        SocketSlabTests.ScribbleAll(used);
        var host = new TwoHostHarness().Sim.FindHost("server")!;
        used.Adopt(host, 7);

        Assert.Empty(SocketSlabTests.Differences(used, new TcpSocket(host, 7)));
    }

    [Fact]
    public void ScenarioOnSocketsAReleasedSimulationLeft_JournalsByteForByteWhatItJournalsOnNewSockets()
    {
        try
        {
            SocketCache.Clear();
            string fresh = JournalLines(Run(Scenario));

            // A released simulation's sockets in every state: connections mid-transfer with the retransmit, delayed-ACK and
            // keepalive timers armed, SO_LINGER and TCP_LINGER2 set, FIN-WAIT and CLOSE-WAIT ends, listeners.
            var busy = Run(Busy);
            int left = busy.Hosts.Sum(h => h.InUse + h.FreeSocketsHeld);
            busy.Release();
            Assert.True(SocketCache.Count >= left, $"{SocketCache.Count} cached of {left}");

            var reused = Run(Scenario);
            Assert.True(SocketCache.Count < left, "the second run took no cached socket");
            Assert.Equal(fresh, JournalLines(reused));
        }
        finally
        {
            SocketCache.Clear();
        }
    }

    [Fact]
    public void ReleasedSimulation_RefusesToRun()
    {
        try
        {
            var sim = Run(Scenario);
            sim.Release();
            Assert.Throws<InvalidOperationException>(() => sim.RunUntil(sim.Now));
        }
        finally
        {
            SocketCache.Clear();
        }
    }

    [Fact]
    public void Give_KeepsAtMostTheCap()
    {
        long cap = SocketCache.CapBytes;
        try
        {
            SocketCache.Clear();
            SocketCache.CapBytes = 3 * SocketCache.SocketBytes;
            var busy = Run(Busy);
            Assert.True(busy.Hosts.Sum(h => h.InUse) > 3);
            busy.Release();
            Assert.Equal(3, SocketCache.Count);
        }
        finally
        {
            SocketCache.CapBytes = cap;
            SocketCache.Clear();
        }
    }

    /// <summary>
    /// 1,100 connections held, then closed by the client (each client end freed once it reaches TIME-WAIT): the client's
    /// free list keeps 1,024 and the other 76 are the collector's — or, with <see cref="Simulation.KeepFreedSockets"/>, kept
    /// for the release. The release gives the server's 1,100 ends and its listener too.
    /// </summary>
    [Theory]
    [InlineData(false, 1_101 + 1_024)]
    [InlineData(true, 1_101 + 1_100)]
    public void Release_GivesEverySocketTheHostsHold_AndTheFreedOnesOnlyWhenKept(bool keep, int cached)
    {
        try
        {
            SocketCache.Clear();
            var h = new TwoHostHarness(delayMs: 1);
            h.Sim.JournalLevel = JournalLevel.Counters;
            h.Sim.KeepFreedSockets = keep;
            int listener = h.Call(new SocketCallRequest("server", "srv", SocketCallKind.Listen) { Port = 80, Backlog = 2000 }).SocketId;
            var clients = new List<int>();
            for (int i = 0; i < 1_100; i++)
            {
                clients.Add(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId);
                h.Call(new SocketCallRequest("server", "srv", SocketCallKind.Accept) { SocketId = listener });
            }
            h.At(h.Sim.Now + SimDuration.FromMilliseconds(10));
            foreach (int c in clients) h.Call(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = c });
            h.At(h.Sim.Now + SimDuration.FromMilliseconds(10));
            Assert.Equal((0, 1_024, 1_101), (h.Client.InUse, h.Client.FreeSocketsHeld, h.Server.AllSockets.Count));

            h.Sim.Release();
            Assert.Equal(cached, SocketCache.Count);
        }
        finally
        {
            SocketCache.Clear();
        }
    }

    /// <summary>Connections with data both ways, keepalive, a linger close and a FIN-WAIT-2 timeout, run to their end (full journal).</summary>
    const string Scenario = """
        {"name":"cached","hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},"links":[{"between":["client","server"],"delay":"1ms"}],"steps":[
          {"at":"0ms","workload":{"clients":["client"],"server":"server","port":80,"rate":1000,"count":20,"requestBytes":5000,"responseBytes":30000,"thinkTime":"3ms","keepalive":true,"linger2":2,"level":"full"}},
          {"at":"10s","workload":{"clients":["client"],"server":"server","port":81,"rate":500,"count":6,"closeFirst":"server","closeStyle":"linger","lingerSeconds":1,"level":"full"}}
        ],"runUntil":"200s"}
        """;

    /// <summary>A world left mid-run: 40 connections opening, transferring and closing at the instant it stops.</summary>
    const string Busy = """
        {"name":"busy","hosts":{"a":{"address":"10.0.0.1"},"b":{"address":"10.0.0.2"}},"links":[{"between":["a","b"],"delay":"7ms"}],"steps":[
          {"at":"0ms","workload":{"clients":["a"],"server":"b","port":80,"rate":2000,"count":40,"requestBytes":70000,"responseBytes":9000,"thinkTime":"5ms","keepalive":true,"linger2":1,"closeFirst":"both","level":"full"}}
        ],"runUntil":"30ms"}
        """;

    static Simulation Run(string json)
    {
        var outcome = ScenarioRunner.Run(json);
        Assert.Empty(outcome.ParseErrors);
        return outcome.Result!.Simulation;
    }

    static string JournalLines(Simulation sim) =>
        string.Concat(sim.Journal.Select(e => $"{e.At} #{e.Seq} {JournalText.Describe(e)}\n"));
}
