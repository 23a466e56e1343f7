namespace SimService.Persistence;

/// <summary>
/// The tenant whose simulations one unit of work (one request) may see and create: set once by authentication,
/// read by <see cref="SimDbContext"/>'s query filter. Null is the single-tenant default (API keys off).
/// </summary>
public sealed class TenantScope
{
    public string? TenantId { get; set; }
}
