using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using SimService.Persistence.Postgres;
using SimService.Persistence.Sqlite;

namespace SimService.Api.Tests.Infrastructure;

/// <summary>EF Core interceptors a test puts into the API's database context, to run its own step at a chosen moment.</summary>
internal static class Interceptors
{
    /// <summary>Adds <paramref name="interceptor"/> to the context of <paramref name="provider"/> the API rents.</summary>
    public static void Install(IServiceCollection services, DatabaseProvider provider, IInterceptor interceptor)
    {
        void Add(DbContextOptionsBuilder options) => options.AddInterceptors(interceptor);
        if (provider == DatabaseProvider.Sqlite) services.ConfigureDbContext<SqliteSimDbContext>(Add);
        else services.ConfigureDbContext<PostgresSimDbContext>(Add);
    }
}

/// <summary>Awaits <see cref="BeforeAsync"/> before every command the host runs, in each form EF Core runs one (rows, a count, a scalar).</summary>
internal abstract class BeforeCommands : DbCommandInterceptor
{
    protected abstract Task BeforeAsync(DbCommand command);

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(command);
        return result;
    }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(command);
        return result;
    }

    public override async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(command);
        return result;
    }
}
