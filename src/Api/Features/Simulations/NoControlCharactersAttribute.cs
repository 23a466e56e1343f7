using System.ComponentModel.DataAnnotations;

namespace SimService.Api.Features.Simulations;

/// <summary>
/// A label for people holds no control characters (U+0000–U+001F, U+007F–U+009F): a NUL or an escape sequence in a
/// name would reach every listing, log line and terminal that shows it.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NoControlCharactersAttribute : ValidationAttribute
{
    public const string Message = "The name must not contain control characters (U+0000-U+001F, U+007F-U+009F).";

    public NoControlCharactersAttribute() => ErrorMessage = Message;

    public override bool IsValid(object? value) => value is not string text || IsFree(text);

    /// <summary>The rule itself, for a name taken outside a request body (a query parameter, a command-line option).</summary>
    public static bool IsFree(string? text) => text is null || !text.Any(char.IsControl);
}
