using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Features.Simulations;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Commands;
using SimService.Persistence;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Tests.Features;

/// <summary>
/// Engine rules versioned per simulation (<see cref="EngineRules"/>): a new simulation runs each call's same-instant events
/// (a loopback segment) before it answers, as the kernel's softirq does inside the system call; a simulation stored before
/// (the checked-in fixture, made through the API by main's code) rebuilds, replays and goes on under the rules it was made with.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class EngineRulesApiTests(ApiHosts hosts)
{
    /// <summary>
    /// A call's own instant runs within the request's limit (<c>Limits:InstantEventsPerRequest</c>, by default an advance
    /// request's most, 100,000; before session 26 only the rule's 10,000,000): past it the call is a 422 work-limit and
    /// nothing of it is applied — no version, no journal event, the bytes never sent (the engine is rebuilt from the log,
    /// not left part-way through the instant). Under a limit the instant fits, the same send is taken and read at once.
    /// </summary>
    [Fact]
    public async Task CallWhoseInstantPassesTheRequestsLimit_422AndNothingApplied()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        foreach (var (limit, refused) in new[] { ("1", true), ("100", false) })
        {
            await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:InstantEventsPerRequest"] = limit });
            var sim = await SimulationDriver.CreateAsync(factory.CreateClient());
            await sim.PostOkAsync("hosts", new { name = "a", address = "10.0.0.1" }, HttpStatusCode.Created);
            var opened = await sim.PostOkAsync("connections", new { client = "a", server = "a", port = 80 }, HttpStatusCode.Created);
            int client = opened.GetProperty("clientSocketId").GetInt32(), server = opened.GetProperty("serverSocketId").GetInt32();
            var (version, journal) = (await sim.VersionAsync(), await sim.JournalAsync());

            var send = await sim.PostAsync($"sockets/{client}/send", new { bytes = 10 });

            if (refused)
            {
                var problem = await send.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
                Assert.Equal(ProblemTypes.WorkLimit, problem.GetProperty("type").GetString());
                Assert.StartsWith("The command's own instant would process more than 1 events (the most one request may); nothing was applied.",
                    problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                Assert.Equal(version, await sim.VersionAsync());
                Assert.Equal(journal, await sim.JournalAsync());
            }
            else Assert.Equal(HttpStatusCode.OK, send.StatusCode);
            var recv = await sim.CallAsync(server, "recv", new { bytes = 100, flags = new[] { "MSG_DONTWAIT" } });
            Assert.Equal(refused ? ((long?)null, "EAGAIN") : (10L, (string?)null), (recv.Result, recv.Errno));
        }
    }

    /// <summary>
    /// The tester's story on one host `a`: a connection to itself, send 10, recv MSG_DONTWAIT on the accepted socket. Linux
    /// 6.18.44 returns the 10 bytes (the API answered EAGAIN before); a blocking connect to the lo listener returns 0 within
    /// the call (it was "pending"); a non-blocking one EINPROGRESS, its socket ESTABLISHED right after; close() leaves the
    /// peer CLOSE-WAIT at once.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task NewSimulation_LoopbackSegmentsAreProcessedWithinTheCall(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(provider));
        await sim.PostOkAsync("hosts", new { name = "a", address = "10.0.0.1" }, HttpStatusCode.Created);
        var opened = await sim.PostOkAsync("connections", new { client = "a", server = "a", port = 80 }, HttpStatusCode.Created);
        int client = opened.GetProperty("clientSocketId").GetInt32(), server = opened.GetProperty("serverSocketId").GetInt32();

        var send = await sim.CallAsync(client, "send", new { bytes = 10 });
        var recv = await sim.CallAsync(server, "recv", new { bytes = 100, flags = new[] { "MSG_DONTWAIT" } });
        var connect = await sim.OnHostAsync("a", "connect", new { to = "127.0.0.1:80" });
        var nonBlocking = await sim.OnHostAsync("a", "sockets");
        await sim.CallAsync(nonBlocking.SocketId, "fcntl", new { nonblock = true });
        var inProgress = await sim.CallAsync(nonBlocking.SocketId, "connect", new { to = "127.0.0.1:80" });
        await sim.CallAsync(client, "close");

        Assert.Equal(EngineRules.Current, (await sim.GetAsync()).EngineRules);
        Assert.Equal((10L, 10L, (string?)null), (send.Result, recv.Result, recv.Errno));
        Assert.Equal(("returned", 0L), (connect.Status, connect.Result));
        Assert.Equal(("returned", "EINPROGRESS"), (inProgress.Status, inProgress.Errno));
        Assert.Equal("ESTABLISHED", (await sim.SocketAsync(connect.SocketId)).State);
        Assert.Equal("ESTABLISHED", (await sim.SocketAsync(nonBlocking.SocketId)).State);
        Assert.Equal("CLOSE-WAIT", (await sim.SocketAsync(server)).State);
        Assert.Equal(0, (await sim.ClockAsync()).NowNs);
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>
    /// A simulation stored before engine rules were versioned (the fixture: its row, command log and journal as main's code
    /// at 520e531 stored them, with the API's answers then) is a row the migration gave rules 0: it replays identically (its
    /// woken calls as recorded), its
    /// calls read as they were answered (recv EAGAIN; the connect pending, so socket() made socket 5 and accept returned 6),
    /// and a command appended now still follows its rules. Under the current rules the same log would make other sockets.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task SimulationStoredBeforeTheRules_RebuildsAndGoesOnAsRecorded(DatabaseProvider provider)
    {
        var fixture = StoredFixture.Read();
        var id = await fixture.InsertAsync(hosts.Services(provider));
        var sim = new SimulationDriver(hosts.Client(provider), id);

        var replay = await sim.ReplayAsync();
        var recv = await sim.GetJsonAsync("calls/5");
        var connect = await sim.GetJsonAsync("calls/6");
        var socket = await sim.GetJsonAsync("calls/7");
        var accept = await sim.GetJsonAsync("calls/8");
        // The second connection: socket 4 connected to the listener, accepted as socket 6.
        var send = await sim.CallAsync(6, "send", new { bytes = 10 });
        var echo = await sim.CallAsync(4, "recv", new { bytes = 100, flags = new[] { "MSG_DONTWAIT" } });

        Assert.Equal(EngineRules.Original, (await sim.GetAsync()).EngineRules);
        // Its woken connect() and accept() return inside the softirq that woke them, as recorded (the woken calls are
        // versioned with the rules: session 26's D56 applied to every rebuild made this replay differ at seq 15).
        Assert.True(replay.Identical);
        Assert.Equal(((long)fixture.Commands.Count, (long)fixture.Journal.Count), (replay.Commands, replay.StoredEvents));
        Assert.Equal(fixture.Answer("POST sockets/3/recv 100 MSG_DONTWAIT").GetProperty("errno").GetString(), recv.GetProperty("errno").GetString());
        Assert.Equal("EAGAIN", recv.GetProperty("errno").GetString());
        Assert.Equal((5, 6), (socket.GetProperty("socketId").GetInt32(), accept.GetProperty("socketId").GetInt32()));
        Assert.Equal(fixture.Answer("POST sockets/1/accept").GetProperty("socketId").GetInt32(), accept.GetProperty("socketId").GetInt32());
        Assert.Equal(4, connect.GetProperty("socketId").GetInt32());
        Assert.Equal((10L, "EAGAIN"), (send.Result, echo.Errno));
    }

    /// <summary>
    /// The fixture's log under each rules: under 0 its stored journal (its woken connect() and accept() inside the softirq
    /// that woke them, as recorded); under 1 and 2 other socket ids.
    /// </summary>
    [Fact]
    public void StoredFixture_RebuiltUnderEachRules_OnlyItsOwnGivesItsJournal()
    {
        var fixture = StoredFixture.Read();

        var original = SimulationReplay.Rebuild(fixture.Run(EngineRules.Original), fixture.Commands);
        var sameInstant = SimulationReplay.Rebuild(fixture.Run(EngineRules.SameInstant), fixture.Commands);
        var wokenAfter = SimulationReplay.Rebuild(fixture.Run(EngineRules.WokenAfterSoftirq), fixture.Commands);

        Assert.Null(Replay.FirstDifference(fixture.Journal, original.Journal));
        Assert.NotNull(Replay.FirstDifference(fixture.Journal, sameInstant.Journal));
        Assert.Equal((5, 6), (original.FindCall(7)!.SocketId, original.FindCall(8)!.SocketId));
        Assert.Equal((6, 5), (sameInstant.FindCall(7)!.SocketId, sameInstant.FindCall(8)!.SocketId));
        Assert.NotNull(Replay.FirstDifference(fixture.Journal, wokenAfter.Journal));
        Assert.Equal((6, 5), (wokenAfter.FindCall(7)!.SocketId, wokenAfter.FindCall(8)!.SocketId));
    }

    /// <summary>
    /// A simulation stored by session 25's release under engine rules 1 (the fixture: main's code at dc1e4a9, before D56)
    /// with a poll(), an accept() and a connect() woken inside a loopback segment's softirq: it replays identically, its
    /// calls read as they were answered. Rebuilt under rules 2 (D56 applied to it, as session 26 did) the woken connect()
    /// of the "connections" command returns after the ACK due at its instant: the replay would differ at seq 14.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task SimulationStoredUnderRulesOne_WokenCallsAsRecorded_ReplaysIdentically(DatabaseProvider provider)
    {
        var fixture = StoredFixture.Read(StoredFixture.UnderRulesOne);
        var id = await fixture.InsertAsync(hosts.Services(provider));
        var sim = new SimulationDriver(hosts.Client(provider), id);

        var replay = await sim.ReplayAsync();
        var poll = await sim.GetJsonAsync("calls/4");
        var accept = await sim.GetJsonAsync("calls/7");
        var connect = await sim.GetJsonAsync("calls/8");
        var withD56 = SimulationReplay.Rebuild(fixture.Run(EngineRules.WokenAfterSoftirq), fixture.Commands);

        Assert.Equal(EngineRules.SameInstant, (await sim.GetAsync()).EngineRules);
        Assert.True(replay.Identical);
        Assert.Equal((10L, 62L), (replay.Commands, replay.StoredEvents));
        Assert.Equal(("returned", 1L, "POLLIN"), (poll.GetProperty("status").GetString(), poll.GetProperty("result").GetInt64(), poll.GetProperty("value").GetString()));
        Assert.Equal(("returned", 7L), (accept.GetProperty("status").GetString(), accept.GetProperty("result").GetInt64()));
        Assert.Equal(fixture.Answer("POST hosts/a/connect 127.0.0.1:80").GetProperty("result").GetInt64(), connect.GetProperty("result").GetInt64());
        Assert.Equal(("returned", 0L, 4), (connect.GetProperty("status").GetString(), connect.GetProperty("result").GetInt64(), connect.GetProperty("socketId").GetInt32()));
        var moved = Replay.FirstDifference(fixture.Journal, withD56.Journal)!;
        Assert.Equal((14, "CallReturned", "SegmentDelivered"), (moved.Index, moved.Expected!.GetType().Name, moved.Actual!.GetType().Name));
    }

    /// <summary>
    /// Export carries the rules (<c>engineRules</c>) and a run of the document (the import) makes a simulation under them:
    /// a new simulation's export says 2; a document that says 0 makes a simulation whose loopback recv is EAGAIN again.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task ExportAndRun_CarryTheEngineRules(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var sim = await SimulationDriver.CreateAsync(client);
        await sim.PostOkAsync("hosts", new { name = "a", address = "10.0.0.1" }, HttpStatusCode.Created);
        await sim.PostOkAsync("connections", new { client = "a", server = "a", port = 80 }, HttpStatusCode.Created);
        var exported = await sim.ExportAsync();

        var imported = await client.RunScenarioAsync(exported);
        var original = await client.RunScenarioAsync(exported.Replace("\"engineRules\": 4", "\"engineRules\": 0", StringComparison.Ordinal));
        var old = new SimulationDriver(client, original.SimulationId);
        await old.CallAsync(2, "send", new { bytes = 10 });
        var recv = await old.CallAsync(3, "recv", new { bytes = 100, flags = new[] { "MSG_DONTWAIT" } });

        Assert.Contains("\"engineRules\": 4", exported);
        Assert.Equal(EngineRules.WorkloadAcceptEndsWithIt, (await new SimulationDriver(client, imported.SimulationId).GetAsync()).EngineRules);
        Assert.Equal(EngineRules.Original, (await old.GetAsync()).EngineRules);
        Assert.Equal("EAGAIN", recv.Errno);
        Assert.True((await old.ReplayAsync()).Identical);
    }

    /// <summary>The fixture file: a simulation stored by main's code before engine rules, with the API's answers then.</summary>
    private sealed record StoredFixture(string Name, string Profile, long Seed, long Version, int EngineRules, IReadOnlyList<CommandRecord> Commands,
        IReadOnlyList<Domain.Journal.SimEvent> Journal, JsonElement Answers)
    {
        private static readonly Guid FixtureId = Guid.Parse("01990000-0000-7000-8000-00000000e125");

        /// <summary>Main's code at 520e531 (session 24's release), before engine rules: its row has rules 0.</summary>
        public const string BeforeEngineRules = "simulation-stored-before-engine-rules.json";

        /// <summary>Main's code at dc1e4a9 (session 25's release), engine rules 1, before D56's woken calls.</summary>
        public const string UnderRulesOne = "simulation-stored-under-engine-rules-1.json";

        public static StoredFixture Read(string file = BeforeEngineRules)
        {
            var path = Path.Combine(ScenarioFiles.RepositoryRoot, "tests", "Api.Tests", "Fixtures", file);
            var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
            var commands = root.GetProperty("commands").EnumerateArray().Select(c => new CommandRecord
            {
                RunId = FixtureId, Seq = c.GetProperty("seq").GetInt64(), AtNs = c.GetProperty("atNs").GetInt64(),
                Type = c.GetProperty("type").GetString()!, PayloadJson = c.GetProperty("payloadJson").GetString()!,
            }).ToList();
            var journal = root.GetProperty("journal").EnumerateArray().Select(e => EventTypeMap.FromRecord(new EventRecord
            {
                RunId = FixtureId, Seq = e.GetProperty("seq").GetInt64(), AtNs = e.GetProperty("atNs").GetInt64(),
                Type = e.GetProperty("type").GetString(), PayloadJson = e.GetProperty("payloadJson").GetString(),
            })).ToList();
            // The fixture stored before engine rules has no engineRules: the migration gave its row 0.
            int rules = root.TryGetProperty("engineRules", out var stored) ? stored.GetInt32() : Domain.Commands.EngineRules.Original;
            return new StoredFixture(root.GetProperty("name").GetString()!, root.GetProperty("profile").GetString()!,
                root.GetProperty("seed").GetInt64(), root.GetProperty("version").GetInt64(), rules, commands, journal, root.GetProperty("answers").Clone());
        }

        /// <summary>Its row under the given rules (as stored: <see cref="EngineRules"/>).</summary>
        public SimulationRun Run(int engineRules, Guid? id = null) => new()
        {
            Id = id ?? FixtureId, Name = Name, Profile = Profile, Seed = Seed, Version = Version, EngineRules = engineRules,
            CreatedAt = DateTimeOffset.UnixEpoch,
        };

        /// <summary>What the API answered to a request of the story (the fixture's "answers").</summary>
        public JsonElement Answer(string request) =>
            Answers.EnumerateArray().Single(a => a.GetProperty("request").GetString() == request).GetProperty("response");

        /// <summary>Stores it under a fresh id as it was stored: the row (its rules), its command log and its journal pages.</summary>
        public async Task<Guid> InsertAsync(IServiceProvider services)
        {
            var id = Guid.CreateVersion7();
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
            var events = JournalPageBuilder.Of(id, Journal, 1024);
            var run = Run(EngineRules, id);
            run.JournalBytes = SimService.Api.Infrastructure.Tenancy.TenantQuotas.Bytes(events);
            db.Simulations.Add(run);
            db.Commands.AddRange(Commands.Select(c => new CommandRecord { RunId = id, Seq = c.Seq, AtNs = c.AtNs, Type = c.Type, PayloadJson = c.PayloadJson }));
            db.Events.AddRange(events);
            await db.SaveChangesAsync();
            return id;
        }
    }
}
