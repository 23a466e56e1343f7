using Microsoft.EntityFrameworkCore;
using SimService.Persistence.Sqlite;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// The key commands of the API binary (<c>dotnet SimService.Api.dll keys …</c>) as an operator runs them: every
/// command takes the host's configuration arguments, and bad input is one line on standard error and a non-zero exit.
/// </summary>
[Collection(RealProcessCollection.Name)]
public sealed class KeyCommandsTests
{
    private static Task<(int Exit, string Out, string Error)> KeysAsync(params string[] args) =>
        ApiProcess.RunToExitAsync(["keys", .. args]);

    /// <summary>
    /// What the key commands call a failure of the configured database (exit 3, "the configured database could not be used"):
    /// the database's own exceptions, however deeply wrapped, and a malformed connection string — not a fault of the key
    /// store's code, which keeps its trace (review39b N-2: every exception but a cancellation was reported as the database's).
    /// </summary>
    [Theory]
    [InlineData("null reference", false)]
    [InlineData("invalid operation", false)]
    [InlineData("malformed connection string", true)]
    [InlineData("SQLite error, wrapped", true)]
    public void DatabaseFailure_TheDatabasesOnly(string what, bool database)
    {
        Exception exception = what switch
        {
            "null reference" => new NullReferenceException(),
            "invalid operation" => new InvalidOperationException("No service for type 'ApiKeyStore' has been registered."),
            "malformed connection string" => new ArgumentException("Format of the initialization string does not conform to specification starting at index 0."),
            _ => new InvalidOperationException("An error occurred", new Microsoft.Data.Sqlite.SqliteException("SQLite Error 26: 'file is not a database'.", 26)),
        };

        Assert.Equal(database, SimService.Api.Infrastructure.Tenancy.ApiKeyCommands.IsDatabaseFailure(exception));
    }

    [Fact]
    public async Task EveryCommand_TakesConfigurationArguments_AndBadInputIsOneLineAndNonZero()
    {
        var folder = Directory.CreateTempSubdirectory("simservice-keys-").FullName;
        try
        {
            var database = $"--ConnectionStrings:Sqlite=Data Source={Path.Combine(folder, "keys.db")}";
            await CreateDatabaseAsync(Path.Combine(folder, "keys.db"));

            var created = await KeysAsync("create", "--tenant", "acme", database, "--name", "ci");
            var id = created.Out.Split(' ')[2];
            var listed = await KeysAsync("list", database);
            var revoked = await KeysAsync("revoke", id, "--Persistence:Provider", "sqlite", database);
            var listedAgain = await KeysAsync(database, "list");

            Assert.Equal((0, ""), (created.Exit, created.Error));
            Assert.Equal((0, ""), (listed.Exit, listed.Error));
            Assert.Contains($"{id}  acme", listed.Out, StringComparison.Ordinal);
            Assert.Equal((0, $"Revoked key {id}.\n"), (revoked.Exit, revoked.Out));
            Assert.Matches(@$"{id}  acme +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ  \d{{4}}-", listedAgain.Out);

            // Both forms of an option: --tenant=T --name=N (until 2026-12-05 read as configuration, the name silently dropped).
            var equalsForm = await KeysAsync("create", "--tenant=globex", $"--ConnectionStrings:Sqlite=Data Source={Path.Combine(folder, "keys.db")}", "--name=nightly ci");
            Assert.Equal((0, ""), (equalsForm.Exit, equalsForm.Error));
            Assert.Matches(@$"{equalsForm.Out.Split(' ')[2]}  globex .*  nightly ci\n", (await KeysAsync("list", database)).Out);
            var help = await KeysAsync("--help");
            Assert.Equal((0, ""), (help.Exit, help.Error));
            Assert.StartsWith("usage: keys create --tenant TENANT [--name NAME]", help.Out, StringComparison.Ordinal);

            foreach (var bad in new[]
            {
                new[] { "revoke", id, "--ConnectionStrings:Sqlite=x" },
                ["list", "--Persistence:Provider=mongo", database],
                ["list", "extra", database],
                ["create", "--tenant", "a b", database],
                ["create", database],
                ["frobnicate", database],
                ["revoke", "no-such-key", database],
                ["create", "--tenant=acme", "--name=", database],
                ["create", "--tenant", "acme", "--name", "  ", database],
                ["create", "--tenant", "acme", "--name", "a\u001b[31mred", database],
                ["create", "--tenant", "acme", "--name", new string('n', 201), database],
                ["create", "--tenant", "acme", "--Name", "ci", database],
                ["create", "--tenant", "acme", "--name", "ci", "--name=again", database],
                ["adopt", "--tenant=acme", "--name=ci", database],
            })
            {
                var (exit, _, error) = await KeysAsync(bad);
                Assert.True(exit != 0, $"keys {string.Join(' ', bad)} exited 0");
                Assert.Single(error.TrimEnd('\n').Split('\n'));
                Assert.StartsWith("keys: ", error, StringComparison.Ordinal);
            }
            // The exit codes a script tells apart (tester39 LOW-4: a setting the service cannot take was 1, an unknown key id's).
            Assert.Equal(3, (await KeysAsync("list", "--Persistence:Provider=mongo", database)).Exit);
            Assert.Equal(3, (await KeysAsync("list", "--Engines:Capacity=abc", database)).Exit);
            Assert.Equal(1, (await KeysAsync("revoke", "no-such-key", database)).Exit);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// A mistyped database path is exit 3 for every command, and nothing is made there: until session 33 `keys list`
    /// and `keys create` made the folders and a migrated database, so a key could land in a file no server reads.
    /// </summary>
    [Fact]
    public async Task AMissingDatabase_IsExit3_AndNothingIsCreated()
    {
        var folder = Directory.CreateTempSubdirectory("simservice-keys-").FullName;
        try
        {
            var inMissingFolder = Path.Combine(folder, "typo", "keys.db");
            var missingFile = Path.Combine(folder, "keys.db");
            foreach (var path in new[] { inMissingFolder, missingFile })
            {
                var database = $"--ConnectionStrings:Sqlite=Data Source={path}";
                foreach (var command in new[] { new[] { "list" }, ["create", "--tenant", "acme"], ["revoke", "663d6dff40d350df"], ["adopt", "--tenant", "acme"] })
                {
                    var (exit, output, error) = await KeysAsync([.. command, database]);
                    Assert.Equal((3, ""), (exit, output));
                    Assert.Equal("keys: the configured database does not exist; key commands never create one (start the service once with the same configuration: it creates and migrates it)\n", error);
                }
            }
            Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The database as the service leaves it at its start: created and migrated.</summary>
    private static async Task CreateDatabaseAsync(string path)
    {
        var options = new DbContextOptionsBuilder<SqliteSimDbContext>();
        SqliteSimDbContext.Configure(options, $"Data Source={path}");
        await using var context = new SqliteSimDbContext(options.Options);
        await context.PrepareAsync();
    }
}
