using Microsoft.AspNetCore.Http.Timeouts;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>What keeps hostile or careless input from costing more than a 4xx: Kestrel's limits and its own
/// rejections as problems, no <c>Server</c> header, JSON text checked before any endpoint reads it, and a
/// wall-time limit on every request.</summary>
public static class HardeningSetup
{
    /// <summary>The largest request body accepted (configuration <c>Limits:MaxRequestBodyBytes</c>, default 4 MiB).</summary>
    public const long DefaultMaxRequestBodyBytes = 4 * 1024 * 1024;

    /// <summary>How long one request may take, waiting included (configuration <c>Limits:RequestSeconds</c>, default 10).</summary>
    public const int DefaultRequestSeconds = 10;

    /// <summary>
    /// How long one workload request may take (configuration <c>Limits:WorkloadSeconds</c>, default 300): a
    /// workload is many connections in one command by design, so it has its own, larger bound.
    /// </summary>
    public const int DefaultWorkloadSeconds = 300;

    /// <summary>The request-timeout policy name of the workload endpoint.</summary>
    public const string WorkloadPolicy = "workload";

    /// <summary>
    /// The request-timeout policy of work as heavy as the log it replays (a replay, the time series, the socket table at a
    /// past time): configuration <c>Limits:HeavySeconds</c>, by default <c>Limits:WorkloadSeconds</c> — what one command
    /// may take to build, a look back over it may take to rebuild.
    /// </summary>
    public const string HeavyPolicy = "heavy";

    public static WebApplicationBuilder AddApiHardening(this WebApplicationBuilder builder)
    {
        var maxBody = builder.Configuration.GetValue("Limits:MaxRequestBodyBytes", DefaultMaxRequestBodyBytes);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxBody;
            kestrel.ConfigureEndpointDefaults(listen => listen.UseProblemsForRejectedRequests());
        });

        // The request's token (RequestAborted) is cancelled after the limit as when the client leaves: the engine
        // checks it between events, the command is not acknowledged, and the engine is rebuilt from the log.
        builder.Services.AddWebHygiene(builder.Configuration);
        var seconds = builder.Configuration.GetValue("Limits:RequestSeconds", DefaultRequestSeconds);
        var workloadSeconds = builder.Configuration.GetValue("Limits:WorkloadSeconds", DefaultWorkloadSeconds);
        var heavySeconds = builder.Configuration.GetValue("Limits:HeavySeconds", workloadSeconds);
        builder.Services.AddRequestTimeouts(options =>
        {
            options.DefaultPolicy = WallTimeLimit(new("Limits:RequestSeconds", seconds, Reads: false,
                "Use a smaller event budget, advance in smaller steps, or run a shorter scenario or script.",
                "Ask for less at a time: a page of the journal or the log, a time range (fromNs, toNs) of a capture or diagram."));
            options.AddPolicy(WorkloadPolicy, WallTimeLimit(new("Limits:WorkloadSeconds", workloadSeconds, Reads: false,
                "Use fewer connections or a smaller event budget.", "")));
            options.AddPolicy(HeavyPolicy, WallTimeLimit(new("Limits:HeavySeconds", heavySeconds, Reads: true, "",
                "It replays the simulation's whole log, and this log takes longer than that to replay: the limit is the service's setting.")));
        });
        return builder;
    }

    /// <summary>
    /// Marks an endpoint whose work is as heavy as the log it replays (<see cref="Engines.HeavyReads"/>): it runs under
    /// <see cref="HeavyPolicy"/> and documents what that answers besides the group's 429 busy — a 422 <c>work-limit</c> once
    /// the work ran past <c>Limits:HeavySeconds</c>, a 503 <c>service-stopping</c> when the service stops under it.
    /// </summary>
    public static RouteHandlerBuilder AsHeavyRead(this RouteHandlerBuilder builder)
    {
        builder.WithRequestTimeout(HeavyPolicy);
        return builder.ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    static RequestTimeoutPolicy WallTimeLimit(WallTimeLimit limit) => new()
    {
        Timeout = TimeSpan.FromSeconds(limit.Seconds),
        TimeoutStatusCode = StatusCodes.Status422UnprocessableEntity,
        WriteTimeoutResponse = context => RequestWork.WriteTimeout(context, limit),
    };

    public static WebApplication UseApiHardening(this WebApplication app)
    {
        app.UseWebHygiene();
        app.UseRequestTimeouts();
        app.Use(RequestWork.Track);
        app.UseMiddleware<EmptyBodyDetection>();
        app.UseMiddleware<JsonTextCheck>();
        app.Use(QueryParameters.Check);
        return app;
    }
}
