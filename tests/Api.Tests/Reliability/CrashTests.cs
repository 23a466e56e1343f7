using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimService.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Durability under <c>kill -9</c>: real API processes (one on SQLite; two on one PostgreSQL database) under
/// concurrent clients are killed at seeded random moments and restarted, again and again. Afterwards every
/// acknowledged command is in its simulation's log at the sequence number it was acknowledged with, each
/// client's commands in the order it sent them, the log has no gaps, and every replay is identical.
/// Kept short (a kill after 5–30 acknowledgements, restarts that poll /readyz) so that each variant takes well
/// under a minute; PostgreSQL runs when SIMSERVICE_TEST_POSTGRES is set.
/// </summary>
[Collection(RealProcessCollection.Name)]
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Kills = 10;
    private const int Simulations = 2;
    private const int ClientsPerSimulation = 3;

    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    private sealed record Ack(long Seq, long ByNs);

    [Theory, MemberData(nameof(Providers))]
    public async Task RunningApi_KilledTenTimesUnderLoad_KeepsEveryAcknowledgedCommandInOrder(DatabaseProvider provider)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var database = TestDatabase.Create(provider);
        int processes = provider == DatabaseProvider.Postgres ? 2 : 1;
        var apis = new ApiProcess[processes];
        // One after the other: the first creates the database (PostgreSQL) and migrates it.
        for (int p = 0; p < processes; p++) apis[p] = await ApiProcess.StartAsync(database.Settings);
        var random = new Random(11);
        var ids = new List<Guid>();
        using (var setup = apis[0].CreateClient())
            for (int s = 0; s < Simulations; s++) ids.Add(await CreateAsync(setup));

        var acks = new List<Ack>[Simulations * ClientsPerSimulation];
        for (int c = 0; c < acks.Length; c++) acks[c] = [];
        var counters = new long[acks.Length];
        var restarts = TimeSpan.Zero;
        try
        {
            for (int round = 0; round < Kills; round++)
            {
                using var stop = new CancellationTokenSource();
                // A seeded random moment, counted in acknowledgements rather than waited for.
                int target = random.Next(5, 30), acknowledged = 0;
                var moment = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var clients = Enumerable.Range(0, acks.Length).Select(c => Task.Run(async () =>
                {
                    using var http = apis[c % processes].CreateClient();
                    http.Timeout = TimeSpan.FromSeconds(20);
                    var id = ids[c / ClientsPerSimulation];
                    while (!stop.IsCancellationRequested)
                    {
                        long byNs = ++counters[c] * acks.Length + c + 1; // unique per (client, command) within the simulation
                        try
                        {
                            var response = await http.PostAsync($"/api/v1/simulations/{id}/advance",
                                new StringContent($$"""{"byNs":{{byNs}}}""", Encoding.UTF8, "application/json"));
                            if (response.StatusCode == HttpStatusCode.OK)
                            {
                                acks[c].Add(new Ack((await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!.GetValue<long>(), byNs));
                                if (Interlocked.Increment(ref acknowledged) >= target) moment.TrySetResult();
                            }
                            // 409: lost a key race to the other process twice; 422: the wall-time limit on a loaded machine (503 when the time went
                            // before the engine work started; 429 when it went waiting behind the simulation's earlier requests — at load 40 a
                            // fresh-clone CI's advance waited 10 s so, session 37).
                            // None is acknowledged, and none may leave a trace in the log.
                            else if (response.StatusCode is not (HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity
                                or HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests))
                                Assert.Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                        {
                            return; // the process died under this request: it was not acknowledged
                        }
                    }
                })).ToList();

                await Task.WhenAny(moment.Task, Task.WhenAll(clients));
                int victim = random.Next(processes);
                apis[victim].Kill();
                stop.Cancel();
                await Task.WhenAll(clients);
                await apis[victim].DisposeAsync();
                var restart = System.Diagnostics.Stopwatch.StartNew();
                apis[victim] = await ApiProcess.StartAsync(database.Settings);
                restarts += restart.Elapsed;
            }

            using var check = apis[0].CreateClient();
            long commands = 0;
            int identical = 0;
            for (int s = 0; s < Simulations; s++)
            {
                var log = await LogAsync(check, ids[s]);
                Assert.Equal(Enumerable.Range(1, log.Count).Select(i => (long)i), log.Select(l => l.Seq)); // no gaps
                for (int c = s * ClientsPerSimulation; c < (s + 1) * ClientsPerSimulation; c++)
                {
                    Assert.True(acks[c].Select(a => a.Seq).SequenceEqual(acks[c].Select(a => a.Seq).Order()), "a client's commands out of order");
                    foreach (var ack in acks[c])
                    {
                        Assert.True(ack.Seq <= log.Count, $"acknowledged command {ack.Seq} of simulation {ids[s]} is missing");
                        Assert.Contains(ack.ByNs, log[(int)ack.Seq - 1].Numbers);
                        commands++;
                    }
                }
                var replay = await check.PostAsync($"/api/v1/simulations/{ids[s]}/replay", null);
                var report = await replay.Content.ReadFromJsonAsync<JsonObject>();
                Assert.True(report!["identical"]!.GetValue<bool>(), report.ToJsonString());
                identical++;
            }
            var errors = apis.SelectMany(a => a.ErrorLines).ToList();
            Figures.Report(output, $"crash ({provider}, {processes} process{(processes > 1 ? "es" : "")}, {acks.Length} clients): {Kills} kill -9 survived, "
                + $"{commands} acknowledged commands checked, in order, no gaps; {identical} of {Simulations} replays identical; "
                + $"{errors.Count} error-level log lines; "
                + $"{clock.Elapsed.TotalSeconds:F0} s, of which {restarts.TotalSeconds:F0} s restarting to ready");
            Assert.True(commands > 0);
            Assert.Empty(errors);
        }
        finally
        {
            foreach (var api in apis) await api.DisposeAsync();
        }
    }

    private sealed record Logged(long Seq, HashSet<long> Numbers);

    private static async Task<Guid> CreateAsync(HttpClient client)
    {
        var created = await client.PostAsync("/api/v1/simulations",
            new StringContent("""{"name":"crash","profile":"linux-6","seed":5}""", Encoding.UTF8, "application/json"));
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    private static async Task<List<Logged>> LogAsync(HttpClient client, Guid id)
    {
        var log = new List<Logged>();
        for (long after = 0; ;)
        {
            var page = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/simulations/{id}/commands?afterSeq={after}&limit=1000"))!;
            foreach (var item in page["items"]!.AsArray())
                log.Add(new Logged(item!["seq"]!.GetValue<long>(), Numbers(item["command"]!)));
            if (page["nextAfterSeq"] is not { } next) return log;
            after = next.GetValue<long>();
        }
    }

    private static HashSet<long> Numbers(JsonNode node) => node switch
    {
        JsonObject o => [.. o.SelectMany(p => p.Value is null ? [] : Numbers(p.Value))],
        JsonArray a => [.. a.SelectMany(v => v is null ? [] : Numbers(v))],
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) => [n],
        _ => [],
    };
}
