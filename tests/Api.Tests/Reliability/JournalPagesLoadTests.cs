using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Tests.Infrastructure;
using Xunit.Abstractions;
using static SimService.Api.Tests.Reliability.RunawayTests;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// One request that adds over a million journal rows (issue #11, journal pages), on each provider, against a real API
/// process: every command of another simulation meanwhile, and during the big simulation's delete, is answered (200),
/// nothing of the big request is lost, and the memory it took comes back once it is deleted. That another simulation's
/// commit waits for at most one page is asserted as an order of events by <c>CommitsBetweenPagesTests</c>; how long
/// the other simulation's commands take meanwhile is reported here (a figure) and measured by the benchmark <c>JP1M</c>,
/// not asserted: a latency bound measured the shared machine's load. Alone in its collection, after the parallel ones,
/// so that its figures are the service's.
/// </summary>
[Collection(IsolationCollection.Name)]
public sealed class JournalPagesLoadTests(ITestOutputHelper output)
{
    /// <summary>The garbage collector's own figures from /metrics (the runtime's meter): heap and committed bytes after its last collection.</summary>
    private static async Task<string> GcFiguresAsync(HttpClient client)
    {
        var metrics = await client.GetStringAsync("/metrics");
        long Sum(string name) => (long)metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length > name.Length && l[name.Length] is ' ' or '{'))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        return $"GC heap {Sum("dotnet_gc_last_collection_heap_size_bytes") >> 20} MB, committed {Sum("dotnet_gc_last_collection_memory_committed_size_bytes") >> 20} MB";
    }

    /// <summary>W1's churn at journal level full: ≈ 72 journal events per connection, so this many make over a million.</summary>
    private const int Connections = 14_500;

    private const int MillionRows = 1_000_000;

    private const int Windows = 5;

    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    [Theory, MemberData(nameof(Providers))]
    public async Task MillionRowRequest_WhileAnotherSimulationCommands_EveryCommandAnsweredNothingLostAndMemoryReturns(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var api = await ApiProcess.StartAsync(new Dictionary<string, string?>(database.Settings)
        {
            ["Limits:JournalEventsPerRequest"] = "2000000",
            ["Limits:WorkloadSeconds"] = "900",
            ["Engines:MemoryBudgetMB"] = "4096",
            // Every command of the other simulation must be answered; its figures say how fast. The default 10 s cut on a
            // command would turn a machine's burst of load (CI beside seven other jobs) into a failure of this test.
            ["Limits:RequestSeconds"] = "60",
        });
        using var client = api.CreateClient();
        client.Timeout = TimeSpan.FromMinutes(15);
        var quiet = await KeepaliveSimulationAsync(client);
        var busy = await ChurnSimulationAsync(client);
        using var own = api.CreateClient();
        // Warm-up, not measured: every path once (a small paged workload, its journal read, its delete), so that the
        // baseline holds the process's first-use costs (compiled code, caches) and the figure only the big request's memory.
        var small = await ChurnSimulationAsync(client);
        (await client.PostAsync($"/api/v1/simulations/{small}/workloads", Json(ChurnWorkload(100)))).EnsureSuccessStatusCode();
        (await client.GetAsync($"/api/v1/simulations/{small}/journal?limit=1&afterSeq=100")).EnsureSuccessStatusCode();
        (await client.DeleteAsync($"/api/v1/simulations/{small}")).EnsureSuccessStatusCode();
        for (int i = 0; i < 20; i++)
            (await own.PostAsync($"/api/v1/simulations/{quiet}/advance", Json("""{"byNs":1000000}"""))).EnsureSuccessStatusCode();
        var baseline = api.ResidentBytes;
        var baselineKinds = api.ResidentKinds;
        var baselineGc = await GcFiguresAsync(client);

        var started = Stopwatch.GetTimestamp();
        var big = client.PostAsync($"/api/v1/simulations/{busy}/workloads", Json(ChurnWorkload(Connections)));
        var advances = new List<double>();
        long peak = baseline;
        while (!big.IsCompleted)
        {
            var sent = Stopwatch.GetTimestamp();
            var response = await own.PostAsync($"/api/v1/simulations/{quiet}/advance", Json("""{"byNs":1000000}"""));
            advances.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            peak = Math.Max(peak, api.ResidentBytes);
        }
        var bigResponse = await big;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var text = await bigResponse.Content.ReadAsStringAsync();
        Assert.True(bigResponse.StatusCode == HttpStatusCode.Created || bigResponse.StatusCode == HttpStatusCode.OK, text);
        var rows = JsonNode.Parse(text)!["journalEvents"]!.GetValue<long>();
        var total = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/simulations/{busy}/journal?limit=1&afterSeq={rows - 2}"))!;
        var stored = total["total"]!.GetValue<long>();

        // The delete: the simulation is marked deleted at once, its million rows removed a page per short transaction while
        // the other simulation's commands go on; measured until its row is gone too.
        await using var db = database.Open();
        var deleteStarted = Stopwatch.GetTimestamp();
        var delete = client.DeleteAsync($"/api/v1/simulations/{busy}");
        var duringDelete = new List<double>();
        do
        {
            var sent = Stopwatch.GetTimestamp();
            var response = await own.PostAsync($"/api/v1/simulations/{quiet}/advance", Json("""{"byNs":1000000}"""));
            duringDelete.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        } while (!delete.IsCompleted || await db.Simulations.IgnoreQueryFilters().AnyAsync(r => r.Id == busy));
        Assert.Equal(HttpStatusCode.NoContent, (await delete).StatusCode);
        var purgeSeconds = Stopwatch.GetElapsedTime(deleteStarted).TotalSeconds;
        // The memory is given back right after the row goes (SimulationEngines.Purged); the purge counts as done after that.
        while (await MetricAsync(own, "simservice_simulations_purging") != 0)
            Assert.False(api.HasExited);
        Assert.Equal(0, await db.Events.CountAsync(e => e.RunId == busy));
        var afterDelete = api.ResidentBytes;
        var kinds = api.ResidentKinds;
        var gc = await GcFiguresAsync(client);
        // Diagnosis on demand (not in CI): a heap dump of the process after the delete, for `dotnet-gcdump report`.
        if (Environment.GetEnvironmentVariable("SIMSERVICE_GCDUMP") is { Length: > 0 } dump)
            using (var tool = Process.Start("dotnet-gcdump", $"collect -p {api.ProcessId} -o {dump}-{provider}.gcdump")!)
                await tool.WaitForExitAsync();

        var sorted = advances.Order().ToList();
        static double P(List<double> sorted, double q) => sorted[(int)Math.Ceiling(sorted.Count * q) - 1];
        // Five windows of the big request's time, one after another: the median window's p99 is the figure, since one window
        // can land on a burst of other load on a shared two-core machine.
        var windows = Enumerable.Range(0, Windows).Select(w => advances.Skip(w * advances.Count / Windows).Take(advances.Count / Windows).Order().ToList()).ToList();
        var windowP99 = windows.Select(w => P(w, 0.99)).ToList();
        var median = windowP99.Order().ElementAt(Windows / 2);
        var deleting = duringDelete.Order().ToList();
        var deleteP99 = P(deleting, 0.99);
        Figures.Report(output, $"journal pages ({provider}): one workload request of {Connections:N0} connections at level full added {rows:N0} journal rows "
            + $"in {seconds:F1} s ({stored:N0} stored); another simulation meanwhile: {sorted.Count} advances p50 {P(sorted, 0.5):F0} ms p99 {P(sorted, 0.99):F0} ms "
            + $"(by fifths of the time {string.Join(" / ", windowP99.Select(p => $"{p:F0}"))} ms, median {median:F0} ms) max {sorted[^1]:F0} ms; {api.ErrorLines.Count} error-level log lines; "
            + $"memory {baseline >> 20} MB at start ({baselineKinds}; {baselineGc}), peak {peak >> 20} MB, {afterDelete >> 20} MB after delete ({kinds}; {gc}); {Environment.ProcessorCount} processors");
        Figures.Report(output, $"delete ({provider}): the simulation of {stored:N0} journal rows deleted (404 at once) and purged in {purgeSeconds:F1} s, a page per transaction; "
            + $"another simulation meanwhile: {deleting.Count} advances p50 {P(deleting, 0.5):F0} ms p99 {deleteP99:F0} ms max {deleting[^1]:F0} ms");
        Assert.True(rows >= MillionRows, $"{rows} journal rows: fewer than a million");
        Assert.True(stored >= rows, $"{stored} rows stored of {rows}");
        // Every one of them a 200 (asserted as each came); the counts only make the figures' fifths and percentiles exist.
        Assert.True(sorted.Count >= Windows, $"only {sorted.Count} advances while the big request ran");
        // What the request took comes back once the simulation is purged (engine, journal, rows; SimulationEngines.Purged):
        // the process ends no more than MemoryReturnSlack above where it started.
        Assert.True(afterDelete <= baseline + MemoryReturnSlack,
            $"{afterDelete >> 20} MB after delete, {baseline >> 20} MB at the start (peak {peak >> 20} MB): more than {MemoryReturnSlack >> 20} MB kept");
        // Each error-level entry with the lines that follow it (its message and exception), for whoever looks into it.
        var logged = api.Output.Split('\n');
        for (int i = 0; i < logged.Length; i++)
            if (logged[i].StartsWith("fail:", StringComparison.Ordinal) || logged[i].StartsWith("crit:", StringComparison.Ordinal))
                output.WriteLine(string.Join('\n', logged.Skip(i).Take(8)));
        // None while serving, on either provider. On PostgreSQL one is logged at start-up, before the process listens: EF Core's
        // migrator first opens the test's database, which does not exist yet ("An error occurred using the connection to
        // database …", Database.Connection 20004), then creates it — the database's first start, not a failure.
        int listening = Array.FindIndex(logged, l => l.Contains("Now listening on", StringComparison.Ordinal));
        Assert.True(listening >= 0, "the process never logged that it listens");
        Assert.DoesNotContain(logged.Skip(listening), l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal));
        if (provider == DatabaseProvider.Sqlite) Assert.Empty(api.ErrorLines);
    }

    /// <summary>W1's churn at journal level full: 5,000 new connections per virtual second, 1 KB each way, the client closes first.</summary>
    internal static string ChurnWorkload(int connections) => $$"""
        {"clients":[{{string.Join(',', Enumerable.Range(0, 32).Select(i => $"\"c{i}\""))}}],"server":"server","port":80,"rate":5000,
         "count":{{connections}},"requestBytes":1024,"responseBytes":1024,"closeFirst":"Client","closeStyle":"Close","level":"Full"}
        """;

    /// <summary>W1's world: a server and 32 clients (tcp_tw_reuse=1), each linked to it with a 1 ms delay.</summary>
    internal static async Task<Guid> ChurnSimulationAsync(HttpClient client)
    {
        var created = await client.PostAsync("/api/v1/simulations", Json("""{"name":"million rows","profile":"linux-6","seed":5}"""));
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var setup = new List<string> { """{"type":"add-host","name":"server","address":"10.0.0.1"}""" };
        for (int i = 0; i < 32; i++)
        {
            setup.Add($$$"""{"type":"add-host","name":"c{{{i}}}","address":"10.1.0.{{{i + 1}}}","sysctls":{"net.ipv4.tcp_tw_reuse":"1"}}""");
            setup.Add($$"""{"type":"add-link","between":["c{{i}}","server"],"delayNs":1000000}""");
        }
        var response = await client.PostAsync($"/api/v1/simulations/{id}/commands", Json("{\"commands\":[" + string.Join(',', setup) + "]}"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return id;
    }
}

/// <summary>Runs alone: no other test of the assembly runs meanwhile (xUnit runs it after the parallel collections).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolationCollection
{
    public const string Name = "isolation, alone";
}
