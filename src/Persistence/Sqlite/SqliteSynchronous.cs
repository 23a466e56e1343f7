using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace SimService.Persistence.Sqlite;

/// <summary>
/// Sets <c>PRAGMA synchronous</c> on every connection as it opens (the setting belongs to the connection, not to
/// the file). The database is in WAL mode (<see cref="SqliteSimDbContext.PrepareAsync"/>), where sqlite.org
/// (https://www.sqlite.org/pragma.html#pragma_synchronous) says: with <c>NORMAL</c> "WAL mode is always
/// consistent … but WAL mode does lose durability. A transaction committed in WAL mode with synchronous=NORMAL
/// might roll back following a power loss or system crash. Transactions are durable across application crashes
/// regardless of the synchronous setting or journal mode." So the default <c>NORMAL</c> keeps every acknowledged
/// command through a crash or kill of the API process; <c>FULL</c> (an fsync of the WAL at every commit) keeps it
/// through a power loss or an operating-system crash too. Configuration: <c>Persistence:SqliteSynchronous</c>.
/// </summary>
public sealed class SqliteSynchronous : DbConnectionInterceptor
{
    public const string Normal = "NORMAL";
    public const string Full = "FULL";

    private readonly string _pragma;

    /// <summary>One interceptor per mode for the process: EF Core keys its internal service provider on the options.</summary>
    public static SqliteSynchronous For(string mode) => mode.ToUpperInvariant() switch
    {
        Normal => NormalMode,
        Full => FullMode,
        _ => new SqliteSynchronous(mode),
    };

    private static readonly SqliteSynchronous NormalMode = new(Normal);
    private static readonly SqliteSynchronous FullMode = new(Full);

    private SqliteSynchronous(string mode)
    {
        var upper = mode.ToUpperInvariant();
        if (upper is not (Normal or Full))
            throw new InvalidOperationException($"Persistence:SqliteSynchronous '{mode}' is not supported; use NORMAL or FULL.");
        Mode = upper;
        _pragma = $"PRAGMA synchronous={upper};";
    }

    public string Mode { get; }

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _pragma;
        command.ExecuteNonQuery();
    }
}
