using System.Globalization;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>
/// The operator's key commands, run by the API binary against its configured database instead of serving:
/// <c>keys create --tenant T [--name N]</c> prints the new key once, <c>keys list</c> prints every key (never the
/// key itself), <c>keys revoke ID</c> revokes one, <c>keys adopt --tenant T</c> hands the simulations made while keys were off
/// (they have no tenant, and no tenant sees them) to tenant T. Exit code 0 on success, 1 for an unknown key id, 2 for bad usage.
/// </summary>
public static class ApiKeyCommands
{
    public const string Usage = """
        usage: keys create --tenant TENANT [--name NAME]   create a key; the key is printed once
               keys list                                   id, tenant, name, created, revoked of every key
               keys revoke ID                              revoke the key with this id
               keys adopt --tenant TENANT                  give TENANT the simulations made while keys were off
        """;

    public static async Task<int> RunAsync(IServiceProvider services, string[] args)
    {
        await using var scope = services.CreateAsyncScope();
        var keys = scope.ServiceProvider.GetRequiredService<ApiKeyStore>();
        switch (args)
        {
            case ["create", .. var options] when Option(options, "--tenant") is { } tenant && ValidTenant(tenant):
                var (key, text) = await keys.CreateAsync(tenant, Option(options, "--name"), CancellationToken.None);
                Console.WriteLine($"Created key {key.Id} for tenant {key.TenantId}. Store it now; it is not shown again:");
                Console.WriteLine(text);
                return 0;
            case ["list"]:
                Console.WriteLine($"{"ID",-16}  {"TENANT",-20}  {"CREATED",-20}  {"REVOKED",-20}  NAME");
                foreach (var k in await keys.ListAsync(CancellationToken.None))
                    Console.WriteLine($"{k.Id,-16}  {k.TenantId,-20}  {Time(k.CreatedAt),-20}  {(k.RevokedAt is { } r ? Time(r) : "-"),-20}  {k.Name}");
                return 0;
            case ["revoke", var id]:
                if (await keys.RevokeAsync(id, CancellationToken.None)) { Console.WriteLine($"Revoked key {id}."); return 0; }
                Console.Error.WriteLine($"There is no key with id '{id}'.");
                return 1;
            case ["adopt", .. var options] when Option(options, "--tenant") is { } tenant && ValidTenant(tenant):
                Console.WriteLine($"Tenant {tenant} now has {await keys.AdoptAsync(tenant, CancellationToken.None)} simulations made while keys were off.");
                return 0;
            default:
                Console.Error.WriteLine(Usage);
                return 2;
        }
    }

    /// <summary>A tenant id is 1–64 characters of letters, digits, '-', '_' and '.'.</summary>
    public static bool ValidTenant(string tenant) =>
        tenant.Length is > 0 and <= 64 && tenant.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static string? Option(string[] options, string name) =>
        Array.IndexOf(options, name) is var i and >= 0 && i + 1 < options.Length ? options[i + 1] : null;

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
}
