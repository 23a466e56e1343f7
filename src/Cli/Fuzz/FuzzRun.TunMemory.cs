using System.Globalization;
using System.Text.RegularExpressions;
using SimService.Cli.Kernel;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The TUNMEM verdict: a receive buffer that filled (a zero window advertised) on a host whose kernel charged the TUN
/// device's uncoalesced skbs (<see cref="TunMemoryHosts"/>), and differences in how much that buffer took — its windows
/// beyond the TUN truesize's ±3 units, or the bytes a recv or send on the case's calls moved. Where the buffer is full,
/// sk_rmem_alloc against sk_rcvbuf decides (tcp_try_rmem_schedule(), __tcp_select_window(), tcp_prune_queue()), and a
/// TUN's kmalloc'd skbs (one whole skb a segment, never coalesced) are charged otherwise than the engine's NIC page
/// fragments: the environment's, not a kernel rule (session 23: app-3-29, app-3-36, app-4-24, a client's 8 kB buffer
/// read in part, the kernel's window reopened at once; session 24: options-1-13, a server's full buffer under a send
/// asleep until SO_SNDTIMEO, 89312 bytes read on the engine, 95280 on the kernel).
/// </summary>
internal sealed partial record FuzzRun
{
    /// <summary>Each host that advertised a zero window in this run: on which side (engine or kernel) first, and when.</summary>
    public IReadOnlyList<ZeroWindow> ZeroWindows { get; init; } = [];

    /// <summary>A zero window a host advertised: the first one on one side.</summary>
    public sealed record ZeroWindow(string Host, string Side, long AtNs);

    /// <summary>The first zero window each host advertised on either side: an ACK of window 0 (not a SYN, not a RST).</summary>
    public static IReadOnlyList<ZeroWindow> ZeroWindowsOf(RunOutcome engine, RunOutcome kernel) =>
    [
        .. new[] { ("engine", engine), ("kernel", kernel) }.SelectMany(side => side.Item2.Packets
            .Where(p => p.Win == 0 && p.Flags.Contains('.') && !p.Flags.Contains('R') && !p.Flags.Contains('S'))
            .GroupBy(p => p.From, StringComparer.Ordinal)
            .Select(g => new ZeroWindow(g.Key, side.Item1, g.Min(p => p.AtNs)))),
    ];

    /// <summary>
    /// The evidence that <paramref name="persistent"/> follows from a receive buffer the TUN device filled, or null: a host
    /// whose kernel advertised a zero window and whose kernel pruned or coalesced fewer segments than the engine, and among the
    /// differences one in what that buffer took (a window of that host's, a recv's or send's byte count).
    /// </summary>
    public string? TunMemory(IReadOnlySet<string> persistent)
    {
        var hosts = TunMemoryHosts.Distinct(StringComparer.Ordinal).Where(h => ZeroWindows.Any(z => z.Host == h && z.Side == "kernel")).ToList();
        if (hosts.Count == 0 || !persistent.Any(k => BytesTaken(k, hosts)) || !persistent.All(k => KnockOn(k, hosts))) return null;
        return string.Join("; ", hosts.Select(Evidence));
    }

    /// <summary>
    /// A difference a full buffer's other size explains: what it took, or a segment, counter or sockstat line that follows
    /// from its windows — not a state, an errno, an expect's value, nor a segment one side alone sent (a RST, a FIN), which
    /// stay differences to look at (review, session 24: one differing recv must not hide them).
    /// </summary>
    static bool KnockOn(string key, IReadOnlyList<string> hosts) =>
        BytesTaken(key, hosts)
        || (key.StartsWith("packets ", StringComparison.Ordinal) && !key.Contains(" only ", StringComparison.Ordinal))
        || key.StartsWith("counters ", StringComparison.Ordinal) || key.StartsWith("sockstat ", StringComparison.Ordinal);

    /// <summary>A difference in how much a full buffer took: a window of one of <paramref name="hosts"/> (beyond ±3), or a recv's or send's result.</summary>
    static bool BytesTaken(string key, IReadOnlyList<string> hosts) =>
        key.StartsWith("call.result recv ", StringComparison.Ordinal) || key.StartsWith("call.result send ", StringComparison.Ordinal)
        || (WindowKey().Match(key) is { Success: true } m && hosts.Contains(m.Groups[1].Value));

    /// <summary>"server: zero window at 731 ms (engine), 743 ms (kernel); TcpExt.TCPRcvCoalesce 127 → 0; PruneCalled 5".</summary>
    string Evidence(string host)
    {
        var parts = new List<string>
        {
            $"{host}: zero window at " + string.Join(", ", ZeroWindows.Where(z => z.Host == host)
                .Select(z => $"{(z.AtNs / 1e6).ToString("0.#", CultureInfo.InvariantCulture)} ms ({z.Side})")),
        };
        foreach (var line in Lines)
        {
            if (CoalesceLine().Match(line) is { Success: true } c && c.Groups[1].Value == host) parts.Add($"TcpExt.TCPRcvCoalesce {c.Groups[2].Value}");
            if (PruneLine().Match(line) is { Success: true } p && p.Groups[1].Value == host) parts.Add($"PruneCalled {p.Groups[2].Value}");
        }
        return string.Join("; ", parts);
    }

    [GeneratedRegex(@"^packets ([^:\s]+):\S+ > \S+: \S+ (?:.*, )?win(?:,|$)")]
    private static partial Regex WindowKey();

    [GeneratedRegex(@"^counters (\S+) \(engine → kernel\): .*\bTcpExt\.TCPRcvCoalesce (\d+ → \d+)")]
    private static partial Regex CoalesceLine();

    [GeneratedRegex(@"^counters (\S+) the engine does not model \(kernel deltas\): .*\bTcpExt\.PruneCalled (\d+)")]
    private static partial Regex PruneLine();
}
