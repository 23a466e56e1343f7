using System.Globalization;
using SimService.Persistence;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>
/// The operator's key commands, run by the API binary against its configured database instead of serving:
/// <c>keys create --tenant T [--name N]</c> prints the new key once, <c>keys list</c> prints every key (never the
/// key itself), <c>keys revoke ID</c> revokes one, <c>keys adopt --tenant T</c> hands the simulations made while keys were off
/// (they have no tenant, and no tenant sees them) to tenant T. Every command takes the host's configuration arguments
/// anywhere after it (<c>--ConnectionStrings:Sqlite=…</c>, <c>--Persistence:Provider postgres</c>), as the server does.
/// Exit code 0 on success, 1 for an unknown key id, 2 for bad usage, 3 when the configured database cannot be opened;
/// every failure is one line on standard error.
/// </summary>
public static class ApiKeyCommands
{
    public const string Usage =
        "usage: keys create --tenant TENANT [--name NAME] | keys list | keys revoke ID | keys adopt --tenant TENANT (each with any configuration arguments, e.g. --ConnectionStrings:Sqlite=...)";

    /// <summary>Runs the command <paramref name="args"/> names; <paramref name="build"/> makes the host's services once the arguments are known to be good.</summary>
    public static async Task<int> RunAsync(Func<IServiceProvider> build, string[] args)
    {
        var own = OwnArguments(args);
        if (own is ["help" or "--help" or "-h"])
        {
            Console.WriteLine(Usage);
            return 0;
        }
        var command = Parse(own);
        if (command.Error is { } error)
        {
            Console.Error.WriteLine($"keys: {error}. {Usage}");
            return 2;
        }
        try
        {
            var services = build();
            if (!await services.DatabaseExistsAsync())
            {
                // A key command never creates a database (nor a SQLite file's folder): the service does, at its start.
                Console.Error.WriteLine("keys: the configured database does not exist; key commands never create one (start the service once with the same configuration: it creates and migrates it)");
                return 3;
            }
            await services.PrepareDatabaseAsync();
            await using var scope = services.CreateAsyncScope();
            return await command.Run!(scope.ServiceProvider.GetRequiredService<ApiKeyStore>());
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            Console.Error.WriteLine($"keys: {ServiceSettings.DatabaseFailure(exception)}");
            return 3;
        }
    }

    /// <summary>
    /// A failure of the configured database as the service's start judges one (<see cref="ServiceSettings.IsDatabaseFailure"/>),
    /// or a malformed connection string (ArgumentException); a fault of the key store's own code is not, and keeps its trace
    /// (review39b N-2: every exception was "the configured database could not be used").
    /// </summary>
    public static bool IsDatabaseFailure(Exception exception) => ServiceSettings.IsDatabaseFailure(exception) || exception is ArgumentException;

    private sealed record Command(Func<ApiKeyStore, Task<int>>? Run, string? Error);

    private static Command Fail(string error) => new(null, error);

    private static Command Parse(List<string> args)
    {
        switch (args)
        {
            case []:
                return Fail("no command given");
            case ["list"]:
                return new(List, null);
            case ["revoke", var id] when !id.StartsWith('-'):
                return new(keys => Revoke(keys, id), null);
            case ["create" or "adopt", .. var rest]:
                bool create = args[0] == "create";
                if (Options(rest, create ? ["--tenant", "--name"] : ["--tenant"], out var options) is { } problem) return Fail(problem);
                if (!options.TryGetValue("--tenant", out var tenant)) return Fail($"'{args[0]}' needs --tenant TENANT");
                if (!ValidTenant(tenant)) return Fail($"'{tenant}' is not a tenant id (1-64 letters, digits, '-', '_', '.')");
                var name = options.GetValueOrDefault("--name");
                if (name is not null && InvalidName(name) is { } bad) return Fail(bad);
                return create ? new(keys => Create(keys, tenant, name), null) : new(keys => Adopt(keys, tenant), null);
            case ["list" or "revoke", ..]:
                return Fail($"'{args[0]}' takes {(args[0] == "list" ? "no arguments" : "one key id")}; found '{string.Join(' ', args.Skip(1))}'");
            default:
                return Fail($"unknown command '{args[0]}'");
        }
    }

    private static async Task<int> Create(ApiKeyStore keys, string tenant, string? name)
    {
        var (key, text) = await keys.CreateAsync(tenant, name, CancellationToken.None);
        Console.WriteLine($"Created key {key.Id} for tenant {key.TenantId}. Store it now; it is not shown again:");
        Console.WriteLine(text);
        return 0;
    }

    private static async Task<int> List(ApiKeyStore keys)
    {
        Console.WriteLine($"{"ID",-16}  {"TENANT",-20}  {"CREATED",-20}  {"REVOKED",-20}  NAME");
        foreach (var k in await keys.ListAsync(CancellationToken.None))
            Console.WriteLine($"{k.Id,-16}  {k.TenantId,-20}  {Time(k.CreatedAt),-20}  {(k.RevokedAt is { } r ? Time(r) : "-"),-20}  {k.Name}");
        return 0;
    }

    private static async Task<int> Revoke(ApiKeyStore keys, string id)
    {
        if (await keys.RevokeAsync(id, CancellationToken.None)) { Console.WriteLine($"Revoked key {id}."); return 0; }
        Console.Error.WriteLine($"keys: there is no key with id '{id}'.");
        return 1;
    }

    private static async Task<int> Adopt(ApiKeyStore keys, string tenant)
    {
        Console.WriteLine($"Tenant {tenant} now has {await keys.AdoptAsync(tenant, CancellationToken.None)} simulations made while keys were off.");
        return 0;
    }

    /// <summary>
    /// A key's name follows a simulation name's rule: a label for people, 1–200 characters, not blank, without control
    /// characters (it is printed by <c>keys list</c> on the operator's terminal).
    /// </summary>
    private static string? InvalidName(string name) =>
        string.IsNullOrWhiteSpace(name) ? "--name must not be blank"
        : Domain.Text.TextLength.Characters(name) > Persistence.Entities.ApiKey.NameMaxLength ? $"--name is at most {Persistence.Entities.ApiKey.NameMaxLength} characters"
        : !Features.Simulations.NoControlCharactersAttribute.IsFree(name) ? "--name must not contain " + Domain.Text.NameCharacters.Refused
        : null;

    private static readonly string[] OwnOptions = ["--tenant", "--name"];

    /// <summary>The command's own words: the arguments without the configuration ones the host reads
    /// (<c>--Key=value</c>, <c>/Key=value</c>, <c>Key=value</c>, and <c>--Key value</c> for a key that is not one of ours).
    /// Our options are taken as <c>--tenant T</c> or <c>--tenant=T</c> (they used to be read as configuration in the second
    /// form: <c>--name=ci</c> made a key without a name); one of them in another case (<c>--Name</c>), which the host would
    /// read as a configuration key, is kept, to be refused.</summary>
    private static List<string> OwnArguments(string[] args)
    {
        var own = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=');
            var option = equals < 0 ? arg : arg[..equals];
            if (OwnOptions.Contains(option, StringComparer.OrdinalIgnoreCase))
            {
                own.Add(option);
                if (equals >= 0) own.Add(arg[(equals + 1)..]);
                else if (i + 1 < args.Length) own.Add(args[++i]);
            }
            else if (equals >= 0) continue;
            else if (arg is "--help") own.Add(arg);
            else if ((arg.StartsWith("--", StringComparison.Ordinal) || arg.StartsWith('/')) && arg.Length > 2 && i + 1 < args.Length) i++;
            else own.Add(arg);
        }
        return own;
    }

    /// <summary>The options given (each once, with a value), or the first problem with them.</summary>
    private static string? Options(IReadOnlyList<string> given, string[] allowed, out Dictionary<string, string> options)
    {
        options = new(StringComparer.Ordinal);
        for (int i = 0; i < given.Count; i += 2)
        {
            if (!allowed.Contains(given[i]))
                return allowed.FirstOrDefault(a => string.Equals(a, given[i], StringComparison.OrdinalIgnoreCase)) is { } meant
                    ? $"unexpected argument '{given[i]}' (options are lower-case: {meant})"
                    : $"unexpected argument '{given[i]}'";
            if (i + 1 >= given.Count) return $"{given[i]} needs a value";
            if (!options.TryAdd(given[i], given[i + 1])) return $"{given[i]} is given twice";
        }
        return null;
    }

    /// <summary>A tenant id is 1–64 characters of letters, digits, '-', '_' and '.'.</summary>
    public static bool ValidTenant(string tenant) =>
        tenant.Length is > 0 and <= 64 && tenant.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
}
