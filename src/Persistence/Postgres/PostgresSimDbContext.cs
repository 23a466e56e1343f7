using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using NpgsqlTypes;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Postgres;

/// <summary>The multi-instance store: several API replicas on one PostgreSQL database.</summary>
public sealed class PostgresSimDbContext(DbContextOptions<PostgresSimDbContext> options) : SimDbContext(options)
{
    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(connectionString);

    /// <summary>
    /// Creates the database when it does not exist yet, then migrates. EF Core's migrator finds a missing database by
    /// opening a connection to it and logs that failed connection at error level before it creates the database;
    /// the creator's own existence check expects the failure and logs it at debug level. Another replica creating
    /// the same database at the same moment (42P04, duplicate_database) is as good as creating it.
    /// </summary>
    public override async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        var creator = this.GetService<Microsoft.EntityFrameworkCore.Storage.IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken))
        {
            try
            {
                await creator.CreateAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
            }
        }
        await base.PrepareAsync(cancellationToken);
    }

    /// <summary>
    /// A journal page by one binary <c>COPY … FROM STDIN</c> in the page's transaction: PostgreSQL's bulk path, a
    /// stream of rows rather than a statement per row (EF Core's batched INSERTs cost several times as much).
    /// </summary>
    public override async Task AppendJournalPageAsync(long writeId, IReadOnlyList<EventRecord> rows, int offset, int count,
        CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)Database.GetDbConnection();
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY \"Events\" (\"RunId\", \"Seq\", \"AtNs\", \"Type\", \"Host\", \"SocketId\", \"PayloadJson\", \"WriteId\", \"LastSeq\", \"LastAtNs\", \"Types\", \"Page\") FROM STDIN (FORMAT BINARY)",
            cancellationToken);
        for (int i = offset; i < offset + count; i++)
        {
            var e = rows[i];
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(e.RunId, NpgsqlDbType.Uuid, cancellationToken);
            await copy.WriteAsync(e.Seq, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(e.AtNs, NpgsqlDbType.Bigint, cancellationToken);
            if (e.Type is null) await copy.WriteNullAsync(cancellationToken);
            else await copy.WriteAsync(e.Type, NpgsqlDbType.Varchar, cancellationToken);
            if (e.Host is null) await copy.WriteNullAsync(cancellationToken);
            else await copy.WriteAsync(e.Host, NpgsqlDbType.Varchar, cancellationToken);
            if (e.SocketId is { } socket) await copy.WriteAsync(socket, NpgsqlDbType.Integer, cancellationToken);
            else await copy.WriteNullAsync(cancellationToken);
            if (e.PayloadJson is null) await copy.WriteNullAsync(cancellationToken);
            else await copy.WriteAsync(e.PayloadJson, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(writeId, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(e.LastSeq, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(e.LastAtNs, NpgsqlDbType.Bigint, cancellationToken);
            await copy.WriteAsync(e.Types, NpgsqlDbType.Integer, cancellationToken);
            if (e.Page is null) await copy.WriteNullAsync(cancellationToken);
            else await copy.WriteAsync(e.Page, NpgsqlDbType.Bytea, cancellationToken);
        }
        await copy.CompleteAsync(cancellationToken);
    }
}

/// <summary>Used by <c>dotnet ef</c> only; it never opens the database when adding a migration.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresSimDbContext>
{
    public PostgresSimDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<PostgresSimDbContext>();
        PostgresSimDbContext.Configure(options, "Host=localhost;Database=simservice;Username=postgres");
        return new PostgresSimDbContext(options.Options);
    }
}
