using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using SimService.Persistence;

namespace SimService.Api.Infrastructure;

public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddApiHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddDbContextCheck<SimDbContext>("database", tags: [ReadyTag]);
        return services;
    }

    /// <summary><c>/healthz</c>: the process answers (runs no check). <c>/readyz</c>: the database answers too.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }
}
