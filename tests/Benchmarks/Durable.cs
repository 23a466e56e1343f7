using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure.Engines;
using SimService.Persistence;
using SimService.Persistence.Serialization;
using SimService.Persistence.Sqlite;

namespace SimService.Benchmarks;

/// <summary>W4: durable commands through the real API process on SQLite.</summary>
static class Durable
{
    const int Clients = 16;
    const int SimulationsPerClient = 4;

    static string F(double v) => v.ToString("F0", CultureInfo.InvariantCulture);
    static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>
    /// W4: 16 concurrent clients on loopback, each with its own 4 simulations (64 in all, each an established
    /// connection), issue <paramref name="commands"/> durable commands in all, alternating send(100 bytes) on the
    /// client socket and advance(1 ms), each client one request at a time. A command counts when its response
    /// (after the commit) arrived. Then every simulation's version is checked against the commands acknowledged.
    /// </summary>
    public static async Task<string> W4(long commands)
    {
        var dir = Directory.CreateTempSubdirectory("simbench-w4-");
        try
        {
            await using var server = await ApiServer.StartAsync(Path.Combine(dir.FullName, "w4.db"), Settings());
            var sims = new (Guid Id, int Socket, long Version)[Clients * SimulationsPerClient];
            using (var setup = server.Client())
                for (int i = 0; i < sims.Length; i++) sims[i] = await EstablishedAsync(setup, i);

            await RunClientsAsync(server, sims, Math.Max(Clients, commands / 10)); // warm-up: JIT, pools, caches
            double commits0 = await server.MetricAsync("simservice_log_commits_total");
            double workItems0 = await server.MetricAsync("dotnet_thread_pool_work_item_count_total");
            var runtime0 = await RuntimeCountersAsync(server);
            long switches0 = server.ContextSwitches;
            var m = new Measure();
            double serverCpu0 = server.CpuSeconds;
            var latencies = await RunClientsAsync(server, sims, commands);
            double wall = m.WallSeconds, cpu = m.CpuSeconds, serverCpu = server.CpuSeconds - serverCpu0;
            long switches = server.ContextSwitches - switches0;
            double commits = await server.MetricAsync("simservice_log_commits_total") - commits0;
            double workItems = await server.MetricAsync("dotnet_thread_pool_work_item_count_total") - workItems0;
            var runtime = await RuntimeCountersAsync(server);
            double perCmd(double after, double before) => (after - before) / latencies.Length;

            using var check = server.Client();
            long lost = 0;
            foreach (var (id, _, version) in sims)
            {
                var run = await check.GetFromJson($"/api/v1/simulations/{id}");
                lost += version - run["version"]!.GetValue<long>();
            }
            Array.Sort(latencies);
            return $"W4 clients={Clients} simulations={sims.Length} commands={latencies.Length} wall_s={F2(wall)} " +
                $"cmds_per_s={F(latencies.Length / wall)} p50_ms={F2(Percentile(latencies, 0.50))} p99_ms={F2(Percentile(latencies, 0.99))} " +
                $"server_cpu_us_per_cmd={F(serverCpu * 1e6 / latencies.Length)} client_cpu_us_per_cmd={F(cpu * 1e6 / latencies.Length)} " +
                $"cmds_per_commit={F2(latencies.Length / Math.Max(1, commits))} server_switches_per_cmd={F2(switches / (double)latencies.Length)} " +
                $"server_pool_items_per_cmd={F2(workItems / latencies.Length)} server_alloc_kb_per_cmd={F2(perCmd(runtime.Allocated, runtime0.Allocated) / 1024)} " +
                $"server_gcs_per_kcmd={F2(perCmd(runtime.Collections, runtime0.Collections) * 1000)} server_gc_pause_us_per_cmd={F2(perCmd(runtime.Pause, runtime0.Pause) * 1e6)} " +
                $"client={(HttpClientWanted ? "http" : "lean")} versions_mismatched={lost} server_error_lines={server.Errors.Count} load={Load()}";
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The server runtime's counters (meter System.Runtime): bytes allocated, collections of every generation, GC pause seconds.</summary>
    static async Task<(double Allocated, double Collections, double Pause)> RuntimeCountersAsync(ApiServer server) => (
        await server.MetricAsync("dotnet_gc_heap_total_allocated_bytes_total"),
        await server.MetricSumAsync("dotnet_gc_collections_total"),
        await server.MetricAsync("dotnet_gc_pause_time_seconds_total"));

    /// <summary>
    /// W3: W1's churn (32 clients with tcp_tw_reuse=1 → 1 server, 5,000 new connections per virtual second, 1 KB
    /// request and response, client closes first) for <paramref name="connections"/> connections at journal level
    /// full, through the API onto SQLite. One request may add at most 20,000 journal events
    /// (<c>CommandBatch.MaxJournalEvents</c>), so the workload is posted in chunks of <c>chunk</c> connections, one
    /// after another on the same simulation (each on its own server port: a workload listens itself). Reports journal events persisted per second of wall time (the requests'
    /// whole time: engine, serialization, commit) and per CPU-second of the server process (what a shared machine cannot blur),
    /// and bytes per event of the database file (WAL checkpointed).
    /// </summary>
    public static async Task<string> W3(long connections, int chunk = 250)
    {
        var dir = Directory.CreateTempSubdirectory("simbench-w3-");
        try
        {
            var db = Path.Combine(dir.FullName, "w3.db");
            await using var server = await ApiServer.StartAsync(db, Unbounded());
            using var client = server.Client();
            var id = await ApiServer.CreateSimulationAsync(client, "w3");
            await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/commands", "{\"commands\":[" + string.Join(',', ChurnSetup()) + "]}");
            long events = 0, done = 0;
            var m = new Measure();
            double serverCpu0 = server.CpuSeconds;
            while (done < connections)
            {
                long n = Math.Min(chunk, connections - done);
                var body = $$"""
                    {"clients":[{{ChurnClients()}}],"server":"server","port":{{1000 + done / chunk}},"rate":5000,"count":{{n}},
                     "requestBytes":1024,"responseBytes":1024,"closeFirst":"Client","closeStyle":"Close","level":"Full"}
                    """;
                long t0 = Stopwatch.GetTimestamp();
                var r = await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/workloads", body);
                events += r["journalEvents"]!.GetValue<int>();
                if (Environment.GetEnvironmentVariable("SIMBENCH_VERBOSE") is not null)
                    Console.Error.WriteLine($"chunk {done / chunk}: {r["journalEvents"]} events, {Stopwatch.GetElapsedTime(t0).TotalSeconds:F2} s, engine {r["wallMs"]} ms");
                done += n;
            }
            double wall = m.WallSeconds, serverCpu = server.CpuSeconds - serverCpu0;
            await server.DisposeAsync(); // a graceful stop checkpoints the WAL into the database file
            long bytes = new FileInfo(db).Length + (File.Exists(db + "-wal") ? new FileInfo(db + "-wal").Length : 0);
            return $"W3 connections={connections} chunk={chunk} events={events} wall_s={F2(wall)} events_per_s={F(events / wall)} " +
                $"server_cpu_s={F2(serverCpu)} events_per_server_cpu_s={F(events / serverCpu)} bytes_per_event={F(bytes / (double)Math.Max(1, events))} db_mb={F2(bytes / 1048576.0)} load={Load()}";
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// W5: a simulation of <paramref name="commands"/> commands (an established connection, then batches of 1,000:
    /// send(100) on the client, recv(100) on the server, advance(1 ms), repeated), then the API restarted: the
    /// first request after the restart rebuilds the simulation from its log (seconds of wall time, and the CPU seconds the
    /// server spent meanwhile: on a shared machine the wall time mostly says how busy it was). Before that, issue #11's
    /// growing batches: five batches of 1,000 connect() on one fresh simulation, each batch's wall time.
    /// </summary>
    public static async Task<string> W5(long commands)
    {
        var dir = Directory.CreateTempSubdirectory("simbench-w5-");
        try
        {
            var db = Path.Combine(dir.FullName, "w5.db");
            Guid id;
            var batches = new List<double>();
            double fillSeconds;
            await using (var server = await ApiServer.StartAsync(db, Settings()))
            {
                using var client = server.Client();
                var growing = await ApiServer.CreateSimulationAsync(client, "w5-growing");
                await ApiServer.PostAsync(client, $"/api/v1/simulations/{growing}/commands", """
                    {"commands":[{"type":"add-host","name":"client","address":"10.0.0.1"},{"type":"add-host","name":"server","address":"10.0.0.2"},
                    {"type":"add-link","between":["client","server"],"delayNs":10000000},{"type":"call","call":"listen","host":"server","port":80,"backlog":4096}]}
                    """);
                var connects = "{\"commands\":[" + string.Join(',', Enumerable.Repeat("""{"type":"call","call":"connect","host":"client","to":"server:80"}""", 1000)) + "]}";
                for (int i = 0; i < 5; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    await ApiServer.PostAsync(client, $"/api/v1/simulations/{growing}/commands", connects);
                    batches.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }

                id = await ApiServer.CreateSimulationAsync(client, "w5");
                await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/commands", """
                    {"commands":[{"type":"add-host","name":"client","address":"10.0.0.1"},{"type":"add-host","name":"server","address":"10.0.0.2"},
                    {"type":"add-link","between":["client","server"],"delayNs":1000000}]}
                    """);
                var pair = await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/connections", """{"client":"client","server":"server","port":80}""");
                int c = pair["clientSocketId"]!.GetValue<int>(), s = pair["serverSocketId"]!.GetValue<int>();
                var cycle = new[]
                {
                    $$"""{"type":"call","call":"send","socketId":{{c}},"bytes":100}""",
                    $$"""{"type":"call","call":"recv","socketId":{{s}},"bytes":100}""",
                    """{"type":"advance","byNs":1000000,"eventBudget":100}""",
                };
                long version = pair["version"]!.GetValue<long>();
                long t1 = Stopwatch.GetTimestamp();
                while (version < commands)
                {
                    int n = (int)Math.Min(1000, commands - version);
                    var body = "{\"commands\":[" + string.Join(',', Enumerable.Range(0, n).Select(k => cycle[(version + k) % 3])) + "]}";
                    version = (await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/commands", body))["version"]!.GetValue<long>();
                }
                fillSeconds = Stopwatch.GetElapsedTime(t1).TotalSeconds;
            }

            await using var restarted = await ApiServer.StartAsync(db, Unlimited());
            using var again = restarted.Client();
            double cpu0 = restarted.CpuSeconds;
            long t2 = Stopwatch.GetTimestamp();
            var clock = await again.GetFromJson($"/api/v1/simulations/{id}/clock");
            double rebuild = Stopwatch.GetElapsedTime(t2).TotalSeconds;
            double rebuildCpu = restarted.CpuSeconds - cpu0;
            long t3 = Stopwatch.GetTimestamp();
            await again.GetFromJson($"/api/v1/simulations/{id}/clock");
            double cached = Stopwatch.GetElapsedTime(t3).TotalMilliseconds;
            await restarted.DisposeAsync();
            var (loadSeconds, replaySeconds, parseSeconds, efLoadSeconds) = RebuildInProcess(db, id);
            return $"W5 commands={commands} rebuild_s={F2(rebuild)} rebuild_server_cpu_s={F2(rebuildCpu)} cached_read_ms={F2(cached)} now_ns={clock["nowNs"]} " +
                $"in_process_load_s={F2(loadSeconds)} in_process_ef_load_s={F2(efLoadSeconds)} in_process_replay_s={F2(replaySeconds)} in_process_parse_s={F2(parseSeconds)} fill_s={F2(fillSeconds)} " +
                $"growing_batches_s={string.Join('/', batches.Select(F2))} db_mb={F2(new FileInfo(db).Length / 1048576.0)} load={Load()}";
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The rebuild's parts, in this process (its first query, which builds EF Core's model, is left out: the API does
    /// that at start-up): reading the log from the database as the API does, then replaying it on a fresh engine —
    /// of which parsing the commands' JSON is measured once more on its own; and the read once more through EF Core.
    /// </summary>
    static (double Load, double Replay, double Parse, double EfLoad) RebuildInProcess(string databasePath, Guid id)
    {
        var options = new DbContextOptionsBuilder<SqliteSimDbContext>();
        SqliteSimDbContext.Configure(options, $"Data Source={databasePath}");
        using var db = new SqliteSimDbContext(options.Options);
        var run = db.Simulations.AsNoTracking().IgnoreQueryFilters().Single(r => r.Id == id);
        long t0 = Stopwatch.GetTimestamp();
        var log = db.ReadLogAsync(id, 0, run.Version, CancellationToken.None).GetAwaiter().GetResult(); // the API's own read
        double load = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        long t1 = Stopwatch.GetTimestamp();
        var engine = SimulationReplay.Rebuild(run, log);
        double replay = Stopwatch.GetElapsedTime(t1).TotalSeconds;
        GC.KeepAlive(engine);
        long t2 = Stopwatch.GetTimestamp();
        GC.KeepAlive(log.ConvertAll(r => CommandTypeMap.FromPayload(r.Type, r.PayloadJson)));
        double parse = Stopwatch.GetElapsedTime(t2).TotalSeconds;
        long t3 = Stopwatch.GetTimestamp(); // the same read through EF Core's query pipeline, as rebuilds read it before
        GC.KeepAlive(db.Commands.AsNoTracking().Where(c => c.RunId == id).OrderBy(c => c.Seq).ToList());
        return (load, replay, parse, Stopwatch.GetElapsedTime(t3).TotalSeconds);
    }

    /// <summary>The settings, with the request time limit (default 10 s) lifted: the benchmark measures, it is not cut.</summary>
    static Dictionary<string, string> Unlimited() => new(Settings()) { ["Limits:RequestSeconds"] = "3600" };

    /// <summary>
    /// <see cref="Unlimited"/>, and room for one big simulation: W3 at 100,000 connections journals ≈ 7.1 million
    /// events (≈ 1.1 GB of payload, past the default 1 GiB tenant quota) and its cached engine holds them all in
    /// memory (estimated 400 B each, past the default 512 MB engine budget, which would evict the engine and rebuild
    /// it from its log on every request once it is reached — quadratic).
    /// </summary>
    static Dictionary<string, string> Unbounded() => new(Unlimited())
    {
        ["Quotas:JournalBytes"] = (64L << 30).ToString(CultureInfo.InvariantCulture),
        ["Engines:MemoryBudgetMB"] = "16384",
    };

    /// <summary>
    /// W1's churn through the API in one request: 32 clients (tcp_tw_reuse=1) → 1 server, 5,000 new connections per
    /// virtual second, 1 KB request and response, client closes first, level counters, <paramref name="connections"/>
    /// lifecycles in one POST …/workloads. Then what it stored (rows of the command log and of the journal, database
    /// bytes), a replay of the stored inputs on a fresh engine (POST …/replay: identical?) and an export
    /// (GET …/export), each timed.
    /// </summary>
    public static async Task<string> Million(long connections)
    {
        var dir = Directory.CreateTempSubdirectory("simbench-m-");
        try
        {
            var db = Path.Combine(dir.FullName, "m.db");
            // The service's defaults: the workload under Limits:WorkloadSeconds, its replay under Limits:HeavySeconds.
            await using var server = await ApiServer.StartAsync(db, Settings());
            using var client = server.Client();
            client.Timeout = TimeSpan.FromHours(1);
            var id = await ApiServer.CreateSimulationAsync(client, "million");
            await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/commands", "{\"commands\":[" + string.Join(',', ChurnSetup()) + "]}");
            var body = $$"""
                {"clients":[{{ChurnClients()}}],"server":"server","port":80,"rate":5000,"count":{{connections}},
                 "requestBytes":1024,"responseBytes":1024,"closeFirst":"Client","closeStyle":"Close","level":"Counters"}
                """;
            var m = new Measure();
            var r = await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/workloads", body);
            double wall = m.WallSeconds;
            long finished = r["result"]!["finished"]!.GetValue<long>();
            bool completed = r["result"]!["completed"]!.GetValue<bool>();

            m = new Measure();
            var replay = await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/replay", "{}");
            double replayWall = m.WallSeconds;
            m = new Measure();
            using var exported = await client.GetAsync($"/api/v1/simulations/{id}/export");
            var export = await exported.Content.ReadAsStringAsync();
            double exportWall = m.WallSeconds;
            if (!exported.IsSuccessStatusCode) Console.WriteLine($"# export refused ({(int)exported.StatusCode}): {export}");
            long serverRss = server.PeakRssMb;
            await server.DisposeAsync(); // a graceful stop checkpoints the WAL into the database file

            long commandRows, eventRows;
            using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False"))
            {
                connection.Open();
                commandRows = Count(connection, "Commands");
                eventRows = Count(connection, "Events");
            }
            long bytes = new FileInfo(db).Length + (File.Exists(db + "-wal") ? new FileInfo(db + "-wal").Length : 0);
            return $"API1M connections={finished} completed={completed.ToString().ToLowerInvariant()} request_wall_s={F2(wall)} " +
                $"lifecycles_per_s={F(finished / wall)} engine_ms={r["wallMs"]} command_rows={commandRows} event_rows={eventRows} " +
                $"db_kb={F(bytes / 1024.0)} replay_identical={replay["identical"]?.GetValue<bool>().ToString().ToLowerInvariant()} " +
                $"replay_s={F2(replayWall)} export_status={(int)exported.StatusCode} export_bytes={export.Length} export_s={F2(exportWall)} server_peak_rss_mb={serverRss} load={Load()}";
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        static long Count(Microsoft.Data.Sqlite.SqliteConnection connection, string table)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            return (long)command.ExecuteScalar()!;
        }
    }

    /// <summary>W1's world as API commands: a server and 32 clients (tcp_tw_reuse=1), each linked to it with a 1 ms delay.</summary>
    internal static List<string> ChurnSetup()
    {
        var setup = new List<string> { """{"type":"add-host","name":"server","address":"10.0.0.1"}""" };
        for (int i = 0; i < 32; i++)
        {
            setup.Add($$$"""{"type":"add-host","name":"c{{{i}}}","address":"10.1.0.{{{i + 1}}}","sysctls":{"net.ipv4.tcp_tw_reuse":"1"}}""");
            setup.Add($$"""{"type":"add-link","between":["c{{i}}","server"],"delayNs":1000000}""");
        }
        return setup;
    }

    /// <summary>The clients of <see cref="ChurnSetup"/> as a JSON list's items.</summary>
    internal static string ChurnClients() => string.Join(',', Enumerable.Range(0, 32).Select(i => $"\"c{i}\""));

    /// <summary>Server settings from the environment: SIMBENCH_SERVER_key=value (e.g. Persistence:SqliteSynchronous).</summary>
    internal static Dictionary<string, string> Settings()
    {
        var settings = new Dictionary<string, string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (e.Key is string key && key.StartsWith("SIMBENCH_SERVER_", StringComparison.Ordinal))
                settings[key["SIMBENCH_SERVER_".Length..]] = (string)e.Value!;
        return settings;
    }

    /// <summary>
    /// W4's clients: the lean one (<see cref="LeanHttp"/>) unless SIMBENCH_W4_CLIENT=http asks for HttpClient, the
    /// client W4 used before (to measure what the load generator itself costs).
    /// </summary>
    static bool HttpClientWanted => Environment.GetEnvironmentVariable("SIMBENCH_W4_CLIENT") == "http";

    static Task<double[]> RunClientsAsync(ApiServer server, (Guid Id, int Socket, long Version)[] sims, long commands) =>
        HttpClientWanted ? RunHttpClientsAsync(server, sims, commands) : RunLeanClientsAsync(server, sims, commands);

    /// <summary>
    /// Runs <paramref name="commands"/> commands over the clients; returns each one's latency in ms. Each client is one
    /// kept-alive connection writing requests serialised beforehand and reading of each response its status and its
    /// framing only (<see cref="LeanHttp"/>); a failure is an error of the benchmark.
    /// </summary>
    static async Task<double[]> RunLeanClientsAsync(ApiServer server, (Guid Id, int Socket, long Version)[] sims, long commands)
    {
        var requests = sims.Select(s => (
            Send: LeanHttp.Post(server.BaseAddress, $"/api/v1/simulations/{s.Id}/sockets/{s.Socket}/send", """{"bytes":100}"""),
            Advance: LeanHttp.Post(server.BaseAddress, $"/api/v1/simulations/{s.Id}/advance", """{"byNs":1000000}"""))).ToArray();
        var perClient = new double[Clients][];
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            using var connection = await LeanHttp.ConnectAsync(server.BaseAddress);
            long n = commands / Clients + (c < commands % Clients ? 1 : 0);
            var mine = new double[n];
            for (long k = 0; k < n; k++)
            {
                int s = c * SimulationsPerClient + (int)(k % SimulationsPerClient);
                bool isSend = k / SimulationsPerClient % 2 == 0;
                long t0 = Stopwatch.GetTimestamp();
                var (status, failure) = await connection.SendAsync(isSend ? requests[s].Send : requests[s].Advance);
                if (failure is not null)
                    throw new InvalidOperationException($"POST {(isSend ? "send" : "advance")} on {sims[s].Id}: {status} {failure}");
                mine[k] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                sims[s].Version++;
            }
            perClient[c] = mine;
        })));
        return [.. perClient.SelectMany(x => x)];
    }

    /// <summary>
    /// <see cref="RunLeanClientsAsync"/> through HttpClient (W4's client until scale session 15): a client checks each
    /// response's status and reads its body, without parsing it.
    /// </summary>
    static async Task<double[]> RunHttpClientsAsync(ApiServer server, (Guid Id, int Socket, long Version)[] sims, long commands)
    {
        var send = Encoding.UTF8.GetBytes("""{"bytes":100}""");
        var advance = Encoding.UTF8.GetBytes("""{"byNs":1000000}""");
        var json = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        var paths = sims.Select(s => (Send: new Uri($"/api/v1/simulations/{s.Id}/sockets/{s.Socket}/send", UriKind.Relative),
            Advance: new Uri($"/api/v1/simulations/{s.Id}/advance", UriKind.Relative))).ToArray();
        var perClient = new double[Clients][];
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            using var client = server.Client();
            long n = commands / Clients + (c < commands % Clients ? 1 : 0);
            var mine = new double[n];
            for (long k = 0; k < n; k++)
            {
                int s = c * SimulationsPerClient + (int)(k % SimulationsPerClient);
                bool isSend = k / SimulationsPerClient % 2 == 0;
                using var content = new ByteArrayContent(isSend ? send : advance);
                content.Headers.ContentType = json;
                long t0 = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync(isSend ? paths[s].Send : paths[s].Advance, content);
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"POST {(isSend ? paths[s].Send : paths[s].Advance)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                mine[k] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                sims[s].Version++;
            }
            perClient[c] = mine;
        })));
        return [.. perClient.SelectMany(x => x)];
    }

    /// <summary>A simulation with an established client → server connection; returns its client socket.</summary>
    static async Task<(Guid, int, long)> EstablishedAsync(HttpClient client, int i)
    {
        var id = await ApiServer.CreateSimulationAsync(client, $"w4-{i}");
        var setup = await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/commands", """
            {"commands":[{"type":"add-host","name":"client","address":"10.0.0.1"},{"type":"add-host","name":"server","address":"10.0.0.2"},
            {"type":"add-link","between":["client","server"],"delayNs":10000000},{"type":"call","call":"listen","host":"server","port":80,"backlog":128},
            {"type":"call","call":"connect","host":"client","to":"server:80"},{"type":"advance","byNs":100000000}]}
            """);
        return (id, setup["results"]![4]!["call"]!["socketId"]!.GetValue<int>(), setup["version"]!.GetValue<long>());
    }

    static async Task<JsonNode> GetFromJson(this HttpClient client, string path) =>
        JsonNode.Parse(await client.GetStringAsync(path))!;

    internal static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    /// <summary>The 1-minute load average, to say how busy the shared machine was.</summary>
    public static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
}
