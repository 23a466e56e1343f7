using System.Diagnostics;
using System.Globalization;

namespace SimService.Benchmarks;

/// <summary>
/// How long one simulation's light commands take while another's heavy work runs, on the real API process (SQLite).
/// The API tests assert the order of events (the commands are answered while the heavy work is provably under way:
/// IsolationTests, CommitsBetweenPagesTests); the latencies are measured here, where a figure may depend on the machine.
/// </summary>
static class Isolation
{
    static string F(double v) => v.ToString("F0", CultureInfo.InvariantCulture);
    static string F1(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    const string Advance = """{"byNs":1000000}""";
    const string Runaway = """{"untilIdle":true,"maxNs":1000000000000000000,"eventBudget":100000}""";

    /// <summary>
    /// ISO: <paramref name="rounds"/> rounds of 200 advances of 1 ms (each followed by a clock read) on a quiet
    /// simulation while another runs away back to back: advances until idle of 100,000 events (refused at the journal
    /// cap after the work) alternating with replays of its 2,006-command log. Both simulations hold an established
    /// connection probing keepalive every second (never idle). Reports each round's p99 and the median round's, for
    /// advances and reads.
    /// </summary>
    public static async Task<string> Iso(int rounds)
    {
        const int Samples = 200;
        var dir = Directory.CreateTempSubdirectory("simbench-iso-");
        try
        {
            await using var server = await ApiServer.StartAsync(Path.Combine(dir.FullName, "iso.db"), Durable.Settings());
            using var client = server.Client();
            var busy = await KeepaliveAsync(client);
            var quiet = await KeepaliveAsync(client);
            var connects = "{\"commands\":[" + string.Join(',', Enumerable.Repeat("""{"type":"call","call":"connect","host":"client","to":"server:80"}""", 1000)) + "]}";
            for (int i = 0; i < 2; i++) await ApiServer.PostAsync(client, $"/api/v1/simulations/{busy}/commands", connects);
            using var own = server.Client();
            // Warm-up, not measured: every path once.
            await PostStatusAsync(client, $"/api/v1/simulations/{busy}/advance", Runaway, 422);
            await PostStatusAsync(client, $"/api/v1/simulations/{busy}/replay", "", 200);
            for (int i = 0; i < 20; i++) await QuietStepAsync(own, quiet);

            var advances = new double[rounds][];
            var reads = new double[rounds][];
            int heavy = 0;
            for (int round = 0; round < rounds; round++)
            {
                using var stop = new CancellationTokenSource();
                var runaway = Task.Run(async () =>
                {
                    for (int i = 0; !stop.IsCancellationRequested; i++)
                    {
                        try
                        {
                            if (i % 2 == 0) await PostStatusAsync(client, $"/api/v1/simulations/{busy}/advance", Runaway, 422, stop.Token);
                            else await PostStatusAsync(client, $"/api/v1/simulations/{busy}/replay", "", 200, stop.Token);
                            Interlocked.Increment(ref heavy);
                        }
                        catch (OperationCanceledException) when (stop.IsCancellationRequested)
                        {
                        }
                    }
                });
                (advances[round], reads[round]) = (new double[Samples], new double[Samples]);
                for (int i = 0; i < Samples; i++) (advances[round][i], reads[round][i]) = await QuietStepAsync(own, quiet);
                stop.Cancel();
                await runaway;
            }
            double[] P99(double[][] rows) => [.. rows.Select(r => Durable.Percentile([.. r.Order()], 0.99))];
            double Median(double[] values) => values.Order().ElementAt(values.Length / 2);
            var advanceP99 = P99(advances);
            var readP99 = P99(reads);
            return $"ISO rounds={rounds} samples={Samples} heavy_requests={heavy} " +
                $"advance_p50_ms={F1(Durable.Percentile([.. advances.SelectMany(a => a).Order()], 0.5))} advance_p99_ms={string.Join('/', advanceP99.Select(F))} advance_p99_median_ms={F(Median(advanceP99))} " +
                $"read_p99_ms={string.Join('/', readP99.Select(F))} read_p99_median_ms={F(Median(readP99))} " +
                $"server_error_lines={server.Errors.Count} processors={Environment.ProcessorCount} load={Durable.Load()}";
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// JP1M: one POST …/workloads of <paramref name="connections"/> connections at journal level full (14,500: over a million
    /// journal events, <c>Limits:JournalEventsPerRequest=2000000</c>) while another simulation's advances of 1 ms run back to
    /// back; then the big simulation's delete, its rows purged a page at a time, while they go on. Reports the advances'
    /// p50 and p99 during each, and during the request the median of the p99s of its five fifths (by time).
    /// </summary>
    public static async Task<string> JournalPages(int connections)
    {
        const int Fifths = 5;
        var dir = Directory.CreateTempSubdirectory("simbench-jp-");
        try
        {
            var path = Path.Combine(dir.FullName, "jp.db");
            await using var server = await ApiServer.StartAsync(path, new Dictionary<string, string>(Durable.Settings())
            {
                ["Limits:JournalEventsPerRequest"] = "2000000",
                ["Limits:WorkloadSeconds"] = "900",
                ["Engines:MemoryBudgetMB"] = "4096",
            });
            using var client = server.Client();
            client.Timeout = TimeSpan.FromMinutes(15);
            var quiet = await KeepaliveAsync(client);
            var busy = await ApiServer.CreateSimulationAsync(client, "million rows");
            await ApiServer.PostAsync(client, $"/api/v1/simulations/{busy}/commands", "{\"commands\":[" + string.Join(',', Durable.ChurnSetup()) + "]}");
            using var own = server.Client();
            for (int i = 0; i < 20; i++) await QuietStepAsync(own, quiet); // warm-up

            var body = $$"""
                {"clients":[{{Durable.ChurnClients()}}],"server":"server","port":80,"rate":5000,"count":{{connections}},
                 "requestBytes":1024,"responseBytes":1024,"closeFirst":"Client","closeStyle":"Close","level":"Full"}
                """;
            var m = new Measure();
            var big = ApiServer.PostAsync(client, $"/api/v1/simulations/{busy}/workloads", body);
            var during = new List<double>();
            do during.Add(await AdvanceAsync(own, quiet)); while (!big.IsCompleted);
            var rows = (await big)["journalEvents"]!.GetValue<long>();
            double seconds = m.WallSeconds;

            m = new Measure();
            using var deleted = await client.DeleteAsync($"/api/v1/simulations/{busy}");
            if (!deleted.IsSuccessStatusCode) throw new InvalidOperationException($"DELETE: {(int)deleted.StatusCode}");
            var deleting = new List<double>();
            do deleting.Add(await AdvanceAsync(own, quiet)); while (await server.MetricAsync("simservice_simulations_purging") != 0);
            double purge = m.WallSeconds;

            var fifths = Enumerable.Range(0, Fifths).Select(f => Durable.Percentile([.. during.Skip(f * during.Count / Fifths).Take(Math.Max(1, during.Count / Fifths)).Order()], 0.99)).ToList();
            double[] sorted = [.. during.Order()], purging = [.. deleting.Order()];
            return $"JP1M connections={connections} journal_events={rows} request_s={F1(seconds)} advances={sorted.Length} " +
                $"p50_ms={F1(Durable.Percentile(sorted, 0.5))} p99_ms={F(Durable.Percentile(sorted, 0.99))} fifths_p99_ms={string.Join('/', fifths.Select(F))} " +
                $"fifths_p99_median_ms={F(fifths.Order().ElementAt(Fifths / 2))} max_ms={F(sorted[^1])} purge_s={F1(purge)} purge_advances={purging.Length} " +
                $"purge_p50_ms={F1(Durable.Percentile(purging, 0.5))} purge_p99_ms={F(Durable.Percentile(purging, 0.99))} purge_max_ms={F(purging[^1])} " +
                $"server_error_lines={server.Errors.Count} processors={Environment.ProcessorCount} load={Durable.Load()}";
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>One advance of 1 ms and one clock read of the quiet simulation, each timed in milliseconds.</summary>
    static async Task<(double Advance, double Read)> QuietStepAsync(HttpClient client, Guid id)
    {
        double advance = await AdvanceAsync(client, id);
        long t0 = Stopwatch.GetTimestamp();
        using var read = await client.GetAsync($"/api/v1/simulations/{id}/clock");
        if (!read.IsSuccessStatusCode) throw new InvalidOperationException($"GET clock: {(int)read.StatusCode}");
        return (advance, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
    }

    static async Task<double> AdvanceAsync(HttpClient client, Guid id)
    {
        long t0 = Stopwatch.GetTimestamp();
        await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/advance", Advance);
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    /// <summary>POSTs and requires <paramref name="status"/> (the runaway advance is refused at the journal cap: a 422).</summary>
    static async Task PostStatusAsync(HttpClient client, string path, string json, int status, CancellationToken cancellationToken = default)
    {
        using var response = await client.PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"), cancellationToken);
        if ((int)response.StatusCode != status)
            throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode}, not {status}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    /// <summary>An established connection with keepalive probing every second: the simulation is never idle.</summary>
    static async Task<Guid> KeepaliveAsync(HttpClient client)
    {
        var id = await ApiServer.CreateSimulationAsync(client, "keepalive");
        var setup = await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/commands", """
            {"commands":[{"type":"add-host","name":"client","address":"10.0.0.1"},{"type":"add-host","name":"server","address":"10.0.0.2"},
            {"type":"add-link","between":["client","server"],"delayNs":10000000},{"type":"call","call":"listen","host":"server","port":80,"backlog":4096},
            {"type":"call","call":"connect","host":"client","to":"server:80"},{"type":"advance","byNs":100000000}]}
            """);
        var socket = setup["results"]![4]!["call"]!["socketId"]!.GetValue<int>();
        foreach (var (option, value) in new[] { ("SO_KEEPALIVE", 1), ("TCP_KEEPIDLE", 1), ("TCP_KEEPINTVL", 1) })
            await ApiServer.PostAsync(client, $"/api/v1/simulations/{id}/sockets/{socket}/setsockopt", $$"""{"option":"{{option}}","value":{{value}}}""");
        return id;
    }
}
