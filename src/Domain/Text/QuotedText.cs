using System.Text.RegularExpressions;

namespace SimService.Domain.Text;

/// <summary>
/// What a message quotes of its input, bounded — for every problem the service writes and every problem line the command-line
/// tool prints: a message quotes the offending value or member name as given, and a 4 MiB body made a 4 MB problem (a
/// 4,000,000-digit <c>seed</c>, a 3 MB host <c>address</c>), a 300,000-letter <c>flags</c> one 300,140-character line of
/// <c>simservice validate</c> (tester41 LOW-4). A run of more than <see cref="MaxRun"/> characters without a space, a quote, a
/// URL path's <c>/</c> or a JSON path's separator (<c>.</c>, <c>[</c>, <c>]</c>) — only a value or name given can be that long;
/// a path 64 levels deep is many short runs — is cut to its first <see cref="MaxRun"/> and "…" (the quotes around it stay), and
/// a text still longer than <see cref="MaxText"/> (a value with spaces or dots in it) is cut there.
/// </summary>
public static partial class QuotedText
{
    public const int MaxRun = 64;
    public const int MaxText = 2048;

    /// <summary><paramref name="text"/> with each long run cut to <see cref="MaxRun"/> characters and "…", and the whole to <see cref="MaxText"/>.</summary>
    public static string Bounded(string text)
    {
        if (text.Length <= MaxRun) return text;
        var bounded = LongRun().Replace(text, run => Cut(run.Value, MaxRun));
        return bounded.Length <= MaxText ? bounded : Cut(bounded, MaxText);
    }

    /// <summary>The first <paramref name="length"/> characters and "…", never half of a surrogate pair.</summary>
    static string Cut(string text, int length) =>
        string.Concat(text.AsSpan(0, char.IsHighSurrogate(text[length - 1]) ? length - 1 : length), "…");

    // A run one longer than MaxRun.
    [GeneratedRegex("""[^\s'"./\[\]]{65,}""", RegexOptions.CultureInvariant)]
    private static partial Regex LongRun();
}
