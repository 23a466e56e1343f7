using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using SimService.Api.Infrastructure.Engines;
using SimService.Persistence;

namespace SimService.Api.Infrastructure.Observability;

/// <summary>
/// The service's own instruments (meter <c>SimService</c>), exported with ASP.NET Core's and Kestrel's
/// (request rates and latencies: <c>http_server_request_duration_seconds</c>) in Prometheus text format on
/// <c>/metrics</c> through OpenTelemetry.
/// </summary>
public static class ServiceMetrics
{
    public const string MeterName = "SimService";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Queue items (segments, timers) the engines processed for commands.</summary>
    public static readonly Counter<long> EventsSimulated = Meter.CreateCounter<long>("simservice.events.simulated", "{event}",
        "Events processed by the engines for commands");

    /// <summary>Commands appended to simulation logs.</summary>
    public static readonly Counter<long> CommandsApplied = Meter.CreateCounter<long>("simservice.commands.applied", "{command}",
        "Commands applied and stored");

    /// <summary>Engines dropped from memory: to stay within the budget, or because their simulation was deleted.</summary>
    public static readonly Counter<long> Evictions = Meter.CreateCounter<long>("simservice.engines.evictions", "{engine}",
        "Live engines evicted from memory");

    /// <summary>Engines rebuilt from their simulation's log (a restart, an eviction, a dropped engine): rebuilds started.</summary>
    public static readonly Counter<long> Rebuilds = Meter.CreateCounter<long>("simservice.engines.rebuilds", "{engine}",
        "Engines rebuilt from their log");

    /// <summary>Requests refused for needing more work than one request may do (events, journal, wall time).</summary>
    public static readonly Counter<long> WorkLimitHits = Meter.CreateCounter<long>("simservice.limits.work", "{request}",
        "Requests refused by a work limit");

    /// <summary>Requests refused by a tenant quota.</summary>
    public static readonly Counter<long> QuotaHits = Meter.CreateCounter<long>("simservice.limits.quota", "{request}",
        "Requests refused by a tenant quota");

    public static IServiceCollection AddServiceMetrics(this IServiceCollection services)
    {
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.RateLimiting", "System.Runtime")
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>Observes the engine cache once it exists (a gauge reads it at each scrape).</summary>
    public static WebApplication MapServiceMetrics(this WebApplication app)
    {
        var engines = app.Services.GetRequiredService<SimulationEngines>();
        Meter.CreateObservableGauge("simservice.engines.live", () => engines.Count, "{engine}", "Simulations with an engine in memory");
        Meter.CreateObservableGauge("simservice.engines.estimated_bytes", () => engines.EstimatedBytes, "By",
            "Estimated memory held by live engines (journal events × bytes per event)");
        var log = app.Services.GetRequiredService<CommandLogWriter>();
        Meter.CreateObservableCounter("simservice.log.commits", () => log.Transactions, "{transaction}",
            "Group-commit transactions of the command log (commands applied ÷ commits = commands per commit)");
        Meter.CreateObservableGauge("simservice.simulations.purging", () => log.Purging, "{simulation}",
            "Deleted simulations whose rows are being removed (a page per short transaction), until the memory they held is given back");
        Meter.CreateObservableCounter("simservice.simulations.purged", () => log.SimulationsPurged, "{simulation}",
            "Deleted simulations whose rows were all removed and whose memory was given back");
        Meter.CreateObservableCounter("simservice.memory.give_backs", () => SimulationEngines.GiveBacks, "{collection}",
            "Times the process gave memory back to the system (a full compacting collection and malloc_trim) after a big engine was deleted or evicted");
        Meter.CreateObservableGauge("simservice.memory.give_back_pending", () => SimulationEngines.GiveBackPending ? 1 : 0, "{collection}",
            "1 while a give-back is scheduled or running");
        // A scrape is not the API's work: the request's wall-time limit (Limits:RequestSeconds) cancelled a scrape slower than it
        // — one queued behind another's collection, or on a loaded machine — and the exporter answered that cancellation
        // 408 (tester37b LOW-2). The exporter bounds a scrape itself (ScrapeResponseTimeoutMilliseconds, and a scraper's
        // X-Prometheus-Scrape-Timeout-Seconds).
        app.MapPrometheusScrapingEndpoint("/metrics").DisableRequestTimeout();
        return app;
    }
}
