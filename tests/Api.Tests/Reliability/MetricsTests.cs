using System.Diagnostics.Metrics;
using System.Net;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>/metrics: the service's own instruments and ASP.NET Core's, in Prometheus text format.</summary>
[Collection(ApiCollection.Name)]
public sealed class MetricsTests(ApiHosts hosts)
{
    [Fact]
    public async Task Metrics_AfterCommands_ExposesRequestsEnginesAndEventsInPrometheusFormat()
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var sim = await SimulationDriver.TwoHostsAsync(client, "metrics");
        await sim.ConnectAsync();
        await sim.AdvanceToAsync(1_000_000_000);

        var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        foreach (var name in new[] { "simservice_commands_applied_total", "simservice_events_simulated_total", "simservice_engines_live",
                     "simservice_log_commits_total",
                     "http_server_request_duration_seconds_bucket" })
            Assert.Contains(name, text);
    }
}

/// <summary>
/// The slow scrape alone (review38b S-2): its gauge is on the service's process-wide meter, which every other test's
/// scrape would read (1.5 s each) while it is registered.
/// </summary>
[Collection(IsolationCollection.Name)]
public sealed class SlowScrapeTests
{
    /// <summary>
    /// A scrape slower than the API's wall-time limit on a request (here 1 s: an instrument whose reading takes 1.5 s, as a
    /// scrape queued behind another's collection or on a loaded machine) is answered whole: the limit is the API's for its
    /// own work, and the exporter keeps its own (ScrapeResponseTimeoutMilliseconds, X-Prometheus-Scrape-Timeout-Seconds).
    /// The limit cancelled the scrape's RequestAborted and the exporter answered that 408 (tester37b LOW-2).
    /// </summary>
    [Fact]
    public async Task Metrics_ScrapeSlowerThanTheRequestLimit_AnsweredWhole()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:RequestSeconds"] = "1" });
        var client = factory.CreateClient();
        using var meter = new Meter(Api.Infrastructure.Observability.ServiceMetrics.MeterName);
        meter.CreateObservableGauge("simservice.test.slow_reading", () =>
        {
            Thread.Sleep(1500); // a slow reading: the scrape outlasts the 1 s limit (not a wait for something to happen)
            return 1;
        });

        var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches(@"(?m)^simservice_test_slow_reading(\{[^}]*\})? 1( |$)", await response.Content.ReadAsStringAsync());
    }
}
