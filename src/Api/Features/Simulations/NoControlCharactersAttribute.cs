using System.ComponentModel.DataAnnotations;

namespace SimService.Api.Features.Simulations;

/// <summary>
/// A label for people holds no control characters (U+0000–U+001F, U+007F–U+009F) and no bidirectional controls
/// (U+202A–U+202E, U+2066–U+2069): a NUL or an escape sequence in a name would reach every listing, log line and terminal
/// that shows it, and an override shows it reversed (<see cref="Domain.Text.NameCharacters"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NoControlCharactersAttribute : ValidationAttribute
{
    public const string Message = "The name must not contain " + Domain.Text.NameCharacters.Refused + ".";

    public NoControlCharactersAttribute() => ErrorMessage = Message;

    public override bool IsValid(object? value) => value is not string text || IsFree(text);

    /// <summary>The rule itself, for a name taken outside a request body (a query parameter, a command-line option).</summary>
    public static bool IsFree(string? text) => Domain.Text.NameCharacters.AreFree(text);
}
