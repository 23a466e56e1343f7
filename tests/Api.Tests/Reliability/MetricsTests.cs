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
