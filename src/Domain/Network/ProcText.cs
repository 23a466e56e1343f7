namespace SimService.Domain.Network;

/// <summary>
/// How the kernel reads the numbers written to a /proc/sys file (kernel/sysctl.c): proc_skip_spaces(), proc_get_long() and
/// its strtoul_lenient() in base 0, which every numeric handler (proc_dointvec*, proc_douintvec*, proc_dou8vec_minmax,
/// proc_doulongvec_minmax, the jiffies ones, proc_do_large_bitmap) calls. The text is what was written, "\n" included.
/// </summary>
public static class ProcText
{
    /// <summary>TMPBUFLEN: proc_get_long() copies at most 21 characters; a number that fills them is refused.</summary>
    const int TmpBufLen = 22;

    /// <summary>proc_wspace_sep: what may follow a number of a vector handler.</summary>
    public const string WhitespaceSeparators = " \t\n";

    /// <summary>isspace() as proc_skip_spaces() uses it.</summary>
    static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary>proc_skip_spaces().</summary>
    public static void SkipSpaces(string text, ref int pos)
    {
        while (pos < text.Length && IsSpace(text[pos])) pos++;
    }

    /// <summary>proc_skip_char().</summary>
    public static void SkipChar(string text, ref int pos, char c)
    {
        while (pos < text.Length && text[pos] == c) pos++;
    }

    /// <summary>
    /// proc_get_long(): an optional '-' (not a '+'), a digit, then strtoul_lenient() in base 0 — "0x1f" is hex, "010" octal
    /// (8), "08" stops at the 8 — within 64 bits (more: ERANGE), in fewer than 21 characters, followed by the end or one
    /// of <paramref name="trailing"/> ("16abc": EINVAL). False for EINVAL; <paramref name="pos"/> moves past the number.
    /// </summary>
    public static bool GetLong(string text, ref int pos, string trailing, out ulong value, out bool negative)
    {
        value = 0;
        negative = false;
        int size = text.Length - pos;
        if (size <= 0) return false;
        var tmp = text.AsSpan(pos, Math.Min(size, TmpBufLen - 1));
        int p = 0;
        if (tmp[0] == '-' && size > 1)
        {
            negative = true;
            p++;
        }
        if (p >= tmp.Length || !char.IsAsciiDigit(tmp[p]) || !StrtoulLenient(tmp, ref p, out value)) return false;
        if (p == TmpBufLen - 1) return false;
        if (p < size && trailing.IndexOf(text[pos + p]) < 0) return false;
        pos += p;
        return true;
    }

    /// <summary>
    /// strtoul_lenient() — kernel/sysctl.c: _parse_integer_fixup_radix() (base 16 after "0x" and a hex digit, 8 after a
    /// leading 0, else 10), then _parse_integer() while the characters are digits of the base; overflow is ERANGE.
    /// </summary>
    static bool StrtoulLenient(ReadOnlySpan<char> s, ref int p, out ulong value)
    {
        int radix = 10;
        if (s[p] == '0')
        {
            if (p + 2 < s.Length && (s[p + 1] | 0x20) == 'x' && char.IsAsciiHexDigit(s[p + 2]))
            {
                radix = 16;
                p += 2;
            }
            else radix = 8;
        }
        value = 0;
        bool overflow = false;
        for (; p < s.Length; p++)
        {
            int digit = char.IsAsciiDigit(s[p]) ? s[p] - '0' : char.IsAsciiHexDigit(s[p]) ? (s[p] | 0x20) - 'a' + 10 : radix;
            if (digit >= radix) break;
            if (value > (ulong.MaxValue - (ulong)digit) / (ulong)radix) overflow = true;
            value = unchecked(value * (ulong)radix + (ulong)digit);
        }
        return !overflow;
    }

    /// <summary>The word at <paramref name="pos"/> (up to white space), for a message.</summary>
    public static string WordAt(string text, int pos)
    {
        int end = pos;
        while (end < text.Length && !IsSpace(text[end])) end++;
        return text[pos..end];
    }
}
