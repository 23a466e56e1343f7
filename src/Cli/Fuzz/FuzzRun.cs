using System.Globalization;
using System.Text.RegularExpressions;
using SimService.Cli.Kernel;
using SimService.Cli.Running;

namespace SimService.Cli.Fuzz;

/// <summary>
/// One run of a generated case on the kernel, judged against the engine: the difference report's lines
/// (<see cref="OutcomeDiff"/>), the document's failed checks (the calls' results the engine gave, each expect step's
/// sockstat), and from them <see cref="Keys"/> — one short key per difference that is not time alone ("packets
/// client:~1 > server:80: win", "sockets engine only: client FIN-WAIT-2 …", "counters client: TcpExt.TW",
/// "call.result recv s1") — so that runs of one case, and of its shrunk versions, can be compared by what differs
/// rather than by numbers that move from run to run.
/// </summary>
internal sealed partial record FuzzRun(IReadOnlyList<string> Lines, IReadOnlyList<string> FailedChecks, IReadOnlySet<string> Keys, int TimingOnly, string? Error)
{
    /// <summary>Nothing differs: the kernel did what the engine did.</summary>
    public bool Agrees => Error is null && Keys.Count == 0 && TimingOnly == 0;

    /// <summary>Nothing differs but what the TUN device causes (<see cref="NotTun"/>).</summary>
    public bool Clean => Error is null && NotTun.Count == 0 && TimingOnly == 0;

    /// <summary>A run that did not give an outcome to compare (the namespaces could not be made, the child failed).</summary>
    public static FuzzRun Failed(string error) => new([], [], new HashSet<string>(), 0, error);

    /// <summary>
    /// Judges one kernel run: <paramref name="report"/> is the difference report against the engine, <paramref name="result"/>
    /// the document's checks on the kernel, <paramref name="describeStep"/> names a step by its path ("recv s1").
    /// </summary>
    public static FuzzRun Of(OutcomeDiffReport report, FileResult result, Func<string, string> describeStep)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        int timing = 0;
        string section = "";
        foreach (var line in report.Lines)
        {
            if (!line.StartsWith("  ", StringComparison.Ordinal))
            {
                section = line;
                if (CounterLine().Match(line) is { Success: true } counters)
                    foreach (var part in counters.Groups[2].Value.Split(", "))
                        keys.Add($"counters {counters.Groups[1].Value}: {part.Split(' ')[0]}");
                continue;
            }
            var text = line.Trim();
            if (section.StartsWith("packets ", StringComparison.Ordinal))
            {
                string flow = section[8..section.IndexOf(": ", StringComparison.Ordinal)];
                // Times within three jiffies and the ISN's clock are the runner's (OutcomeDiff.HarnessTiming): a pair that differs
                // by nothing else is a timing line, counted for a re-run; in a pair that differs otherwise they are left out of its key.
                if (text.StartsWith("timing: ", StringComparison.Ordinal)) timing++;
                else if (text.StartsWith("differ: ", StringComparison.Ordinal))
                {
                    var what = text[(text.LastIndexOf(" — ", StringComparison.Ordinal) + 3)..].Split(", ").Where(w => !OutcomeDiff.HarnessTiming([w]));
                    keys.Add($"packets {flow}: {DifferFlags().Match(text).Groups[1].Value} {string.Join(", ", what.Select(w => Field(w, Loopback(flow))))}");
                }
                else if (OnlyLine().Match(text) is { Success: true } only) keys.Add($"packets {flow}: {only.Groups[1].Value} only {only.Groups[2].Value}");
            }
            else if (section.StartsWith("sockets ", StringComparison.Ordinal) && text.IndexOf(": ", StringComparison.Ordinal) is var colon and > 0)
            {
                foreach (var socket in text[(colon + 2)..].Split("; ")) keys.Add($"sockets {text[..colon]}: {socket}");
            }
        }
        var failed = new List<string>();
        foreach (var check in result.FailedChecks)
        {
            failed.Add($"{check.Kind} {check.Path} ({describeStep(check.Path)}): expected {check.Expected}, kernel {check.Actual}");
            keys.Add(check.Kind == "sockstat" ? $"sockstat {check.Path[(check.Path.LastIndexOf('.') + 1)..]}" : $"{check.Kind} {describeStep(check.Path)}");
        }
        foreach (var problem in result.Problems)
        {
            failed.Add($"error {problem.Path}: {problem.Message}");
            keys.Add($"error {describeStep(problem.Path)}");
        }
        return new FuzzRun(report.Lines, failed, keys, timing, null);
    }

    /// <summary>
    /// Persistent differences that are times alone (more than <see cref="TimingNoiseMs"/> apart): segments later, the pure
    /// ACKs that pair otherwise with them, and a segment the engine has and the kernel has too, of the same flags on the
    /// same flow, that the later chain moved past another segment (so the report could not pair them: "engine only F."
    /// with "kernel only F.") — the LATE verdict: a timer chain the first late tick moved by whole wheel buckets.
    /// </summary>
    public static bool LateOnly(IReadOnlySet<string> persistent)
    {
        if (!persistent.Any(k => k.EndsWith(" time", StringComparison.Ordinal))) return false;
        foreach (var key in persistent)
        {
            if (key.EndsWith(" time", StringComparison.Ordinal) || key.EndsWith(" only .", StringComparison.Ordinal)) continue;
            if (OnlyKey().Match(key) is not { Success: true } only) return false;
            string other = only.Groups[2].Value == "engine" ? "kernel" : "engine";
            if (!persistent.Contains($"{only.Groups[1].Value}{other} only {only.Groups[3].Value}")) return false;
        }
        return true;
    }

    [GeneratedRegex(@"^(packets .+?: )(engine|kernel) only (\S+)$")]
    private static partial Regex OnlyKey();

    /// <summary>The largest time difference (ms) counted as the runner's timing rather than a difference: three jiffies.</summary>
    public const double TimingNoiseMs = OutcomeDiff.HarnessTimingMs;

    /// <summary>
    /// A differing field by name; a window one to three units off on the kernel is named apart (<see cref="TunWindow"/>) —
    /// but not on a <paramref name="loopback"/> flow, whose receiver took lo's skbs, not the TUN device's.
    /// </summary>
    static string Field(string what, bool loopback) =>
        !loopback && WindowLine().Match(what) is { Success: true } w && Math.Abs(int.Parse(w.Groups[1].Value, CultureInfo.InvariantCulture) - int.Parse(w.Groups[2].Value, CultureInfo.InvariantCulture)) is > 0 and <= 3 ? TunWindow : what.Split(' ')[0];

    /// <summary>
    /// Whether a flow ("server:~1 > server:80", or a key that begins "packets " with it) is a host's segments to itself —
    /// 127/8 or one of its own addresses, over lo (<see cref="LoopbackCapture"/>): no TUN device on the way, so neither its
    /// windows nor the ACKs that follow them are the TUN's (a TUN window elsewhere in the case explains nothing here).
    /// </summary>
    internal static bool Loopback(string flow) =>
        FlowHosts().Match(flow) is { Success: true } m && m.Groups[1].Value == m.Groups[2].Value;

    [GeneratedRegex(@"^(?:packets )?(\S+):[^:\s]+ > (\S+):[^:\s]+(?::|$)")]
    private static partial Regex FlowHosts();

    /// <summary>
    /// The key of a receive window one to three units off on the kernel — lower after in-order data, higher with an
    /// out-of-order queue: the TUN device's skbs have another truesize than a NIC's, which the engine models
    /// (docs/kernel-check.md, "Receive window one unit lower over a TUN link").
    /// </summary>
    public const string TunWindow = "win ±1–3 (TUN truesize)";

    /// <summary>
    /// Counters that differ because the harness's device is a TUN and not a NIC (docs/kernel-check.md): a TUN's kmalloc'd skbs
    /// are not coalesced (TCPRcvCoalesce) and fail header prediction's truesize test (TCPHPHits, TCPHPAcks).
    /// </summary>
    static readonly string[] TunCounters = ["TcpExt.TCPRcvCoalesce", "TcpExt.TCPHPHits", "TcpExt.TCPHPAcks"];

    /// <summary>
    /// What is left when the TUN device's known differences are set aside: its counters, its lower window, and — with such a
    /// window — the pure ACKs (of flows over the TUN, not lo) and segment counts that a window a unit lower moves (a window
    /// update sent or not); and, on a
    /// host whose kernel charged the TUN's uncoalesced skbs (<see cref="TunMemoryHosts"/>), TCPWantZeroWindowAdv.
    /// </summary>
    public IReadOnlySet<string> NotTun
    {
        get
        {
            bool window = Keys.Any(k => k.EndsWith(" " + TunWindow, StringComparison.Ordinal));
            var tunMemory = TunMemoryHosts;
            return Keys.Where(k => !TunCounters.Any(c => k.EndsWith(": " + c, StringComparison.Ordinal))
                && !tunMemory.Any(h => k == $"counters {h}: TcpExt.TCPWantZeroWindowAdv")
                && !OnlyTunWindow().IsMatch(k)
                && !(window && ((!Loopback(k) && (k.EndsWith(" only .", StringComparison.Ordinal) || PureAckKnockOn().IsMatch(k)))
                    || WindowKnockOn.Any(c => k.EndsWith(": " + c, StringComparison.Ordinal)))))
                .ToHashSet(StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Hosts whose kernel's receive memory was the TUN device's: it counted PruneCalled as a counter the engine does not model
    /// (reports made before session 35: the engine keeps PruneCalled since, so a kernel that pruned alone is a counter
    /// difference like any other) or coalesced fewer segments than the engine (TCPRcvCoalesce lower on the kernel). A TUN's kmalloc'd skbs are not
    /// coalesced, so each segment is charged a whole skb (2304 bytes for a full one, and as much for a short one), where the
    /// engine's NIC model adds 2048 per coalesced segment; the kernel's sk_rmem_alloc is the higher, and past sk_rcvbuf
    /// tcp_prune_queue() runs. Short of that, __tcp_select_window() finds tcp_space() under rcv_mss or 1/16 of the buffer
    /// sooner — a zero window it may not advertise yet (tcp_select_window() keeps the offered one), counted as
    /// TCPWantZeroWindowAdv — while the engine's receiver does not; the windows on the wire stay the same (fuzz case
    /// timers-41-5: TCPRcvCoalesce 60 → 1, PruneCalled 3; timers-59-2: no prune, a client that never reads with 55 skbs,
    /// skmem r126720 of rb131072, tcp_space 2720 under 81920 / 16, TCPRcvCoalesce 51 → 0, TCPWantZeroWindowAdv 0 → 1; loss-23-5:
    /// every segment alike, TCPRcvCoalesce 29 → 0 and TCPWantZeroWindowAdv 0 → 3 without PruneCalled).
    /// </summary>
    IReadOnlyList<string> TunMemoryHosts =>
    [
        .. Lines.Select(l => PrunedLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value),
        .. Lines.Select(l => CounterLine().Match(l)).Where(m => m.Success && FewerCoalesced(m.Groups[2].Value)).Select(m => m.Groups[1].Value),
    ];

    /// <summary>Whether a counter line's TCPRcvCoalesce went down from the engine to the kernel.</summary>
    static bool FewerCoalesced(string counters) =>
        counters.Split(", ").Select(part => CoalescePart().Match(part)).Any(m => m.Success
            && long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) < long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^TcpExt\.TCPRcvCoalesce (\d+) → (\d+)$")]
    private static partial Regex CoalescePart();

    [GeneratedRegex(@"^counters (\S+) the engine does not model \(kernel deltas\): .*\bTcpExt\.PruneCalled [1-9]")]
    private static partial Regex PrunedLine();

    static readonly string[] WindowKnockOn = ["Tcp.InSegs", "Tcp.OutSegs", "TcpExt.TCPPureAcks", "TcpExt.DelayedACKs", "TcpExt.TCPBacklogCoalesce"];

    /// <summary>A pure ACK that differs in its ack or window alone: with the TUN's lower window, the receiver ACKs other segments (its quick-ACK budget follows the window).</summary>
    [GeneratedRegex(@"^packets .+?: \. (ack|win|win ±1–3 \(TUN truesize\))(, (ack|win|win ±1–3 \(TUN truesize\)))*$")]
    private static partial Regex PureAckKnockOn();

    /// <summary>A segment (of any flags) that differs in the TUN's lower window alone.</summary>
    [GeneratedRegex(@"^packets .+?: \S+ win ±1–3 \(TUN truesize\)$")]
    private static partial Regex OnlyTunWindow();

    [GeneratedRegex(@"^differ: engine \S+ \S+ (\S+) ")]
    private static partial Regex DifferFlags();

    [GeneratedRegex(@"^win (\d+) → (\d+)$")]
    private static partial Regex WindowLine();

    [GeneratedRegex(@"^counters (\S+) \(engine → kernel\): (.*)$")]
    private static partial Regex CounterLine();

    [GeneratedRegex(@"^(engine|kernel) only: \S+ \S+ (\S+) ")]
    private static partial Regex OnlyLine();
}
