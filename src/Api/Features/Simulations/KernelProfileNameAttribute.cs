using System.ComponentModel.DataAnnotations;
using SimService.Domain.Engine;

namespace SimService.Api.Features.Simulations;

/// <summary>
/// Accepts the wire name of a <see cref="KernelProfile"/> ("linux-6", "linux-4.4"), taken from the domain so
/// the list cannot drift. Being an <see cref="AllowedValuesAttribute"/>, it also shows as an enum in OpenAPI.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class KernelProfileNameAttribute : AllowedValuesAttribute
{
    private static readonly object?[] WireNames =
        [.. Enum.GetValues<KernelProfile>().Select(profile => profile.ToWireName())];

    public KernelProfileNameAttribute() : base(WireNames) =>
        ErrorMessage = $"Unknown kernel profile; expected one of {string.Join(", ", WireNames)}.";

    /// <summary>A missing value is [Required]'s to report, not ours.</summary>
    public override bool IsValid(object? value) => value is null || base.IsValid(value);
}
