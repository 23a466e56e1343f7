using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Postgres;
using SimService.Persistence.Sqlite;

namespace SimService.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class MigrationsTests(ApiHosts hosts)
{
    private static readonly Dictionary<DatabaseProvider, string> ProviderNames = new()
    {
        [DatabaseProvider.Sqlite] = "Microsoft.EntityFrameworkCore.Sqlite",
        [DatabaseProvider.Postgres] = "Npgsql.EntityFrameworkCore.PostgreSQL",
    };

    /// <summary>Fails when an entity or configuration changed without <c>dotnet ef migrations add</c> for that provider.</summary>
    [Fact]
    public void Model_ForEachProvider_HasNoChangesMissingFromItsMigrations()
    {
        using var sqlite = new SqliteDesignTimeFactory().CreateDbContext([]);
        using var postgres = new PostgresDesignTimeFactory().CreateDbContext([]);

        Assert.False(sqlite.Database.HasPendingModelChanges(), "SQLite: add a migration (see README, Configuration).");
        Assert.False(postgres.Database.HasPendingModelChanges(), "PostgreSQL: add a migration (see README, Configuration).");
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Startup_AppliesEveryMigration(DatabaseProvider provider)
    {
        await using var scope = hosts.Services(provider).CreateAsyncScope();
        var database = scope.ServiceProvider.GetRequiredService<SimDbContext>().Database;

        Assert.Equal(ProviderNames[provider], database.ProviderName);
        Assert.Empty(await database.GetPendingMigrationsAsync());
        Assert.Equal(database.GetMigrations(), await database.GetAppliedMigrationsAsync());
    }
}
