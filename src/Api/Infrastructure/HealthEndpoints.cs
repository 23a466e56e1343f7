using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using SimService.Persistence;

namespace SimService.Api.Infrastructure;

public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddApiHealthChecks(this IServiceCollection services)
    {
        // A real query, not CanConnect: a pooled connection to a dropped database still "connects", and a
        // missing SQLite file would be created empty. An exception from the query reports Unhealthy.
        services.AddHealthChecks().AddDbContextCheck<SimDbContext>("database", tags: [ReadyTag],
            customTestQuery: async (db, cancellationToken) =>
            {
                await db.Simulations.AnyAsync(cancellationToken);
                return true;
            });
        return services;
    }

    /// <summary><c>/healthz</c>: the process answers (runs no check). <c>/readyz</c>: the database answers a query too.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }
}
