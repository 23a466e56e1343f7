using System.ComponentModel.DataAnnotations;
using SimService.Domain.Text;

namespace SimService.Api.Infrastructure;

/// <summary>
/// <see cref="StringLengthAttribute"/> counting characters as README promises them — Unicode scalar values
/// (<see cref="TextLength"/>) — not UTF-16 code units: 150 "😀" are 150 characters (they were 300, past a 200 limit).
/// The message is StringLength's.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class CharacterLengthAttribute(int maximumLength) : StringLengthAttribute(maximumLength)
{
    public override bool IsValid(object? value) =>
        value is not string text || TextLength.Characters(text) is var n && n >= MinimumLength && n <= MaximumLength;
}
