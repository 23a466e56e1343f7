using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>
/// Creates, finds, lists and revokes API keys. A key reads <c>ssk_{id}_{secret}</c>: the id (16 hex digits) is
/// public and finds the row; the secret is 32 random bytes. Only the SHA-256 of the whole key is stored — the
/// key has 256 bits of entropy, so a plain hash is enough (no slow password hash) — and it is compared in
/// constant time.
/// </summary>
public sealed class ApiKeyStore(SimDbContext db, ApiKeyMode mode, TimeProvider time)
{
    private const string Prefix = "ssk_";

    /// <summary>A new key for <paramref name="tenantId"/>; the returned text is the only time the key exists in the clear.</summary>
    public async Task<(ApiKey Key, string Text)> CreateAsync(string tenantId, string? name, CancellationToken cancellationToken)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var text = Prefix + id + "_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var key = new ApiKey { Id = id, TenantId = tenantId, Name = name, Hash = Hash(text), CreatedAt = time.GetUtcNow() };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        mode.KeysExist = true;
        return (key, text);
    }

    /// <summary>The live (not revoked) key <paramref name="text"/> is, or null for an unknown, malformed or revoked key.</summary>
    public async Task<ApiKey?> FindAsync(string text, CancellationToken cancellationToken)
    {
        var end = text.StartsWith(Prefix, StringComparison.Ordinal) ? text.IndexOf('_', Prefix.Length) : -1;
        if (end < 0) return null;
        var id = text[Prefix.Length..end];
        if (id.Length is 0 or > ApiKey.IdMaxLength) return null;
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == id, cancellationToken);
        return key is { RevokedAt: null } && CryptographicOperations.FixedTimeEquals(Hash(text), key.Hash) ? key : null;
    }

    /// <summary>
    /// Whether requests must carry a key: <c>ApiKeys:Required</c> is set, or a key has ever been created (a revoked
    /// key counts, so revoking the last key never opens the service). Once true it stays true for this process. A key
    /// created in this process counts at once; one created by another process (<c>keys create</c> beside a running
    /// server) within <see cref="ApiKeyMode.RecheckInterval"/>: "no key yet" is remembered that long, so that a
    /// service without keys does not query the key table for every request.
    /// </summary>
    public async Task<bool> RequiredAsync(CancellationToken cancellationToken)
    {
        if (mode.Known(time) is { } known) return known;
        bool exist = await db.ApiKeys.AnyAsync(cancellationToken);
        mode.Checked(time, exist);
        return exist;
    }

    public Task<List<ApiKey>> ListAsync(CancellationToken cancellationToken) =>
        db.ApiKeys.AsNoTracking().OrderBy(k => k.TenantId).ThenBy(k => k.CreatedAt).ToListAsync(cancellationToken);

    /// <summary>Revokes the key with public id <paramref name="id"/>; false when there is none.</summary>
    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == id, cancellationToken);
        if (key is null) return false;
        key.RevokedAt ??= time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Hands every simulation that has no tenant (made while keys were off) to <paramref name="tenantId"/>; the number
    /// handed over. Until then no tenant sees them: showing them to every tenant would show tenants each other's work.
    /// </summary>
    public Task<int> AdoptAsync(string tenantId, CancellationToken cancellationToken) =>
        db.Simulations.IgnoreQueryFilters().Where(r => r.TenantId == null && !r.Deleted)
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.TenantId, tenantId), cancellationToken);

    private static byte[] Hash(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));
}

/// <summary>Per process: whether keys are required by configuration, and whether the database is known to hold one.</summary>
public sealed class ApiKeyMode(bool required)
{
    /// <summary>How long "the key table is empty" is believed before the table is asked again.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    private volatile bool _keysExist;
    private long _emptyUntil = long.MinValue; // TimeProvider timestamp until which the table is known empty

    public bool Required { get; } = required;

    public bool KeysExist { get => _keysExist; set => _keysExist = value; }

    /// <summary>Whether the key table must be asked again (never asked, or last found empty more than the interval ago).</summary>
    public bool RecheckDue(TimeProvider time) => time.GetTimestamp() >= Interlocked.Read(ref _emptyUntil);

    /// <summary>
    /// Whether requests must carry a key, as far as this process knows without asking the key table
    /// (<see cref="ApiKeyStore.RequiredAsync"/>); null when the table must be asked.
    /// </summary>
    public bool? Known(TimeProvider time) => Required || KeysExist ? true : RecheckDue(time) ? null : false;

    /// <summary>Remembers what the key table held just now.</summary>
    public void Checked(TimeProvider time, bool keysExist)
    {
        if (keysExist) KeysExist = true;
        else Interlocked.Exchange(ref _emptyUntil, time.GetTimestamp() + (long)(RecheckInterval.TotalSeconds * time.TimestampFrequency));
    }
}
