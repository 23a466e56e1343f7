using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// A large answer and the wall-time limit (tester36 MEDIUM-5): the limit bounds the request's work, not the transfer of its
/// answer. A workload's result of 80 MB (62 generated clients at 1 ms) read at 4 MB/s, or five at once, was cut at the 10 s
/// limit mid-body under a 200 — invalid JSON. Here a workload answer of ~14 MB goes to a reader whose 4 KB receive buffer
/// holds it back past the workload's 10 s limit: the whole body arrives. Real Kestrel, a raw connection; the wait is the
/// limit itself (a second workload, sent after the first answer's status line, waits its 10 s out for a heavy slot held here).
/// </summary>
public sealed class LargeAnswerTransferTests
{
    private static object Workload(int count) => new
    {
        generatedClients = 20, server = "server", port = 80, rate = 10, count, resolutionNs = 1_000_000, level = "Counters",
    };

    [Fact]
    public async Task WorkloadAnswer_ReadSlowerThanTheLimit_ArrivesWhole()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Limits:WorkloadSeconds"] = "10",
            ["Engines:HeavyParallelism"] = "1",
        });
        factory.UseKestrel(0);
        factory.StartServer();
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "large answer");
        var port = factory.ClientOptions.BaseAddress.Port;
        var body = JsonSerializer.Serialize(Workload(50));

        var slow = await RawHttp.ConnectAsync(port, receiveBuffer: 4096);
        await slow.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST {sim.Base}/workloads HTTP/1.0\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
        var headers = await RawHttp.ReadHeadersAsync(slow);
        // A second workload, started after the first answer's status line, waits for the one heavy slot (held here) until its
        // own 10 s run out: by then the first's have too.
        using var holdSlot = new ManualResetEventSlim();
        var heavyWork = factory.Services.GetRequiredService<EngineThreads>().RunAsync(() => holdSlot.Wait(), heavy: true, CancellationToken.None);
        var waited = await sim.PostAsync("workloads", Workload(1));
        holdSlot.Set();
        await heavyWork;
        var answer = await RawHttp.ReadToCloseAsync(slow);

        Assert.True(headers.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal), headers);
        Assert.Contains("10 s limit on one request's wall time (Limits:WorkloadSeconds)", (await waited.ReadProblemAsync(HttpStatusCode.TooManyRequests)).GetProperty("detail").GetString());
        Assert.True(answer.Length > 10_000_000, $"{answer.Length} bytes");
        var result = JsonDocument.Parse(answer).RootElement.GetProperty("result");
        Assert.Equal(50, result.GetProperty("finished").GetInt64());
        Assert.Equal(21, result.GetProperty("series").GetArrayLength()); // 20 generated clients and the server
    }

    /// <summary>?series=false answers the workload without its per-host series (the POST's and the GET's), the rest unchanged.</summary>
    [Fact]
    public async Task Workload_SeriesFalse_AnswersWithoutTheSeries()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database);
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "no series");

        var posted = (await sim.PostOkAsync("workloads?series=false", Workload(2))).GetProperty("result");
        var got = await sim.GetJsonAsync("workloads/1?series=false");
        var whole = await sim.GetJsonAsync("workloads/1");

        Assert.Equal(0, posted.GetProperty("series").GetArrayLength());
        Assert.Equal(0, got.GetProperty("series").GetArrayLength());
        Assert.Equal(21, whole.GetProperty("series").GetArrayLength());
        Assert.Equal(whole.GetProperty("hosts").GetRawText(), got.GetProperty("hosts").GetRawText());
        Assert.Equal(2, got.GetProperty("finished").GetInt64());
    }
}
