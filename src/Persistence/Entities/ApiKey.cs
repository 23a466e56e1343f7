namespace SimService.Persistence.Entities;

/// <summary>
/// An API key of one tenant. Only the SHA-256 of the key is stored; the key itself is shown once, when it is
/// created. A revoked key stays (with <see cref="RevokedAt"/>) so that lists show it and its id is never reused.
/// </summary>
public sealed class ApiKey
{
    public const int IdMaxLength = 32;
    public const int TenantMaxLength = 64;
    public const int NameMaxLength = 200;

    /// <summary>The key's public id: printed by <c>keys list</c>, taken by <c>keys revoke</c>, and the key's prefix.</summary>
    public required string Id { get; init; }

    public required string TenantId { get; init; }

    /// <summary>SHA-256 of the whole key (32 bytes).</summary>
    public required byte[] Hash { get; init; }

    /// <summary>What the operator called it ("ci", "alice's laptop"); optional.</summary>
    public string? Name { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; set; }
}
