using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SimService.Persistence.Postgres;
using SimService.Persistence.Sqlite;

namespace SimService.Persistence;

public static class PersistenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="SimDbContext"/> for the provider named by <c>Persistence:Provider</c>:
    /// <c>sqlite</c> (default; <c>ConnectionStrings:Sqlite</c>, else a file under <c>data/</c>) or
    /// <c>postgres</c> (<c>ConnectionStrings:Postgres</c>, required). SQLite's <c>PRAGMA synchronous</c> is
    /// <c>Persistence:SqliteSynchronous</c> (NORMAL, the default, or FULL; see <see cref="SqliteSynchronous"/>).
    /// The <see cref="CommandLogWriter"/> (group commit of the command log) is registered too.
    /// </summary>
    public static IServiceCollection AddPersistence(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<CommandLogWriter>();
        var provider = configuration["Persistence:Provider"] ?? "sqlite";
        services.AddScoped<TenantScope>();
        return provider.ToLowerInvariant() switch
        {
            "sqlite" => services.AddPooledDbContextFactory<SqliteSimDbContext>(options =>
                SqliteSimDbContext.Configure(QuietOnKeyRaces(options),
                    configuration.GetConnectionString("Sqlite") ?? SqliteSimDbContext.DefaultConnectionString,
                    configuration["Persistence:SqliteSynchronous"] ?? SqliteSynchronous.Normal)).AddScoped<SimDbContext>(Rent<SqliteSimDbContext>),
            "postgres" => services.AddPooledDbContextFactory<PostgresSimDbContext>(options =>
                PostgresSimDbContext.Configure(QuietOnKeyRaces(options),
                    configuration.GetConnectionString("Postgres") ?? throw new InvalidOperationException(
                        "Persistence:Provider is 'postgres' but ConnectionStrings:Postgres is not set."))).AddScoped<SimDbContext>(Rent<PostgresSimDbContext>),
            _ => throw new InvalidOperationException(
                $"Persistence:Provider '{provider}' is not supported; use 'sqlite' or 'postgres'."),
        };
    }

    /// <summary>
    /// The scope's (request's) context: rented from the pool (its options and internal services built once for the
    /// process; disposing it at the end of the scope returns it) and given the scope's tenant.
    /// </summary>
    private static SimDbContext Rent<TContext>(IServiceProvider services) where TContext : SimDbContext
    {
        var context = services.GetRequiredService<IDbContextFactory<TContext>>().CreateDbContext();
        context.Tenant = services.GetRequiredService<TenantScope>();
        return context;
    }

    /// <summary>
    /// A failed save is logged by EF Core at error level before the caller sees the exception. Two API processes
    /// racing for a simulation's next sequence key is expected and handled (the loser rebuilds and retries, and
    /// logs that at information level), so EF's own entries for a failed save or command are information; a
    /// failure nobody handles still reaches the API's exception handler, which logs it as an error.
    /// </summary>
    private static DbContextOptionsBuilder QuietOnKeyRaces(DbContextOptionsBuilder options) =>
        options.ConfigureWarnings(warnings => warnings.Log(
            (Microsoft.EntityFrameworkCore.Diagnostics.CoreEventId.SaveChangesFailed, Microsoft.Extensions.Logging.LogLevel.Information),
            (Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.CommandError, Microsoft.Extensions.Logging.LogLevel.Information)));

    /// <summary>
    /// Whether the configured database is there (SQLite: its file; PostgreSQL: the database on the server), asked without
    /// creating anything: the key commands refuse a database that is not, since a key made in a file no server reads
    /// (a mistyped path) would make every request with it a 401.
    /// </summary>
    public static async Task<bool> DatabaseExistsAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SimDbContext>()
            .GetService<Microsoft.EntityFrameworkCore.Storage.IRelationalDatabaseCreator>().ExistsAsync(cancellationToken);
    }

    /// <summary>Migrates the configured database and queues the clean-up of orphaned journal pages and half-removed deleted simulations; call once at start-up, before serving requests.</summary>
    public static async Task PrepareDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<SimDbContext>().PrepareAsync(cancellationToken);
        // Journal pages left by requests that will never commit (a process that died mid-request): deleted in the background.
        services.GetRequiredService<CommandLogWriter>().SweepOrphans();
        // Simulations deleted by a process that died before it had removed all their rows: finished in the background.
        services.GetRequiredService<CommandLogWriter>().SweepDeleted();
    }
}
