using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Entities;
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

    /// <summary>
    /// An existing SQLite database keeps its command log through CommandsWithoutRowid (the table rebuilt clustered on
    /// (RunId, Seq)), and Down gives the rowid table back with the same rows.
    /// </summary>
    [Fact]
    public async Task CommandsWithoutRowid_OnAnExistingSqliteDatabase_KeepsEveryCommandBothWays()
    {
        var folder = Directory.CreateTempSubdirectory("simservice-migrate-");
        try
        {
            var options = new DbContextOptionsBuilder<SqliteSimDbContext>();
            SqliteSimDbContext.Configure(options, $"Data Source={Path.Combine(folder.FullName, "old.db")};Pooling=False");
            await using var db = new SqliteSimDbContext(options.Options);
            var migrator = db.GetService<IMigrator>();
            await migrator.MigrateAsync("20261204045454_JournalPages");
            var run = new SimulationRun
            {
                Id = Guid.Parse("019ae000-0000-7000-8000-000000000001"), Name = "old", Profile = "linux", Seed = 7,
                CreatedAt = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero),
            };
            db.Simulations.Add(run);
            db.Commands.AddRange(Enumerable.Range(1, 3).Select(seq => new CommandRecord
            {
                RunId = run.Id, Seq = seq, AtNs = seq * 1_000_000L, Type = "advance", PayloadJson = $"{{\"n\":{seq}}}",
            }));
            await db.SaveChangesAsync();
            Assert.DoesNotContain("WITHOUT ROWID", await CommandsTableSql(db));

            await migrator.MigrateAsync();

            Assert.EndsWith("WITHOUT ROWID", await CommandsTableSql(db));
            Assert.Equal([(1L, 1_000_000L, "{\"n\":1}"), (2L, 2_000_000L, "{\"n\":2}"), (3L, 3_000_000L, "{\"n\":3}")],
                await CommandsOf(db, run.Id));

            await migrator.MigrateAsync("20261204045454_JournalPages");

            Assert.DoesNotContain("WITHOUT ROWID", await CommandsTableSql(db));
            Assert.Equal(3, (await CommandsOf(db, run.Id)).Count);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    private static async Task<string> CommandsTableSql(SimDbContext db) =>
        (await db.Database.SqlQueryRaw<string>("SELECT \"sql\" AS \"Value\" FROM sqlite_master WHERE \"name\" = 'Commands'").ToListAsync()).Single();

    private static async Task<List<(long Seq, long AtNs, string Payload)>> CommandsOf(SimDbContext db, Guid runId) =>
        (await db.Commands.AsNoTracking().Where(c => c.RunId == runId).OrderBy(c => c.Seq).ToListAsync())
            .Select(c => (c.Seq, c.AtNs, c.PayloadJson)).ToList();
}
