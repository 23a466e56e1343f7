using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace SimService.Persistence.Sqlite;

/// <summary>
/// The embedded default: one SQLite file in write-ahead-log mode, every connection with the
/// <see cref="SqliteSynchronous"/> setting (NORMAL unless configured: durable across a crash of the process).
/// </summary>
public sealed class SqliteSimDbContext(DbContextOptions<SqliteSimDbContext> options, TenantScope tenant) : SimDbContext(options, tenant)
{
    public const string DefaultConnectionString = "Data Source=data/simservice.db";

    public static void Configure(DbContextOptionsBuilder options, string connectionString, string synchronous = SqliteSynchronous.Normal) =>
        options.UseSqlite(connectionString).AddInterceptors(SqliteSynchronous.For(synchronous));

    public override async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        CreateDataDirectory();
        await base.PrepareAsync(cancellationToken);
        // WAL lets readers proceed while a writer commits; the mode is stored in the file, so this is idempotent.
        await Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTextConverter>();

    private void CreateDataDirectory()
    {
        var builder = new SqliteConnectionStringBuilder(Database.GetConnectionString());
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:") return;
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
    }
}

/// <summary>Used by <c>dotnet ef</c> only; it never opens the database when adding a migration.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteSimDbContext>
{
    public SqliteSimDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<SqliteSimDbContext>();
        SqliteSimDbContext.Configure(options, SqliteSimDbContext.DefaultConnectionString);
        return new SqliteSimDbContext(options.Options, new TenantScope());
    }
}
