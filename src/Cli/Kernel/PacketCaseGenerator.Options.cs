using SimService.Domain.Engine;

namespace SimService.Cli.Kernel;

/// <summary>
/// <c>--fuzz-opts</c>: the peer's segments carry TCP options the other modes never write, drawn from a stream of
/// their own (the walk is the one of the same seed without them) — an end-of-option-list before the timestamp or at
/// the front of the list (<c>tcp_parse_options()</c> returns at TCPOPT_EOL: nothing after it is read), the SYN's options
/// (MSS, window scale, SACK-permitted) on segments that are no SYN (read only with th->syn), the timestamp twice (the
/// last one read wins), SACK blocks on a connection that did not agree on SACK (read only with sack_ok), and on the
/// peer's SYN or SYN-ACK an MSS below tcp_min_snd_mss or a window scale above TCP_MAX_WSCALE. Each option list stays
/// within the 40 bytes a header holds, a multiple of 4.
/// </summary>
internal sealed partial class PacketCaseGenerator
{
    /// <summary>The odd options' own stream (null unless --fuzz-opts).</summary>
    IRandomSource? _odd;

    /// <summary>The odd-option draws and their weights: what <see cref="OddOptions"/> does to one segment's list.</summary>
    internal static readonly (int Weight, string Name)[] OddMoves =
    [
        (10, "none"),
        (4, "eol-before-ts"),
        (2, "eol-first"),
        (3, "syn-option"),
        (2, "ts-twice"),
    ];

    /// <summary>At the start of an --fuzz-opts case: now and then an MSS or window scale for the peer's SYN past the kernel's bounds.</summary>
    void DrawOddSyn()
    {
        if (_odd is not { } odd) return;
        if (odd.Chance(0.25)) _synMss = odd.Pick(1, 48, 64, 88, 200);
        if (_wscale > 0 && odd.Chance(0.2)) _wscale = odd.Pick(15, 16, 255);
    }

    /// <summary>The MSS the peer's SYN offers when --fuzz-opts drew one past the kernel's floor (the walk's writes keep <see cref="_mss"/>).</summary>
    int? _synMss;

    /// <summary>A SACK block the peer sends though the connection did not agree on SACK (--fuzz-opts only).</summary>
    string? OddSackBlock()
    {
        if (_odd is not { } odd || _sack || _written <= 1 || !odd.Chance(0.3)) return null;
        long left = 1 + (long)(odd.NextDouble() * (_written - 1));
        return $"{left}:{Math.Min(1 + _written, left + odd.Pick(1, 100, 1000))}";
    }

    /// <summary>One segment's options with its odd draw applied (unchanged without --fuzz-opts).</summary>
    List<string> OddOptions(List<string> parts)
    {
        if (_odd is not { } odd) return parts;
        string move = odd.Weighted(OddMoves);
        int ts = parts.FindIndex(p => p.StartsWith("nop,nop,TS ", StringComparison.Ordinal));
        List<string> odder = [.. parts];
        switch (move)
        {
            case "eol-before-ts" when ts >= 0:
                odder[ts] = odd.Pick("eol,nop", "nop,eol") + parts[ts]["nop,nop".Length..];
                break;
            case "eol-first":
                odder.Insert(0, "eol,nop,nop,nop");
                break;
            case "syn-option":
                odder.Insert(odd.Chance(0.5) ? 0 : odder.Count, odd.Pick("mss 1", "mss 9000", "nop,wscale 14", "nop,wscale 0", "nop,nop,sackOK"));
                break;
            case "ts-twice" when ts >= 0:
                string ecr = parts[ts][(parts[ts].LastIndexOf(" ecr ", StringComparison.Ordinal) + 5)..];
                odder.Insert(ts + 1, $"nop,nop,TS val {unchecked(PeerTs() - odd.Pick(1u, 5000u))} ecr {ecr}");
                break;
        }
        return OptionBytes(odder) <= 40 ? odder : parts;
    }

    /// <summary>The bytes an option list takes in the header (packetdrill's lengths: TS 10, SACK 2 + 8 per block, MSS 4, window scale 3, SACK-permitted 2, NOP and EOL 1).</summary>
    internal static int OptionBytes(IEnumerable<string> parts) =>
        parts.SelectMany(p => p.Split(',')).Sum(o => o.Split(' ')[0] switch
        {
            "TS" => 10,
            "sack" => 2 + 8 * o.Count(c => c == ':'),
            "mss" => 4,
            "wscale" => 3,
            "sackOK" => 2,
            _ => 1,
        });
}
