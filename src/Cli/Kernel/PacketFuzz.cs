using System.Globalization;
using SimService.Cli.Commands;
using SimService.Cli.Files;
using SimService.Domain.Observability;
using SimService.Domain.Packetdrill;

namespace SimService.Cli.Kernel;

/// <summary>The fate of one record-mode script on both sides: the comparison, how many kernel runs it took, both recordings.</summary>
internal sealed record RecordedCase(RecordingComparison? Comparison, int KernelRuns, IReadOnlyList<RecordedEvent> Engine, IReadOnlyList<RecordedEvent> Kernel, string? Error)
{
    /// <summary>
    /// The kernel runs whose jiffies were not lined up with the engine's ("run 2: the kernel's jiffies were 1 ahead …"):
    /// the aligned start did not hold (a tick late under load), so a timer on a level-1 wheel bucket can fire a whole
    /// 8-jiffy bucket off the engine's — a difference of the run's clock, not of a rule (pkt 24204 and 24316, session 24).
    /// </summary>
    public IReadOnlyList<string> Misaligned { get; init; } = [];

    /// <summary>A first kernel run differed, a later one agreed: the difference was the runner's timing, not the kernel's rules.</summary>
    public bool AgreedOnRerun => Comparison?.Verdict == RecordingVerdict.Same && KernelRuns > 1;

    /// <summary>
    /// The kernel's recording differs, and the engine gives it with the runner's lateness put into the script
    /// (<see cref="PacketFuzz.EdgeLag"/>): EDGE, the runner's timing, not a rule. Null when no lag explains it.
    /// </summary>
    public LaggedEdge? Edge { get; init; }

    /// <summary>The engine's counter changes over the script (its local host from boot), null when it did not run.</summary>
    public IReadOnlyDictionary<string, long>? EngineCounters { get; init; }

    /// <summary>The namespace's counter changes over the kept kernel run (the child's, as for --counters).</summary>
    public IReadOnlyDictionary<string, long>? KernelCounters { get; init; }
}

/// <summary>What the runner's lateness was put into the script as (<see cref="LaggedEdge"/>).</summary>
internal enum EdgeLagKind
{
    /// <summary>Each inbound segment sharing an instant with the one before it, later (<see cref="PacketFuzz.InboundLagged"/>).</summary>
    SameInstantInbound,
    /// <summary>Each system call, later (<see cref="PacketFuzz.CallsLagged"/>).</summary>
    Calls,
    /// <summary>Each event the engine answers at once, at the kernel's answer (<see cref="PacketFuzz.AnswerTimed"/>).</summary>
    KernelAnswers,
}

/// <summary>What explained an EDGE case: events of <paramref name="Kind"/> up to <paramref name="LagMs"/> later (<paramref name="Moved"/>: which, for <see cref="EdgeLagKind.KernelAnswers"/>).</summary>
internal sealed record LaggedEdge(double LagMs, EdgeLagKind Kind, string? Moved = null)
{
    public string Note => string.Create(CultureInfo.InvariantCulture, $"the engine gives the kernel's recording with ") + Kind switch
    {
        EdgeLagKind.SameInstantInbound => string.Create(CultureInfo.InvariantCulture, $"each inbound segment sharing an instant with the one before it written {LagMs} ms later (the runner writes them one after the other)"),
        EdgeLagKind.Calls => string.Create(CultureInfo.InvariantCulture, $"each system call made {LagMs} ms later (the runner's calls begin late; one just before a tick moves what it arms by a jiffy)"),
        _ => string.Create(CultureInfo.InvariantCulture, $"each inbound segment or call it answers at once moved to when the kernel answered it, at most {LagMs} ms later ({Moved}; the runner's late writes and calls: a late SYN shortens the handshake's RTT sample and every RTO after it)"),
    };
}

/// <summary>
/// Record mode against both targets: <c>simservice kernel --record FILE…</c> (a script of inbound segments and calls,
/// recorded on the engine and on the real kernel and compared) and <c>simservice kernel --fuzz-pkt N --seed S [--keep
/// DIR]</c> (N such scripts written by <see cref="PacketCaseGenerator"/> from seeds S, S+1, …, each compared the same way).
/// </summary>
internal static class PacketFuzz
{
    /// <summary>A kernel run that differs is run again up to this many times: one that then agrees was late, not different.</summary>
    const int Reruns = 2;

    /// <summary>Runs the script on the engine in record mode: its recording, or why it did not run.</summary>
    internal static (IReadOnlyList<RecordedEvent>? Recording, string? Error) OnEngine(string text, string name)
    {
        var (recording, error, _) = OnEngineWithCounters(text, name);
        return (recording, error);
    }

    /// <summary><see cref="OnEngine"/>, and the local host's counter changes from boot (null when it did not run).</summary>
    static (IReadOnlyList<RecordedEvent>? Recording, string? Error, IReadOnlyDictionary<string, long>? Counters) OnEngineWithCounters(string text, string name)
    {
        var run = PacketdrillRunner.Run(text, new PacketdrillOptions { ScriptName = name, Record = true });
        if (run.Refused) return (null, "not run on the engine: " + run.Output, null);
        if (run.Failure is { } f) return (null, f.Message, null);
        return (run.Recording, null, run.Simulation?.FindHost(PacketdrillRunner.LocalHost) is { } host ? MibDelta.SinceBoot(host) : null);
    }

    /// <summary>The engine's recording and the kernel's, compared; a differing kernel run is repeated (<see cref="Reruns"/>) and the best kept.</summary>
    internal static RecordedCase Compare(ScenarioFile file, CancellationToken cancellationToken)
    {
        var (engine, engineError, engineCounters) = OnEngineWithCounters(file.ReadText(), Path.GetFileName(file.FullPath));
        if (engine is null) return new RecordedCase(null, 0, [], [], engineError);
        RecordedCase? best = null;
        int runs = 0;
        var misaligned = new List<string>();
        for (int run = 1; run <= 1 + Reruns; run++)
        {
            runs = run;
            var (_, child) = KernelCommand.RunChild(file, false, MachineWide.None, cancellationToken, record: true);
            misaligned.AddRange((child?.Log ?? []).Where(l => l.StartsWith(KernelScriptRunner.MisalignedNote, StringComparison.Ordinal))
                .Select(l => $"run {run}: {l["note: ".Length..]}"));
            if (child?.Recording is not { } kernel)
                return new RecordedCase(null, run, engine, [], child?.Message ?? child?.SetupError ?? "the kernel run gave no recording") { Misaligned = misaligned };
            var comparison = RecordingComparison.Compare(engine, kernel, PacketdrillOptions.DefaultToleranceUsecs * 1_000);
            var now = new RecordedCase(comparison, run, engine, kernel, child.Message is { } stopped ? $"the kernel run stopped: {stopped}" : null)
            {
                EngineCounters = engineCounters, KernelCounters = child.Counters,
            };
            if (best is null || comparison.Verdict < best.Comparison!.Verdict) best = now;
            if (comparison.Verdict == RecordingVerdict.Same) break;
        }
        best = best! with { KernelRuns = runs, Misaligned = misaligned };
        return best.Comparison!.Verdict == RecordingVerdict.Different
            ? best with { Edge = EdgeLag(file.ReadText(), Path.GetFileName(file.FullPath), best.Kernel) }
            : best;
    }

    /// <summary>
    /// How much later the kernel runner writes an inbound segment that the script gives the instant of the one before it
    /// (ms, smallest first): the runner writes them one write() after the other, and the kernel handles each within its
    /// write, so the second comes 0.3–0.9 ms after the first on this machine (pkt 25311: a FIN, then 0.75 ms later an
    /// out-of-window ACK; the FIN's delayed ACK, armed for the next tick 0.8 ms on, went in between in about half the runs).
    /// The largest lag tried is the largest measured: a lag the runner never shows could call a real difference an edge.
    /// </summary>
    internal static readonly double[] InboundLagsMs = [0.5, 0.9];

    /// <summary>
    /// The smallest of <see cref="InboundLagsMs"/> with which the engine's recording of the script, its same-instant
    /// inbound segments written that much later (<see cref="InboundLagged"/>), or else the script moved by the kernel's
    /// answers (<see cref="AnswerTimed"/>), or else its system calls made that much later (<see cref="CallsLagged"/>),
    /// is the kernel's (times within the tolerance and a tick); null when none is, or the script cannot be lagged. The runner's calls begin late (0.10–0.56 ms median under load, session 20), and a
    /// call just before a tick that the kernel takes after it arms its timers from the next jiffy: pkt 35204's write()
    /// 39 µs before a tick left 131 µs late on 6.18.44 (session 36), and the loss probe and the RTO after it came a jiffy
    /// later than the engine's, once a second tick later as well (session 35: DIFFER in all three runs).
    /// </summary>
    internal static LaggedEdge? EdgeLag(string text, string name, IReadOnlyList<RecordedEvent> kernel)
    {
        const long toleranceNs = PacketdrillOptions.DefaultToleranceUsecs * 1_000;
        bool Explains(string lagged) => OnEngine(lagged, name).Recording is { } engine
            && RecordingComparison.Compare(engine, kernel, toleranceNs).Verdict != RecordingVerdict.Different;
        // The lateness the kernel's answers measured before a lag guessed for every call: a late SYN also changed what a
        // later write() sent (pkt 36502: its fourth segment without PSH), which the calls lag matched as well, by chance.
        foreach (var kind in (EdgeLagKind[])[EdgeLagKind.SameInstantInbound, EdgeLagKind.KernelAnswers, EdgeLagKind.Calls])
        {
            if (kind == EdgeLagKind.KernelAnswers)
            {
                if (OnEngine(text, name).Recording is { } asWritten && AnswerTimed(text, name, asWritten, kernel, toleranceNs + RecordingComparison.OneTickNs) is { } timed
                    && Explains(timed.Text))
                    return new LaggedEdge(timed.Moves.Max(m => m.ByUs) / 1000.0, kind, string.Join(", ", timed.Moves.Select(m =>
                        string.Create(CultureInfo.InvariantCulture, $"line {m.Line} by {m.ByUs / 1000.0} ms"))));
                continue;
            }
            foreach (double lagMs in InboundLagsMs)
            {
                long lagUs = (long)(lagMs * 1000);
                if ((kind == EdgeLagKind.Calls ? CallsLagged(text, lagUs) : InboundLagged(text, lagUs)) is not { } lagged) break;
                if (Explains(lagged)) return new LaggedEdge(lagMs, kind);
            }
        }
        return null;
    }

    /// <summary>
    /// The script with each event the engine answers at once moved to when the kernel sent that answer (the same segment, in
    /// the same place of the kernel's recording), when that is later by at most <paramref name="toleranceNs"/> (<see
    /// cref="EdgeLag"/>: the tolerance and a tick, what the comparison calls timing). An event is answered at once when the
    /// engine's first segment at its very instant is its answer: with that event alone moved, the engine sends that segment
    /// at the event's new time (a SYN-ACK, an ACK, a write's data) — a timer's segment sharing the instant with a write
    /// stays where it was, and the write is not moved (review36 S-3: the first event at such an instant was, whatever it
    /// was). Of the events at an instant the last that moves the segment is its cause; the ones after it keep their order
    /// (max(its own time, the time before it as moved)), the ones before it their times.
    /// The runner's lateness as the kernel measured it: pkt 36002's SYN, written 3.065 ms late at load 30, was answered at
    /// 0.003065 s, so the handshake's RTT sample was 6.9 ms (RTO 52 jiffies, not 53) and the fourth RTO backoff came a
    /// level-1 bucket (32 ms) before the engine's. Null when no event moves (or a time is not relative); with each moved
    /// event's line and how much later it was moved (µs).
    /// </summary>
    internal static (string Text, IReadOnlyList<(int Line, long ByUs)> Moves)? AnswerTimed(string text, string name,
        IReadOnlyList<RecordedEvent> engine, IReadOnlyList<RecordedEvent> kernel, long toleranceNs)
    {
        var e = engine.Where(x => x.Kind == RecordedKind.Packet).ToList();
        var k = kernel.Where(x => x.Kind == RecordedKind.Packet).ToList();
        var late = new Dictionary<long, (long By, int Packet)>(); // an instant (µs) the engine answered at → how much later the kernel did
        for (int i = 0; i < Math.Min(e.Count, k.Count) && e[i].Text == k[i].Text; i++)
        {
            long by = k[i].AtNs - e[i].AtNs;
            if (by > 0 && by <= toleranceNs) late.TryAdd(e[i].AtNs / 1000, (by / 1000, i));
        }
        var atInstant = new List<(long Written, int Line)>(); // the events at an instant the kernel answered later
        Retimed(text, (written, _, what, _, line) =>
        {
            if (!what.StartsWith("%{", StringComparison.Ordinal) && late.ContainsKey(written)) atInstant.Add((written, line));
            return null;
        });
        var moves = new List<(int Line, long ByUs)>();
        foreach (var instant in atInstant.GroupBy(x => x.Written))
        {
            var (by, packet) = late[instant.Key];
            // The last event whose move alone moves the segment is what it answers: the events after it (which a move of
            // an earlier one drags along, max(own time, the one before)) do not move it.
            foreach (var (_, line) in instant.Reverse())
            {
                long to = 0;
                if (Retimed(text, (written, moved, _, _, at) => at == line ? to = Math.Max(written + by, moved) : null) is { } alone
                    && OnEngine(alone, name).Recording?.Where(x => x.Kind == RecordedKind.Packet).ElementAtOrDefault(packet) is { } answer
                    && answer.Text == e[packet].Text && answer.AtNs == to * 1000)
                {
                    moves.Add((line, by));
                    break;
                }
            }
        }
        var byLine = moves.ToDictionary(m => m.Line, m => m.ByUs);
        var timed = Retimed(text, (written, moved, _, _, line) => byLine.TryGetValue(line, out long by) ? Math.Max(written + by, moved) : null);
        return timed is not null ? (timed, moves) : null;
    }

    /// <summary>
    /// The script with each inbound segment ("&lt; …") at "+0" after another inbound segment written
    /// <paramref name="lagUs"/> later, and every later event at max(its own time, the time of the event before it as
    /// moved) — the runner's order: an event never goes before the one before it — so the events after the next gap keep
    /// their times. Null when a line's time is not relative (absolute, a range, "*") or no segment moved.
    /// </summary>
    internal static string? InboundLagged(string text, long lagUs) =>
        Retimed(text, (_, moved, line, afterInbound, _) => afterInbound && line.StartsWith("< ", StringComparison.Ordinal) ? moved + lagUs : null, sameInstantOnly: true);

    /// <summary>
    /// The script with each system call (a line that is not an inbound segment, a %{ }% block or a backtick line) made
    /// <paramref name="lagUs"/> later than written, never before the event before it as moved, and every later event at
    /// max(its own time, that): the runner's late calls. Null as <see cref="InboundLagged"/>, or when there is no call.
    /// </summary>
    internal static string? CallsLagged(string text, long lagUs) =>
        Retimed(text, (written, moved, line, _, _) => line.StartsWith("< ", StringComparison.Ordinal) || line.StartsWith("%{", StringComparison.Ordinal) || line.StartsWith('`')
            ? null : Math.Max(written + lagUs, moved));

    /// <summary>
    /// The script's events retimed: <paramref name="move"/> (the event's time as written and the time of the event before
    /// it as moved, µs; its text; whether the event before it is an inbound segment; its line) gives an event's new time, or null to
    /// leave it at max(its own time, the time before it as moved) — the runner's order: an event never goes before the
    /// one before it, so the events after the next gap keep their times. With <paramref name="sameInstantOnly"/>, only
    /// events at "+0" are asked. Null when a line's time is not relative (absolute, a range, "*") or no event moved.
    /// </summary>
    static string? Retimed(string text, Func<long, long, string, bool, int, long?> move, bool sameInstantOnly = false)
    {
        var lines = text.TrimEnd('\n').Split('\n');
        long written = 0, moved = 0; // the last event's time as written and as moved (µs)
        bool afterInbound = false, any = false;
        for (int i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (trimmed.Length == 0 || trimmed.StartsWith("//", StringComparison.Ordinal) || trimmed.StartsWith("--", StringComparison.Ordinal)) continue;
            if (Gap(lines[i]) is not { } gap) return null;
            long gapUs = (long)Math.Round(gap.Seconds * 1_000_000);
            long at = Math.Max(written + gapUs, moved);
            if ((!sameInstantOnly || gapUs == 0) && move(written + gapUs, moved, gap.Text, afterInbound, i + 1) is { } to)
            {
                at = to;
                any = true;
            }
            lines[i] = $"{"+" + ((at - moved) / 1e6).ToString("0.######", CultureInfo.InvariantCulture),9} {gap.Text}";
            written += gapUs;
            moved = at;
            afterInbound = gap.Text.StartsWith("< ", StringComparison.Ordinal);
        }
        return any ? string.Join('\n', lines) + "\n" : null;
    }

    /// <summary>Why <c>--record</c> cannot take these files (a scenario among them: record mode is packetdrill's), or null.</summary>
    internal static string? NotScripts(IReadOnlyList<ScenarioFile> files) =>
        files.FirstOrDefault(f => f.Format is not PacketdrillFormat) is { } other
            ? $"--record records packetdrill scripts (*.pkt) only: {other.DisplayPath} is not one" : null;

    /// <summary><c>kernel --record FILE…</c>: each script recorded on both, one verdict line each (both recordings with --verbose); exit 1 when one differs.</summary>
    internal static int RecordFiles(CommandLine line, IReadOnlyList<ScenarioFile> files, TextWriter output, CancellationToken cancellationToken)
    {
        int differing = 0;
        var counters = line.Has("counters") ? new CounterComparison() : null;
        foreach (var file in files)
        {
            var result = Compare(file, cancellationToken);
            differing += Write(output, file.DisplayPath, result, line.Has("verbose")) ? 1 : 0;
            WriteCounters(output, counters, file.DisplayPath, result);
        }
        output.WriteLine($"record: {files.Count} scripts, {files.Count - differing} agree with the engine, {differing} differ");
        foreach (var text in counters?.Summary() ?? []) output.WriteLine(text);
        return differing == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>
    /// <c>kernel --fuzz-pkt N [--seed S] [--keep DIR] [--shrink]</c>: N generated cases from seeds S, S+1, …; each written
    /// to DIR (without --keep a unique temporary folder, removed at exit), run on both and compared; a difference prints the seed, the case file
    /// and the first differing event, and its two recordings are saved next to it (with --shrink, the case cut down as
    /// fuzz-N.min.pkt). Exit 1 when a case differs.
    /// </summary>
    internal static int Run(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!int.TryParse(line.Value("fuzz-pkt"), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
            return RunCommand.Usage(error, $"kernel: --fuzz-pkt: '{line.Value("fuzz-pkt")}' is not a positive number of cases");
        long seed = 1;
        if (line.Value("seed") is { } s && !long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out seed))
            return RunCommand.Usage(error, $"kernel: --seed: '{s}' is not a whole number from {long.MinValue} to {long.MaxValue}");
        if (seed > long.MaxValue - count)
            return RunCommand.Usage(error, $"kernel: --seed: {seed} leaves no room for {count} cases (seeds S to S+N-1 must stay below {long.MaxValue})");
        using var folder = CaseFolder.Of(line.Value("keep"), $"simservice-fuzz-pkt-{seed}-");
        var counters = line.Has("counters") ? new CounterComparison() : null;
        var tally = new Dictionary<string, int> { ["agree"] = 0, ["agree on a re-run"] = 0, ["timing only"] = 0, ["edge"] = 0, ["differ"] = 0, ["not run"] = 0 };
        for (long caseSeed = seed; caseSeed < seed + count; caseSeed++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = Path.Combine(folder.Path, $"fuzz-{caseSeed}.pkt");
            folder.Write(path, PacketCaseGenerator.Generate(caseSeed, line.Has("fuzz-edges"), line.Has("fuzz-sysctls"), line.Has("fuzz-teardown"), line.Has("fuzz-rcv"), line.Has("fuzz-opts")));
            var file = new ScenarioFile(path, Path.GetFullPath(path), FileFormats.ForPath(path)!);
            var result = Compare(file, cancellationToken);
            string verdict = Verdict(result);
            tally[verdict]++;
            bool kept = Write(output, $"seed {caseSeed} {folder.Shown(path)}", result, line.Has("verbose"));
            WriteCounters(output, counters, $"seed {caseSeed}", result);
            if (kept || verdict == "edge")
            {
                folder.Write(Path.ChangeExtension(path, ".engine.txt"), Lines(result.Engine));
                folder.Write(Path.ChangeExtension(path, ".kernel.txt"), Lines(result.Kernel));
                if (line.Has("shrink") && verdict == "differ") ShrinkCase(output, path, folder, cancellationToken);
            }
            output.Flush();
        }
        output.WriteLine($"fuzz-pkt: {count} cases (seeds {seed}..{seed + count - 1}): " + string.Join(", ", tally.Select(t => $"{t.Value} {t.Key}")) + (folder.Kept ? $"; cases in {folder.Path}" : "; cases not kept (use --keep DIR)"));
        foreach (var text in counters?.Summary() ?? []) output.WriteLine(text);
        return tally["differ"] + tally["not run"] == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>
    /// --counters with --record or --fuzz-pkt: the case's counter changes on the engine and in the kept kernel run compared
    /// (<see cref="CounterComparison"/>) whatever the recordings' verdict — a report, not a verdict of its own.
    /// </summary>
    internal static void WriteCounters(TextWriter output, CounterComparison? counters, string name, RecordedCase result)
    {
        if (counters is null) return;
        foreach (var text in counters.Check(name, result.EngineCounters, result.KernelCounters,
                     result.EngineCounters is null ? "it did not run on the engine" : result.KernelCounters is null ? "it did not run on the kernel" : null))
            output.WriteLine($"         {text}");
    }

    /// <summary>A recording as its file holds it: one event a line.</summary>
    static string Lines(IEnumerable<RecordedEvent> events) => string.Concat(events.Select(e => e + "\n"));

    /// <summary>--shrink: the differing case cut down (<see cref="Shrink"/>) and saved as fuzz-N.min.pkt.</summary>
    static void ShrinkCase(TextWriter output, string path, CaseFolder folder, CancellationToken cancellationToken)
    {
        var trial = Path.ChangeExtension(path, ".trial.pkt");
        var file = new ScenarioFile(trial, Path.GetFullPath(trial), FileFormats.ForPath(trial)!);
        var shrunk = Shrink(File.ReadAllText(path), text =>
        {
            folder.Write(trial, text);
            return Compare(file, cancellationToken).Comparison?.Verdict == RecordingVerdict.Different;
        });
        File.Delete(trial);
        var min = Path.ChangeExtension(path, ".min.pkt");
        folder.Write(min, shrunk);
        output.WriteLine($"         shrunk to {shrunk.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length} lines: {folder.Shown(min)}");
    }

    /// <summary>
    /// The cheap shrinker: drops the walk's lines one at a time, the last first, keeping each drop after which the case
    /// still differs (<paramref name="stillDiffers"/>); a dropped line's gap goes to the line after it, so the later
    /// events keep their times. The handshake (through the accepted socket's fcntl, or the SYN-ACK of an active open)
    /// and the last line (the final tcp_info) stay.
    /// </summary>
    internal static string Shrink(string text, Func<string, bool> stillDiffers)
    {
        var lines = text.TrimEnd('\n').Split('\n').ToList();
        int walk = lines.FindIndex(l => l.Contains("fcntl(4, F_SETFL", StringComparison.Ordinal) || l.Contains("< S. ", StringComparison.Ordinal)) + 1;
        for (int i = lines.Count - 2; i >= Math.Max(1, walk); i--)
        {
            if (Without(lines, i) is { } candidate && stillDiffers(string.Join('\n', candidate) + "\n")) lines = candidate;
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The lines without line <paramref name="i"/>, its "+gap" added to the next line's; null when it has no relative time.</summary>
    static List<string>? Without(List<string> lines, int i)
    {
        if (Gap(lines[i]) is not { } gap) return null;
        var copy = new List<string>(lines);
        copy.RemoveAt(i);
        if (i < copy.Count && Gap(copy[i]) is { } next && gap.Seconds > 0)
            copy[i] = $"{"+" + (gap.Seconds + next.Seconds).ToString("0.######", CultureInfo.InvariantCulture),9} {next.Text}";
        return copy;
    }

    /// <summary>"   +0.012 write(...)": the gap in seconds and the rest of the line.</summary>
    static (double Seconds, string Text)? Gap(string line)
    {
        var trimmed = line.TrimStart();
        int space = trimmed.IndexOf(' ', StringComparison.Ordinal);
        return trimmed.StartsWith('+') && space > 1 && double.TryParse(trimmed[1..space], NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            ? (seconds, trimmed[(space + 1)..])
            : null;
    }

    static string Verdict(RecordedCase result) => result.Comparison?.Verdict switch
    {
        null => "not run",
        RecordingVerdict.Same => result.AgreedOnRerun ? "agree on a re-run" : "agree",
        RecordingVerdict.TimingOnly => "timing only",
        _ => result.Edge is null ? "differ" : "edge",
    };

    /// <summary>One line for the case (with its first difference under it); true when it differs or did not run.</summary>
    internal static bool Write(TextWriter output, string name, RecordedCase result, bool verbose)
    {
        string verdict = Verdict(result);
        int packets = result.Engine.Count(e => e.Kind == RecordedKind.Packet);
        output.WriteLine($"{verdict.ToUpperInvariant().Replace(' ', '-'),-18} {name}  ({packets} engine segments, {result.KernelRuns} kernel runs)");
        if (result.Error is { } why) output.WriteLine($"         {why.Replace("\n", "\n         ", StringComparison.Ordinal)}");
        if (result.Comparison?.First is { } first && result.Comparison.Verdict != RecordingVerdict.Same)
            foreach (var text in first.ToString().Split('\n')) output.WriteLine($"         {text}");
        foreach (var text in result.Misaligned) output.WriteLine($"         note: {text}");
        if (result.Edge is { } edge) output.WriteLine($"         note: {edge.Note}");
        if (verbose)
        {
            foreach (var e in result.Engine) output.WriteLine($"         engine | {e}");
            foreach (var e in result.Kernel) output.WriteLine($"         kernel | {e}");
        }
        return verdict is "differ" or "not run";
    }
}
