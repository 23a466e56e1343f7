namespace SimService.Domain.Text;

/// <summary>
/// The length of a name in characters, as the service's limits count it: Unicode scalar values (code points), so "😀" is one
/// character where .NET's <see cref="string.Length"/> counts two UTF-16 code units. It is what JSON Schema's <c>maxLength</c>
/// counts (RFC 8259 characters) and what a PostgreSQL <c>varchar(n)</c> column holds n of — a limit in text elements
/// (user-perceived characters, where a family emoji joined by U+200D is one) could overflow the column. A lone surrogate,
/// which the JSON reader refuses before, would count one.
/// </summary>
public static class TextLength
{
    /// <summary>The number of Unicode scalar values in <paramref name="text"/>.</summary>
    public static int Characters(string text)
    {
        int pairs = 0;
        for (int i = 0; i + 1 < text.Length; i++)
            if (char.IsSurrogatePair(text[i], text[i + 1])) { pairs++; i++; }
        return text.Length - pairs;
    }
}
