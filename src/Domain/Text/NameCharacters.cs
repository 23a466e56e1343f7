using System.Buffers;

namespace SimService.Domain.Text;

/// <summary>
/// The characters a name for people (a simulation's, a process's, an API key's) may not hold: the C0 controls, DEL and
/// the C1 controls (U+0000–U+001F, U+007F–U+009F), which would reach every listing, log line and terminal that shows the
/// name (a NUL, an escape sequence), and the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069), which show the rest of the name, and of the line after it, reordered ("\u202Egnp.exe" shows as
/// "exe.png"). The command-line tool escapes the same set in what it prints from a file.
/// </summary>
public static class NameCharacters
{
    /// <summary>What the refusals name: "The name must not contain " + this.</summary>
    public const string Refused = "control characters (U+0000-U+001F, U+007F-U+009F) or bidirectional controls (U+202A-U+202E, U+2066-U+2069)";

    /// <summary>The set itself.</summary>
    public static readonly SearchValues<char> Set = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7f, 0x21)).Concat(Enumerable.Range(0x202a, 5)).Concat(Enumerable.Range(0x2066, 4))
            .Select(c => (char)c)));

    /// <summary>True when <paramref name="text"/> (null too) holds none of them.</summary>
    public static bool AreFree(string? text) => text is null || text.AsSpan().IndexOfAny(Set) < 0;
}
