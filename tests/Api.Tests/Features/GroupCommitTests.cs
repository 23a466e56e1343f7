using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Commands;
using SimService.Domain.Time;
using SimService.Persistence;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;
using SimService.Persistence.Sqlite;
using Microsoft.Data.Sqlite;

namespace SimService.Api.Tests.Features;

/// <summary>
/// Group commit (<see cref="CommandLogWriter"/>): commands of many simulations that arrive while a transaction is
/// being written share the next one; each is acknowledged only after that commits; a stale append is refused
/// alone, as a value, without failing the others or logging an error.
/// </summary>
public sealed class GroupCommitTests
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task CommitInProgress_CommandsToEightSimulations_AreWrittenTogetherInTheNextTransaction(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        var hold = new HeldTransaction();
        await using var api = new SimServiceFactory(database, services => hold.Race.Install(services, provider));
        var client = api.CreateClient();
        var sims = new List<SimulationDriver>();
        for (int i = 0; i < 9; i++) sims.Add(await SimulationDriver.TwoHostsAsync(client, $"group {i}"));
        var writer = api.Services.GetRequiredService<CommandLogWriter>();
        long before = writer.Transactions;

        hold.Race.Arm();
        var first = sims[0].PostAsync("advance", new { byNs = 1_000_000 });
        await hold.Started.Task;
        var rest = sims.Skip(1).Select(s => s.PostAsync("advance", new { byNs = 1_000_000 })).ToList();
        while (writer.Queued < rest.Count) await Task.Yield();
        Assert.False(first.IsCompleted); // not acknowledged before its commit
        hold.Release.SetResult();
        var responses = await Task.WhenAll([first, .. rest]);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(2, writer.Transactions - before);
        foreach (var sim in sims)
        {
            Assert.Equal(4, await sim.VersionAsync());
            Assert.Equal(1_000_000, (await sim.ClockAsync()).NowNs);
            Assert.True((await sim.ReplayAsync()).Identical);
        }
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task OneGroup_StaleAppendBesideAFreshOne_StaleIsRefusedAloneAndNothingIsLoggedAsError(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        var hold = new HeldTransaction();
        var logs = new ErrorLog();
        await using var api = new SimServiceFactory(database, services =>
        {
            hold.Race.Install(services, provider);
            services.AddSingleton<ILoggerProvider>(logs);
        });
        var client = api.CreateClient();
        var stale = await SimulationDriver.TwoHostsAsync(client, "stale");
        var fresh = await SimulationDriver.TwoHostsAsync(client, "fresh");
        var writer = api.Services.GetRequiredService<CommandLogWriter>();
        // Only the race counts: on a fresh PostgreSQL test database, start-up's MigrateAsync() probes the database
        // before creating it, and EF logs that expected failure as a ConnectionError at error level.
        logs.Clear();

        hold.Race.Arm();
        var opener = writer.AppendAsync(Advance(fresh.Id, from: 3));
        await hold.Started.Task;
        // Another process appended command 4 to "stale" already: this append still believes the version is 3...
        var lost = writer.AppendAsync(Advance(stale.Id, from: 2));
        var won = writer.AppendAsync(Advance(fresh.Id, from: 4));
        while (writer.Queued < 2) await Task.Yield();
        hold.Release.SetResult();

        Assert.Equal(AppendResult.Committed, await opener);
        Assert.Equal(AppendResult.VersionMoved, await lost);
        Assert.Equal(AppendResult.Committed, await won);
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        Assert.Equal([1L, 2, 3], await db.Commands.Where(c => c.RunId == stale.Id).OrderBy(c => c.Seq).Select(c => c.Seq).ToListAsync());
        Assert.Equal([1L, 2, 3, 4, 5], await db.Commands.Where(c => c.RunId == fresh.Id).OrderBy(c => c.Seq).Select(c => c.Seq).ToListAsync());
        Assert.Equal(3, (await db.Simulations.SingleAsync(r => r.Id == stale.Id)).Version);
        Assert.Empty(logs.Errors);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Queued_CallerGoneBeforeItsTransaction_IsCancelledAndNothingIsWritten(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        var hold = new HeldTransaction();
        await using var api = new SimServiceFactory(database, services => hold.Race.Install(services, provider));
        var client = api.CreateClient();
        var busy = await SimulationDriver.TwoHostsAsync(client, "busy");
        var gone = await SimulationDriver.TwoHostsAsync(client, "gone");
        var writer = api.Services.GetRequiredService<CommandLogWriter>();

        hold.Race.Arm();
        var opener = writer.AppendAsync(Advance(busy.Id, from: 3));
        await hold.Started.Task;
        using var caller = new CancellationTokenSource();
        var abandoned = writer.AppendAsync(Advance(gone.Id, from: 3), caller.Token);
        while (writer.Queued < 1) await Task.Yield();
        await caller.CancelAsync();
        hold.Release.SetResult();

        Assert.Equal(AppendResult.Committed, await opener);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(3, await gone.VersionAsync());
        Assert.Equal(4, await busy.VersionAsync());
    }

    [Fact]
    public async Task IdleWriter_AppendOnSqlite_IsCommittedOnTheCallersThreadBeforeAppendReturns()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var api = new SimServiceFactory(database);
        var sim = await SimulationDriver.TwoHostsAsync(api.CreateClient(), "leader");
        var writer = api.Services.GetRequiredService<CommandLogWriter>();
        await writer.WhenIdleAsync();
        long before = writer.Transactions;

        var appended = writer.AppendAsync(Advance(sim.Id, from: 3));

        // The append found the writer idle, so it led: its own group was written and committed on this thread (SQLite's
        // statements complete synchronously), and nothing was handed to another thread to acknowledge it.
        Assert.True(appended.IsCompletedSuccessfully);
        Assert.Equal(AppendResult.Committed, await appended);
        Assert.Equal(before + 1, writer.Transactions);
        Assert.Equal(4, await sim.VersionAsync());
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    [Fact]
    public async Task SqliteGroup_InsertFailsAfterItsVersionMove_WholeTransactionRolledBackAndTheNextAppendCommits()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var api = new SimServiceFactory(database);
        var sim = await SimulationDriver.TwoHostsAsync(api.CreateClient(), "rollback");
        var writer = api.Services.GetRequiredService<CommandLogWriter>();
        await writer.WhenIdleAsync();
        long before = writer.Transactions;

        // The version move (3 → 4) succeeds, then the command row collides with the stored command 3: SQLite's raw
        // transaction must roll the move back with it, and leave the writer's connection usable.
        var good = Advance(sim.Id, from: 3);
        var clash = new CommandRecord { RunId = sim.Id, Seq = 3, AtNs = 0, Type = good.Commands[0].Type, PayloadJson = good.Commands[0].PayloadJson };
        var broken = good with { Commands = [clash] };
        await Assert.ThrowsAnyAsync<Microsoft.Data.Sqlite.SqliteException>(() => writer.AppendAsync(broken));
        Assert.Equal(before, writer.Transactions);
        Assert.Equal(3, await sim.VersionAsync());

        Assert.Equal(AppendResult.Committed, await writer.AppendAsync(Advance(sim.Id, from: 3)));
        Assert.Equal(before + 1, writer.Transactions);
        Assert.Equal(4, await sim.VersionAsync());
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    [Theory]
    [InlineData(null, 1L)] // the default, NORMAL: durable across a crash of the process, not a power loss
    [InlineData("FULL", 2L)]
    public async Task SqliteConnection_SynchronousSetting_IsWalWithThatSynchronousLevel(string? setting, long level)
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var api = new SimServiceFactory(database, settings: setting is null
            ? new Dictionary<string, string?>()
            : new Dictionary<string, string?> { ["Persistence:SqliteSynchronous"] = setting });
        api.CreateClient();
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        await db.Database.OpenConnectionAsync();
        using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA synchronous";
        Assert.Equal(level, (long)(await command.ExecuteScalarAsync())!);
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task SqliteWriter_CommitsPastTheAutoCheckpointSize_LogIsCheckpointedBesideTheWriterNotInItsCommits()
    {
        var folder = Directory.CreateTempSubdirectory("simservice-wal-");
        try
        {
            var path = Path.Combine(folder.FullName, "wal.db");
            using var writer = new SqliteConnection($"Data Source={path};Pooling=False");
            writer.Open();
            Execute(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE Rows (Data BLOB);");
            Execute(writer, "PRAGMA wal_checkpoint(TRUNCATE);");
            long databaseBytes = new FileInfo(path).Length;
            using var checkpoints = WalCheckpoints.Take(writer)!;
            var blob = new byte[200_000]; // ≈ 49 pages a transaction: 30 of them are 1,470 pages, past SQLite's 1,000

            for (int i = 0; i < 30; i++) Commit(writer, checkpoints, blob);

            // SQLite's own checkpoint would have copied the log into the database file inside one of these commits.
            Assert.Equal(databaseBytes, new FileInfo(path).Length);
            Assert.Equal(0, checkpoints.Runs);
            for (int i = 30; i < WalCheckpoints.CommitsPerCheckpoint; i++) Commit(writer, checkpoints, blob);
            var deadline = DateTime.UtcNow.AddSeconds(120); // a bound for a thread-pool item on a loaded machine, not a wait
            while (checkpoints.Runs == 0 && DateTime.UtcNow < deadline) await Task.Yield();

            Assert.Equal(1, checkpoints.Runs);
            Assert.True(new FileInfo(path).Length >= WalCheckpoints.CommitsPerCheckpoint * blob.Length,
                $"the database file holds {new FileInfo(path).Length} bytes after the background checkpoint");
            Assert.InRange(checkpoints.LogPages, WalCheckpoints.CommitsPerCheckpoint * 49, WalCheckpoints.FallBackPages);
            Commit(writer, checkpoints, blob); // the log starts afresh: the writer goes on as before
            using var count = writer.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM Rows";
            Assert.Equal(WalCheckpoints.CommitsPerCheckpoint + 1L, (long)count.ExecuteScalar()!);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }

        static void Commit(SqliteConnection writer, WalCheckpoints checkpoints, byte[] blob)
        {
            using var insert = writer.CreateCommand();
            insert.CommandText = "INSERT INTO Rows (Data) VALUES ($data)";
            insert.Parameters.AddWithValue("$data", blob);
            insert.ExecuteNonQuery();
            checkpoints.Committed();
        }

        static void Execute(SqliteConnection connection, string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    private static LogAppend Advance(Guid id, long from)
    {
        var command = new AdvanceCommand(AdvanceMode.By, SimDuration.FromMilliseconds(1), 1_000);
        var record = new CommandRecord
        {
            RunId = id, Seq = from + 1, AtNs = 0,
            Type = CommandTypeMap.DiscriminatorOf(command), PayloadJson = CommandTypeMap.Payload(command),
        };
        return new LogAppend(id, from, from + 1, [record], []);
    }

    /// <summary>Holds the next transaction the host starts until <see cref="Release"/> is completed.</summary>
    private sealed class HeldTransaction
    {
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly RaceBeforeNextWrite Race;

        public HeldTransaction() => Race = new RaceBeforeNextWrite(async () =>
        {
            Started.SetResult();
            await Release.Task;
        });
    }

    /// <summary>Keeps what the host logs at error level or above.</summary>
    private sealed class ErrorLog : ILoggerProvider, ILogger
    {
        private readonly List<string> _errors = [];

        public IReadOnlyList<string> Errors { get { lock (_errors) return [.. _errors]; } }

        public void Clear() { lock (_errors) _errors.Clear(); }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) lock (_errors) _errors.Add(formatter(state, exception));
        }

        public void Dispose()
        {
        }
    }
}
