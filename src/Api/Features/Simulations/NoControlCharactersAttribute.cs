using System.ComponentModel.DataAnnotations;

namespace SimService.Api.Features.Simulations;

/// <summary>
/// A label for people holds no control characters (U+0000–U+001F, U+007F–U+009F): a NUL or an escape sequence in a
/// name would reach every listing, log line and terminal that shows it.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NoControlCharactersAttribute : ValidationAttribute
{
    public NoControlCharactersAttribute() => ErrorMessage = "The name must not contain control characters (U+0000-U+001F, U+007F-U+009F).";

    public override bool IsValid(object? value) => value is not string text || !text.Any(char.IsControl);
}
