using System.Text;

namespace SimService.Domain.Network;

/// <summary>TCP header flags, with the wire bit values (FIN=0x01 … ACK=0x10, ECE=0x40, CWR=0x80; URG is never sent).</summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    /// <summary>ECN-Echo (RFC 3168): with CWR on a SYN asking for ECN, alone on a SYN-ACK agreeing to it.</summary>
    Ece = 0x40,
    /// <summary>Congestion Window Reduced (RFC 3168): on a SYN asking for ECN, then on the first new data after a cwnd reduction.</summary>
    Cwr = 0x80,
}

public static class TcpFlagsText
{
    /// <summary>Whether every flag of <paramref name="f"/> is set: Enum.HasFlag without its boxing outside optimized code.</summary>
    public static bool Has(this TcpFlags flags, TcpFlags f) => (flags & f) == f;

    /// <summary>
    /// packetdrill/tcpdump letters: S, F, R, P then "." for ACK, then E (ECE) and W (CWR) — e.g. "F.", "R.", "S.", "P.",
    /// "R", ".", "SEW" (a SYN asking for ECN), "S.E" (a SYN-ACK agreeing), "P.W".
    /// </summary>
    public static string ToLetters(this TcpFlags flags)
    {
        var sb = new StringBuilder(5);
        if (flags.Has(TcpFlags.Syn)) sb.Append('S');
        if (flags.Has(TcpFlags.Fin)) sb.Append('F');
        if (flags.Has(TcpFlags.Rst)) sb.Append('R');
        if (flags.Has(TcpFlags.Psh)) sb.Append('P');
        if (flags.Has(TcpFlags.Ack)) sb.Append('.');
        if (flags.Has(TcpFlags.Ece)) sb.Append('E');
        if (flags.Has(TcpFlags.Cwr)) sb.Append('W');
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
                'E' => TcpFlags.Ece,
                'W' => TcpFlags.Cwr,
                _ => TcpFlags.None,
            };
            if (bit == TcpFlags.None || (flags & bit) != 0) return false;
            flags |= bit;
        }
        return true;
    }
}
