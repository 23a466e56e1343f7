using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;

namespace SimService.Api.Infrastructure;

/// <summary>
/// What a problem quotes of the request, bounded, for every problem the service writes: a message or an <c>errors</c> key
/// quotes the offending value or member name as sent, and a 4 MiB body made a 4 MB problem (a 4,000,000-digit
/// <c>seed</c>, a 3 MB host <c>address</c>, an unknown 3 MB member used as the <c>errors</c> key). A run of more than
/// <see cref="MaxRun"/> characters without a space, a quote, a URL path's <c>/</c> or a JSON path's separator (<c>.</c>, <c>[</c>, <c>]</c>) —
/// only a value or name sent can be that long; a path 64 levels deep is many short runs — is cut to its first
/// <see cref="MaxRun"/> and "…" (the quotes around it stay), and a text still longer than <see cref="MaxText"/> (a value
/// with spaces or dots in it) is cut there. A 500's detail (the exception, in Development) is left whole.
/// </summary>
internal static partial class ProblemText
{
    public const int MaxRun = 64;
    public const int MaxText = 2048;

    public static void Apply(ProblemDetails problem)
    {
        if (problem.Type == ProblemTypes.Internal) return;
        if (problem.Detail is { } detail) problem.Detail = Bounded(detail);
        if (problem is HttpValidationProblemDetails validation) validation.Errors = Bounded(validation.Errors);
        else if (problem.Extensions.TryGetValue(ProblemFields.Member, out var member) && member is IDictionary<string, string[]> errors)
            problem.Extensions[ProblemFields.Member] = Bounded(errors);
    }

    /// <summary><paramref name="text"/> with each long run cut to <see cref="MaxRun"/> characters and "…", and the whole to <see cref="MaxText"/>.</summary>
    public static string Bounded(string text)
    {
        if (text.Length <= MaxRun) return text;
        var bounded = LongRun().Replace(text, run => Cut(run.Value, MaxRun));
        return bounded.Length <= MaxText ? bounded : Cut(bounded, MaxText);
    }

    /// <summary>The first <paramref name="length"/> characters and "…", never half of a surrogate pair.</summary>
    private static string Cut(string text, int length) =>
        string.Concat(text.AsSpan(0, char.IsHighSurrogate(text[length - 1]) ? length - 1 : length), "…");

    /// <summary>Keys and messages bounded; two keys cut to the same text keep both keys' messages.</summary>
    private static Dictionary<string, string[]> Bounded(IDictionary<string, string[]> errors)
    {
        var bounded = new Dictionary<string, string[]>(errors.Count, StringComparer.Ordinal);
        foreach (var (key, messages) in errors)
        {
            var name = Bounded(key);
            var texts = Array.ConvertAll(messages, Bounded);
            bounded[name] = bounded.TryGetValue(name, out var earlier) ? [.. earlier, .. texts] : texts;
        }
        return bounded;
    }

    // A run one longer than MaxRun.
    [GeneratedRegex("""[^\s'"./\[\]]{65,}""", RegexOptions.CultureInvariant)]
    private static partial Regex LongRun();
}
