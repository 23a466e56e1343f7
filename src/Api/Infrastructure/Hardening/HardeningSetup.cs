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
        builder.Services.AddRequestTimeouts(options =>
        {
            options.DefaultPolicy = WallTimeLimit(seconds, "Use a smaller event budget or advance in smaller steps.");
            options.AddPolicy(WorkloadPolicy, WallTimeLimit(workloadSeconds, "Use fewer connections or a smaller event budget."));
        });
        return builder;
    }

    static RequestTimeoutPolicy WallTimeLimit(int seconds, string advice) => new()
    {
        Timeout = TimeSpan.FromSeconds(seconds),
        TimeoutStatusCode = StatusCodes.Status422UnprocessableEntity,
        WriteTimeoutResponse = context => { Observability.ServiceMetrics.WorkLimitHits.Add(1); return ErrorMapping.WorkLimit(null,
            $"The request did not finish within the {seconds} s limit on one request's wall time; nothing was applied. " + advice,
            null).ExecuteAsync(context); },
    };

    public static WebApplication UseApiHardening(this WebApplication app)
    {
        app.UseWebHygiene();
        app.UseRequestTimeouts();
        app.UseMiddleware<EmptyBodyDetection>();
        app.UseMiddleware<JsonTextCheck>();
        return app;
    }
}
