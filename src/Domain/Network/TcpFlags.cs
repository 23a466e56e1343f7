using System.Text;

namespace SimService.Domain.Network;

/// <summary>TCP header flags, with the wire bit values (FIN=0x01 … ACK=0x10).</summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
}

public static class TcpFlagsText
{
    /// <summary>Whether every flag of <paramref name="f"/> is set: Enum.HasFlag without its boxing outside optimized code.</summary>
    public static bool Has(this TcpFlags flags, TcpFlags f) => (flags & f) == f;

    /// <summary>
    /// packetdrill/tcpdump letters: S, F, R, P then "." for ACK — e.g. "F.", "R.", "S.", "P.", "R", ".".
    /// </summary>
    public static string ToLetters(this TcpFlags flags)
    {
        var sb = new StringBuilder(5);
        if (flags.Has(TcpFlags.Syn)) sb.Append('S');
        if (flags.Has(TcpFlags.Fin)) sb.Append('F');
        if (flags.Has(TcpFlags.Rst)) sb.Append('R');
        if (flags.Has(TcpFlags.Psh)) sb.Append('P');
        if (flags.Has(TcpFlags.Ack)) sb.Append('.');
        return sb.ToString();
    }

    /// <summary>Parses packetdrill letters in any order; each letter at most once; empty is refused.</summary>
    public static bool TryParse(string? text, out TcpFlags flags)
    {
        flags = TcpFlags.None;
        if (string.IsNullOrEmpty(text)) return false;
        foreach (var c in text)
        {
            var bit = c switch
            {
                'S' => TcpFlags.Syn,
                'F' => TcpFlags.Fin,
                'R' => TcpFlags.Rst,
                'P' => TcpFlags.Psh,
                '.' => TcpFlags.Ack,
                _ => TcpFlags.None,
            };
            if (bit == TcpFlags.None || (flags & bit) != 0) return false;
            flags |= bit;
        }
        return true;
    }
}
