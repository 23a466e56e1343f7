using System.Globalization;
using System.Text.RegularExpressions;
using SimService.Cli.Running;
using SimService.Domain.Engine;

namespace SimService.Cli.Kernel;

/// <summary>
/// The difference report of a scenario: the engine's whole outcome against the kernel's, beyond what the document's
/// expectations check. <see cref="Lines"/> is the report as the console prints it, <see cref="Items"/> the same
/// differences as records (for --json and --junit); <see cref="Differences"/> counts packets, states and counters that
/// differ; <see cref="Unmodelled"/> counts the kernel's counters that moved and that the engine does not keep
/// (candidates, not differences); <see cref="Timing"/> counts the paired segments that differ only by the harness's
/// timing (<see cref="OutcomeDiff.HarnessTiming"/>), listed as <c>timing:</c> lines and not counted as differences.
/// <see cref="SlowerLinkMs"/>: the report is of the engine with its links this much slower (the harness's link; the
/// engine as written differed only by it, <c>KernelCommand.Diff</c>).
/// </summary>
internal sealed record OutcomeDiffReport(IReadOnlyList<string> Lines, int Differences, int Unmodelled, IReadOnlyList<DiffItem> Items, int Timing = 0,
    double? SlowerLinkMs = null)
{
    /// <summary>How many of <see cref="Differences"/> are packets (the rest: socket states, counters, connect() results).</summary>
    public int PacketDifferences { get; init; }

    /// <summary>The report as the machine-readable outputs carry it.</summary>
    public DiffReport ToResult(bool strict) => new(Differences, Unmodelled, strict, Items) { SlowerLinkMs = SlowerLinkMs };
}

/// <summary>
/// Compares an engine <see cref="RunOutcome"/> with a kernel one:
/// <list type="bullet">
/// <item>packets per connection and direction, aligned by a global alignment (<see cref="Align"/>) that pairs segments of the
/// same flags, preferring equal content and then nearer times; a pair differs in content, or only in time (more than
/// the tolerance apart), or only by the harness's timing (<see cref="HarnessTiming"/>: not a difference); an unpaired
/// segment is the engine's only or the kernel's only;</item>
/// <item>each host's sockets at each expect step and at the end, as multisets (the kernel reading that comes nearest);</item>
/// <item>each host's Tcp/TcpExt counters over the run; those the engine does not model are listed apart.</item>
/// </list>
/// Ephemeral ports differ from run to run: a port both sides used keeps its number, any other is named by the order
/// its host first used it (<c>~1</c>, <c>~2</c> …).
/// </summary>
internal static partial class OutcomeDiff
{
    /// <summary>At most this many lines per link direction; the rest are counted.</summary>
    const int MaxLinesPerDirection = 15;

    /// <summary>The counters a teardown scenario is most likely to check (marked in the list of counters the engine does not model).</summary>
    static readonly string[] TeardownCounters =
    [
        "TcpExt.TW", "TcpExt.TWRecycled", "TcpExt.TWKilled", "TcpExt.TCPAbortOn", "Tcp.EstabResets", "Tcp.OutRsts", "Tcp.ActiveOpens",
        "Tcp.PassiveOpens", "Tcp.AttemptFails", "Tcp.RetransSegs", "TcpExt.TCPTimeouts", "TcpExt.DelayedACKs", "TcpExt.TCPLossProbes",
        "TcpExt.TCPOrphan", "TcpExt.TCPTimeWait", "TcpExt.TCPFinWait2", "TcpExt.TCPAckAfterFin", "TcpExt.TCPRcvQDrop",
    ];

    /// <summary>
    /// The median time from a SYN on a link (not over a loopback: the same host at both ends) to the SYN-ACK that answers it
    /// (the other way, the ports swapped), over the run's clean handshakes — one SYN and one SYN-ACK on their 4-tuple, neither
    /// dropped; null when there is none. A retransmitted SYN or SYN-ACK is left out: its gap is a timer's (≈ 1 s and its
    /// jiffies), not a hop's (review39a S-3: the first SYN was paired with the first SYN-ACK on its ports, so an unanswered
    /// first SYN made the retransmission interval's jitter the run's "lateness").
    /// </summary>
    internal static long? HandshakeNs(RunOutcome outcome)
    {
        var handshakes = new Dictionary<(string, string, int, int), (int Syns, int Answers, long SynAt, long AnswerAt, bool Dropped)>();
        foreach (var p in outcome.Packets)
        {
            // A SYN or SYN-ACK, with or without ECN's E and W (review39b N-4: `SEW` and `S.E` were not counted).
            if (p.From == p.To || !p.Flags.StartsWith('S') || p.Flags.Trim('S', '.', 'E', 'W').Length > 0) continue;
            bool answer = p.Flags.Contains('.');
            var key = answer ? (p.To, p.From, p.ToPort, p.FromPort) : (p.From, p.To, p.FromPort, p.ToPort);
            var h = handshakes.GetValueOrDefault(key);
            handshakes[key] = answer
                ? h with { Answers = h.Answers + 1, AnswerAt = p.AtNs, Dropped = h.Dropped || p.Dropped }
                : h with { Syns = h.Syns + 1, SynAt = p.AtNs, Dropped = h.Dropped || p.Dropped };
        }
        var gaps = handshakes.Values.Where(h => h is { Syns: 1, Answers: 1, Dropped: false } && h.AnswerAt >= h.SynAt)
            .Select(h => h.AnswerAt - h.SynAt).Order().ToList();
        return gaps.Count == 0 ? null : gaps[gaps.Count / 2];
    }

    public static OutcomeDiffReport Compare(RunOutcome engine, RunOutcome kernel, long toleranceNs)
    {
        var lines = new List<string>();
        var items = new List<DiffItem>();
        int differences = 0;
        var ports = new PortNames(engine, kernel);
        // The engine's own word that it left its model: the differences past that instant are expected (docs/kernel-check.md).
        if (engine.LeftModel is { } left) lines.Add($"engine: {left}");
        var (packetDifferences, timing) = ComparePackets(engine, kernel, toleranceNs, ports, lines, items);
        differences += packetDifferences;
        differences += CompareStates(engine, kernel, ports, lines, items);
        var (counterDifferences, unmodelled) = CompareCounters(engine, kernel, lines, items);
        differences += counterDifferences;
        differences += CompareConnectResults(engine, kernel, lines, items);
        return new OutcomeDiffReport(lines, differences, unmodelled, items, timing) { PacketDifferences = packetDifferences };
    }

    /// <summary>The largest time difference (ms) that is the harness's timing rather than the kernel's: three jiffies.</summary>
    public const double HarnessTimingMs = 12;

    /// <summary>
    /// Whether a paired segment's differing fields (<c>time +5.0 ms</c>, <c>seq 123 → 456</c>) are all the harness's timing
    /// and none the kernel's: a time at most <see cref="HarnessTimingMs"/> off (a timer a tick late, an RTT a jiffy longer
    /// over the user-space link emulator, a step begun late on a loaded machine: three jiffies of 4 ms), or a sequence
    /// number of the ISN's clock (<see cref="IsnClock"/>). Only then is the pair <c>timing</c>, not a difference; a
    /// content field (flags, ack, win, len, options) or a time further off keeps it a difference. The fuzzer's TIMING
    /// verdict decides by the same rule.
    /// </summary>
    public static bool HarnessTiming(IReadOnlyCollection<string> fields) =>
        fields.Count > 0 && fields.All(f => IsHarnessTime(f) || IsnClock(f));

    /// <summary>
    /// Whether a segment <paramref name="gapNs"/> after a pair the harness's timing set apart (the kernel's side late) may be
    /// moved by <paramref name="shiftChangeNs"/> more than it by that lateness alone: a timer armed from the late segment
    /// (keepalive_intvl, an RTO) starts a jiffy later, and calc_index() rounds its expiry up to its wheel level's bucket
    /// (<see cref="Jiffies.Granularity"/>: a 1000 ms timer is 250 jiffies, level 1, 8-jiffy buckets), so the start's one jiffy
    /// can become a whole bucket, 32 ms (tester40 LOW-4: probes 2 and 3 of a keepalive chain +36 and +32 ms after a first probe
    /// one jiffy late) — at most a bucket and one more jiffy of the segment's own harness timing, either way.
    /// </summary>
    internal static bool WheelMoved(long gapNs, long shiftChangeNs) =>
        Math.Abs(shiftChangeNs) <= (WheelGranularityMs(gapNs) + 1000 / Jiffies.Hz) * 1_000_000L;

    /// <summary>The wheel's bucket (ms) for a timer <paramref name="gapNs"/> long.</summary>
    static long WheelGranularityMs(long gapNs) => Jiffies.Granularity(gapNs / Jiffies.Tick.Ns) * (1000 / Jiffies.Hz);

    /// <summary>A <c>time ±N ms</c> field at most <see cref="HarnessTimingMs"/> off.</summary>
    internal static bool IsHarnessTime(string field) =>
        field.StartsWith("time ", StringComparison.Ordinal) && Math.Abs(double.Parse(field["time ".Length..].Replace(" ms", "", StringComparison.Ordinal),
            NumberStyles.Float, CultureInfo.InvariantCulture)) <= HarnessTimingMs;

    /// <summary>
    /// A sequence or acknowledgment number of another incarnation of the 4-tuple, read relative to this one's ISN — a SYN
    /// onto a connection the peer still holds is answered by a challenge ACK that acknowledges the old rcv_nxt, and the
    /// RST that follows carries it as its seq (tcp_rcv_synsent_state_process(), tcp_send_challenge_ack()) — differs by
    /// the ISN's clock, one unit per 64 ns (secure_tcp_seq()), times the runner's lateness between the two connect()s:
    /// both values far from 0 (over 2^24) and at most <see cref="HarnessTimingMs"/> of that clock apart count as time
    /// (fuzz case limits-1-1: 4410 units, 282 µs).
    /// </summary>
    internal static bool IsnClock(string what)
    {
        if (IsnClockLine().Match(what) is not { Success: true } m) return false;
        ulong a = ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), b = ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        return a > 1UL << 24 && b > 1UL << 24 && (a > b ? a - b : b - a) <= (ulong)(HarnessTimingMs * 1_000_000 / 64);
    }

    [GeneratedRegex(@"^(?:seq|ack) (\d+) → (\d+)$")]
    private static partial Regex IsnClockLine();

    // ---- packets ---------------------------------------------------------------------------

    static (int Differences, int Timing) ComparePackets(RunOutcome engine, RunOutcome kernel, long tolerance, PortNames ports, List<string> lines, List<DiffItem> items)
    {
        int differences = 0, allTiming = 0;
        // One connection's direction at a time: segments of two connections sent within a millisecond of each other
        // come in either order (the harness's steps, the emulator's queues), which is no difference.
        (string, string, string, string) Flow(OutcomePacket p, Side side) =>
            (p.From, p.To, ports.Name(side, p.From, p.FromPort), ports.Name(side, p.To, p.ToPort));
        var flows = engine.Packets.Select(p => Flow(p, Side.Engine)).Concat(kernel.Packets.Select(p => Flow(p, Side.Kernel))).Distinct()
            .OrderBy(f => f.Item1, StringComparer.Ordinal).ThenBy(f => f.Item2, StringComparer.Ordinal)
            .ThenBy(f => f.Item3, StringComparer.Ordinal).ThenBy(f => f.Item4, StringComparer.Ordinal);
        foreach (var flow in flows)
        {
            var (from, to, fromPort, toPort) = flow;
            var e = engine.Packets.Where(p => Flow(p, Side.Engine) == flow).OrderBy(p => p.AtNs).ToList();
            var k = kernel.Packets.Where(p => Flow(p, Side.Kernel) == flow).OrderBy(p => p.AtNs).ToList();
            var pairs = Align(e, k, tolerance, ports);
            string where = $"{from}:{fromPort} > {to}:{toPort}";
            var found = new List<(string Line, DiffItem Item)>();
            void Found(string line, DiffItem item) => found.Add((line, item with { Text = $"packets {where}: {line}" }));
            int alike = 0, timeOnly = 0, content = 0, timing = 0;
            // The previous pair of a chain the harness's lateness moved (set apart as timing): its engine time and shift.
            (long EngineAt, long Shift)? late = null;
            foreach (var (i, j) in pairs)
            {
                if (i >= 0 && j >= 0)
                {
                    var what = Differences(e[i], k[j]);
                    long dt = k[j].AtNs - e[i].AtNs;
                    if (Math.Abs(dt) > tolerance) what.Add($"time {Signed(dt)}");
                    var previous = late;
                    late = null;
                    if (what.Count == 0)
                    {
                        alike++;
                        continue;
                    }
                    bool harness = HarnessTiming(what), onlyTime = !harness && what.Count == 1 && Math.Abs(dt) > tolerance;
                    if (onlyTime && previous is { } before && WheelMoved(e[i].AtNs - before.EngineAt, dt - before.Shift))
                    {
                        (harness, onlyTime) = (true, false);
                        what.Add($"a timer chain after a late one: {Signed(dt - before.Shift)} through the wheel's {WheelGranularityMs(e[i].AtNs - before.EngineAt)} ms buckets");
                    }
                    if (harness && dt > 0) late = (e[i].AtNs, dt);
                    if (harness) timing++;
                    else if (onlyTime) timeOnly++;
                    else content++;
                    string mine = Show(e[i], ports, Side.Engine), theirs = Show(k[j], ports, Side.Kernel);
                    Found($"{(harness ? "timing" : "differ")}: engine {mine} | kernel {theirs} — {string.Join(", ", what)}",
                        new DiffItem("packet", harness ? "timing" : onlyTime ? "time" : "differ", where, "") { AtNs = e[i].AtNs, KernelAtNs = k[j].AtNs, Engine = mine, Kernel = theirs, Fields = what });
                }
                else if (i >= 0)
                {
                    string mine = Show(e[i], ports, Side.Engine);
                    Found($"engine only: {mine}", new DiffItem("packet", "engine-only", where, "") { AtNs = e[i].AtNs, Engine = mine });
                }
                else
                {
                    string theirs = Show(k[j], ports, Side.Kernel);
                    Found($"kernel only: {theirs}", new DiffItem("packet", "kernel-only", where, "") { AtNs = k[j].AtNs, KernelAtNs = k[j].AtNs, Kernel = theirs });
                }
            }
            int engineOnly = pairs.Count(p => p.K < 0), kernelOnly = pairs.Count(p => p.E < 0);
            if (found.Count == 0) continue;
            differences += found.Count - timing;
            allTiming += timing;
            items.AddRange(found.Select(f => f.Item));
            lines.Add($"packets {where}: {e.Count} on the engine, {k.Count} on the kernel; {alike} alike, {content} differ, {timeOnly} only in time, "
                + (timing > 0 ? $"{timing} harness timing, " : "") + $"{engineOnly} engine only, {kernelOnly} kernel only");
            lines.AddRange(found.Take(MaxLinesPerDirection).Select(f => "  " + f.Line));
            if (found.Count > MaxLinesPerDirection) lines.Add($"  … {found.Count - MaxLinesPerDirection} more");
        }
        return (differences, allTiming);
    }

    internal enum Side { Engine, Kernel }

    /// <summary>
    /// A global alignment of the two sequences (Needleman–Wunsch with no gap cost): only segments with the same flags
    /// pair, scored by how much of their content agrees (<see cref="PairScore"/>) and how near their times are; the
    /// pairs and the unpaired (index −1 on the other side) in order.
    /// </summary>
    internal static List<(int E, int K)> Align(IReadOnlyList<OutcomePacket> e, IReadOnlyList<OutcomePacket> k, long tolerance, PortNames ports)
    {
        int n = e.Count, m = k.Count;
        var eKeys = e.Select(p => Key(p, ports, Side.Engine)).ToArray();
        var kKeys = k.Select(p => Key(p, ports, Side.Kernel)).ToArray();
        int Score(int i, int j) => PairScore(e[i], k[j], eKeys[i] == kKeys[j], tolerance);
        var score = new int[n + 1, m + 1];
        for (int i = 1; i <= n; i++)
            for (int j = 1; j <= m; j++)
            {
                int best = Math.Max(score[i - 1, j], score[i, j - 1]);
                int pair = Score(i - 1, j - 1);
                if (pair > 0) best = Math.Max(best, score[i - 1, j - 1] + pair);
                score[i, j] = best;
            }
        var path = new List<(int, int)>();
        int a = n, b = m;
        while (a > 0 || b > 0)
        {
            if (a > 0 && b > 0 && Score(a - 1, b - 1) is > 0 and var s && score[a, b] == score[a - 1, b - 1] + s)
            {
                path.Add((--a, --b));
            }
            // Walking backwards: the kernel's unpaired segment first, so that in order an engine-only one comes before it.
            else if (b > 0 && score[a, b] == score[a, b - 1]) path.Add((-1, --b));
            else path.Add((--a, -1));
        }
        path.Reverse();
        return path;
    }

    /// <summary>
    /// 0 when the two cannot be the same segment (other flags); else 30, 60 with the same seq and length, 70 with the same
    /// ack too, 100 alike; +10 within the tolerance in time, +5 within 50 ms. The ack tells a run of pure ACKs apart: with
    /// the kernel's window one unit lower in each (a TUN device's truesize), ACK 7301 pairs with ACK 7301, not with the
    /// engine's next ACK of that same window.
    /// </summary>
    static int PairScore(OutcomePacket e, OutcomePacket k, bool alike, long tolerance)
    {
        if (e.Flags != k.Flags) return 0;
        int content = alike ? 100 : e.Seq == k.Seq && e.Len == k.Len ? e.Ack == k.Ack ? 70 : 60 : 30;
        long dt = Math.Abs(k.AtNs - e.AtNs);
        return content + (dt <= tolerance ? 10 : dt <= 50_000_000 ? 5 : 0);
    }

    static string Key(OutcomePacket p, PortNames ports, Side side) =>
        $"{ports.Name(side, p.From, p.FromPort)}>{ports.Name(side, p.To, p.ToPort)} {p.Flags} seq={p.Seq} ack={p.Ack} win={p.Win} len={p.Len}"
        + (p.Options.Length > 0 ? $" <{p.Options}>" : "") + (p.Dropped ? " (dropped)" : "");

    static string Show(OutcomePacket p, PortNames ports, Side side) => $"{Ms(p.AtNs)} {Key(p, ports, side)}";

    static List<string> Differences(OutcomePacket e, OutcomePacket k)
    {
        var what = new List<string>();
        void Field<T>(string name, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b)) what.Add($"{name} {a} → {b}");
        }
        Field("flags", e.Flags, k.Flags);
        Field("seq", e.Seq, k.Seq);
        Field("ack", e.Ack, k.Ack);
        Field("win", e.Win, k.Win);
        Field("len", e.Len, k.Len);
        Field("options", $"<{e.Options}>", $"<{k.Options}>");
        Field("dropped", e.Dropped, k.Dropped);
        return what;
    }

    // ---- socket states ---------------------------------------------------------------------

    static int CompareStates(RunOutcome engine, RunOutcome kernel, PortNames ports, List<string> lines, List<DiffItem> items)
    {
        int differences = 0;
        foreach (var snapshot in engine.Snapshots)
        {
            if (kernel.Snapshots.FirstOrDefault(s => s.Label == snapshot.Label) is not { Readings.Count: > 0 } theirs || snapshot.Readings.Count == 0) continue;
            var mine = Keys(snapshot.Readings[0].Sockets, ports, Side.Engine);
            var best = theirs.Readings
                .Select(r => (Reading: r, Missing: Minus(mine, Keys(r.Sockets, ports, Side.Kernel)), Extra: Minus(Keys(r.Sockets, ports, Side.Kernel), mine)))
                .OrderBy(x => x.Missing.Count + x.Extra.Count).ThenBy(x => Math.Abs(x.Reading.AtNs - snapshot.AtNs)).First();
            if (best.Missing.Count + best.Extra.Count == 0) continue;
            differences += best.Missing.Count + best.Extra.Count;
            string where = snapshot.Label == RunOutcome.End ? $"at the end (engine {Ms(snapshot.AtNs)}, kernel {Ms(best.Reading.AtNs)})"
                : $"at {snapshot.Label} ({Ms(snapshot.AtNs)}; kernel reading {Ms(best.Reading.AtNs)})";
            lines.Add($"sockets {where}:");
            if (best.Missing.Count > 0) lines.Add($"  engine only: {string.Join("; ", best.Missing)}");
            if (best.Extra.Count > 0) lines.Add($"  kernel only: {string.Join("; ", best.Extra)}");
            string label = snapshot.Label == RunOutcome.End ? "end" : snapshot.Label;
            items.AddRange(best.Missing.Select(s => new DiffItem("socket", "engine-only", label, $"sockets {where}: engine only: {s}")
                { AtNs = snapshot.AtNs, KernelAtNs = best.Reading.AtNs, Engine = s }));
            items.AddRange(best.Extra.Select(s => new DiffItem("socket", "kernel-only", label, $"sockets {where}: kernel only: {s}")
                { AtNs = snapshot.AtNs, KernelAtNs = best.Reading.AtNs, Kernel = s }));
        }
        return differences;
    }

    static List<string> Keys(IEnumerable<OutcomeSocket> sockets, PortNames ports, Side side) =>
        [.. sockets.Select(s => $"{s.Host} {s.State}{(s.TimeWait ? " (timewait socket)" : "")} :{ports.Name(side, s.Host, s.LocalPort)} > "
            + (s.Remote == "*" ? "*" : $"{s.Remote}:{ports.Name(side, PortNames.RemoteHost(s), s.RemotePort)}")).Order(StringComparer.Ordinal)];

    /// <summary>The multiset difference a − b.</summary>
    static List<string> Minus(List<string> a, List<string> b)
    {
        var left = b.GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        var result = new List<string>();
        foreach (var x in a)
        {
            if (left.TryGetValue(x, out int c) && c > 0) left[x] = c - 1;
            else result.Add(x);
        }
        return result;
    }

    // ---- counters --------------------------------------------------------------------------

    static (int Differences, int Unmodelled) CompareCounters(RunOutcome engine, RunOutcome kernel, List<string> lines, List<DiffItem> items)
    {
        int differences = 0, unmodelled = 0;
        foreach (var host in engine.Counters.Keys.Order(StringComparer.Ordinal))
        {
            if (!kernel.Counters.TryGetValue(host, out var theirs)) continue;
            var mine = engine.Counters[host];
            var differing = mine.Keys.Order(StringComparer.Ordinal).Where(c => theirs.TryGetValue(c, out var v) && v != mine[c]).ToList();
            var differ = differing.Select(c => $"{c} {mine[c]} → {theirs[c]}").ToList();
            var missing = theirs.Where(c => !mine.ContainsKey(c.Key) && c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
            differences += differ.Count;
            unmodelled += missing.Count;
            items.AddRange(differing.Select(c => new DiffItem("counter", "differ", host, $"counters {host} (engine → kernel): {c} {mine[c]} → {theirs[c]}")
                { Counter = c, EngineValue = mine[c], KernelValue = theirs[c] }));
            items.AddRange(missing.Select(c => new DiffItem("unmodelled-counter", "kernel-only", host, $"counters {host} the engine does not model (kernel delta): {c.Key} {c.Value}")
                { Counter = c.Key, KernelValue = c.Value, Teardown = IsTeardown(c.Key) }));
            if (differ.Count > 0) lines.Add($"counters {host} (engine → kernel): {string.Join(", ", differ)}");
            if (missing.Count > 0)
            {
                var teardown = missing.Where(c => IsTeardown(c.Key)).Select(c => $"{c.Key} {c.Value}").ToList();
                var other = missing.Where(c => !IsTeardown(c.Key)).Select(c => $"{c.Key} {c.Value}").ToList();
                lines.Add($"counters {host} the engine does not model (kernel deltas): "
                    + (teardown.Count > 0 ? $"teardown: {string.Join(", ", teardown)}" + (other.Count > 0 ? "; " : "") : "")
                    + (other.Count > 0 ? $"other: {string.Join(", ", other)}" : ""));
            }
        }
        return (differences, unmodelled);
    }

    /// <summary>Each workload step's connect() results by errno: a line and an item for each step whose counts differ.</summary>
    static int CompareConnectResults(RunOutcome engine, RunOutcome kernel, List<string> lines, List<DiffItem> items)
    {
        int differences = 0;
        foreach (var mine in engine.ConnectResults)
        {
            // By the step's path: a step one side refused is said so, never compared with another step (review37b S-5).
            if (kernel.ConnectResults.FirstOrDefault(k => k.Path == mine.Path) is not { } theirs || mine.Refused is not null && theirs.Refused is not null) continue;
            var (a, b) = (mine.Results, theirs.Results);
            if (mine.Refused is null && theirs.Refused is null && a.Count == b.Count && a.All(r => b.GetValueOrDefault(r.Key) == r.Value)) continue;
            differences++;
            var (what, text) = (mine.Refused, theirs.Refused) switch
            {
                ({ } why, _) => ("kernel-only", $"{mine.Path}: the engine refused it ({why}); the kernel ran it, connect() results {KernelWorkload.Describe(b)}"),
                (_, { } why) => ("engine-only", $"{mine.Path}: the kernel did not run it ({why}); the engine did, connect() results {KernelWorkload.Describe(a)}"),
                _ => ("differ", $"connect() results of {mine.Path} (engine → kernel): {KernelWorkload.Describe(a)} → {KernelWorkload.Describe(b)}"),
            };
            lines.Add(text);
            items.Add(new DiffItem("workload", what, mine.Path, text));
        }
        return differences;
    }

    static bool IsTeardown(string counter) => TeardownCounters.Any(t => counter.StartsWith(t, StringComparison.Ordinal));

    // ---- text ------------------------------------------------------------------------------

    static string Ms(long ns) => (ns / 1e6).ToString("0.###", CultureInfo.InvariantCulture) + "ms";

    static string Signed(long ns) => (ns >= 0 ? "+" : "") + (ns / 1e6).ToString("0.0##", CultureInfo.InvariantCulture) + " ms";

    /// <summary>
    /// Port names for both sides: a port connected to (the destination of a SYN) or listened on, on either side, is its
    /// number; any other — the connecting side's, an ephemeral or a bound one — is <c>~N</c>, N the order in which that
    /// host first used such a port (in time order of packets, then listings), so that connections pair by the order
    /// they were made: the kernel picks an ephemeral port by a hash with a secret of the boot (__inet_hash_connect()).
    /// </summary>
    internal sealed class PortNames
    {
        readonly Dictionary<(string, int), string> _engine;
        readonly Dictionary<(string, int), string> _kernel;

        public PortNames(RunOutcome engine, RunOutcome kernel)
        {
            var services = Services(engine).Concat(Services(kernel)).ToHashSet();
            _engine = Named(Used(engine), services);
            _kernel = Named(Used(kernel), services);
        }

        public string Name(Side side, string host, int port) =>
            port == 0 ? "*" : (side == Side.Engine ? _engine : _kernel).GetValueOrDefault((host, port)) ?? port.ToString(CultureInfo.InvariantCulture);

        /// <summary>The (host, port) pairs a SYN went to, and those a host listened on.</summary>
        static IEnumerable<(string, int)> Services(RunOutcome outcome) =>
            outcome.Packets.Where(p => p.Flags == "S").Select(p => (p.To, p.ToPort))
                .Concat(outcome.Snapshots.SelectMany(s => s.Readings).SelectMany(r => r.Sockets).Where(s => s.State == "LISTEN").Select(s => (s.Host, s.LocalPort)));

        /// <summary>
        /// The host a listing row's remote port is named on: the row's own host when the remote is a loopback address
        /// (127.0.0.0/8) — lo's packets name both ends by that host, so a lo connection's far end is the port its own
        /// packets named, not a name taken in the order the listing rows come (the kernel lists in its hash's order).
        /// </summary>
        internal static string RemoteHost(OutcomeSocket s) => s.Remote.StartsWith("127.", StringComparison.Ordinal) ? s.Host : s.Remote;

        static List<(string, int)> Used(RunOutcome outcome)
        {
            var used = new List<(string, int)>();
            foreach (var p in outcome.Packets.OrderBy(p => p.AtNs))
            {
                used.Add((p.From, p.FromPort));
                used.Add((p.To, p.ToPort));
            }
            foreach (var s in outcome.Snapshots.SelectMany(s => s.Readings).SelectMany(r => r.Sockets))
            {
                used.Add((s.Host, s.LocalPort));
                used.Add((RemoteHost(s), s.RemotePort));
            }
            return [.. used.Where(u => u.Item2 != 0).Distinct()];
        }

        static Dictionary<(string, int), string> Named(List<(string Host, int Port)> used, HashSet<(string, int)> common)
        {
            var names = new Dictionary<(string, int), string>();
            var next = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var u in used)
            {
                if (common.Contains(u)) continue;
                int n = next.GetValueOrDefault(u.Host) + 1;
                next[u.Host] = n;
                names[u] = $"~{n}";
            }
            return names;
        }
    }
}
