using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using SimService.Persistence;
using SimService.Persistence.Postgres;
using SimService.Persistence.Sqlite;

namespace SimService.Api.Tests.Infrastructure;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A database of its own for a test host: a SQLite file in a fresh temporary folder, or a freshly named
/// database on the PostgreSQL server given by <see cref="PostgresVariable"/> (the host's migrations create it).
/// </summary>
public abstract class TestDatabase : IAsyncDisposable
{
    /// <summary>An Npgsql connection string for a server the tests may create and drop databases on.</summary>
    public const string PostgresVariable = "SIMSERVICE_TEST_POSTGRES";

    private static readonly string? PostgresServer = Environment.GetEnvironmentVariable(PostgresVariable);

    /// <summary>Every provider the tests can reach here: SQLite always, PostgreSQL when the variable is set.</summary>
    public static IReadOnlyList<DatabaseProvider> Available { get; } = string.IsNullOrWhiteSpace(PostgresServer)
        ? [DatabaseProvider.Sqlite]
        : [DatabaseProvider.Sqlite, DatabaseProvider.Postgres];

    public static TestDatabase Create(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Sqlite => new SqliteTestDatabase(),
        DatabaseProvider.Postgres => new PostgresTestDatabase(PostgresServer
            ?? throw new InvalidOperationException($"{PostgresVariable} is not set.")),
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    };

    /// <summary>Configuration that points the API at this database.</summary>
    public abstract IReadOnlyDictionary<string, string?> Settings { get; }

    /// <summary>A context on the database given by <paramref name="settings"/> (this one's by default), opened by the test itself, not by a host: no start-up work runs.</summary>
    public static SimDbContext Open(IReadOnlyDictionary<string, string?> settings)
    {
        if (settings["Persistence:Provider"] == "postgres")
        {
            var postgres = new DbContextOptionsBuilder<PostgresSimDbContext>();
            PostgresSimDbContext.Configure(postgres, settings["ConnectionStrings:Postgres"]!);
            return new PostgresSimDbContext(postgres.Options);
        }
        var sqlite = new DbContextOptionsBuilder<SqliteSimDbContext>();
        SqliteSimDbContext.Configure(sqlite, settings["ConnectionStrings:Sqlite"]!);
        return new SqliteSimDbContext(sqlite.Options);
    }

    public SimDbContext Open() => Open(Settings);

    /// <summary>Makes the database unreachable for a host that is already running.</summary>
    public abstract Task BreakAsync();

    public abstract ValueTask DisposeAsync();
}

internal sealed class SqliteTestDatabase : TestDatabase
{
    private readonly string _folder = Directory.CreateTempSubdirectory("simservice-test-").FullName;

    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Persistence:Provider"] = "sqlite",
        ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(_folder, "data", "simservice.db")}",
    };

    public override Task BreakAsync()
    {
        DeleteFolder();
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        DeleteFolder();
        return ValueTask.CompletedTask;
    }

    private void DeleteFolder()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }
}

internal sealed class PostgresTestDatabase(string server) : TestDatabase
{
    private readonly string _name = $"simservice_test_{Guid.NewGuid():N}";

    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Persistence:Provider"] = "postgres",
        ["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(server) { Database = _name }.ConnectionString,
    };

    public override Task BreakAsync() => DropAsync();

    public override async ValueTask DisposeAsync() => await DropAsync();

    private async Task DropAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Database = "postgres" }.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
