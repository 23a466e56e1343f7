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
                    keys.Add($"packets {flow}: {DifferFlags().Match(text).Groups[1].Value} {string.Join(", ", what.Select(w => w.Split(' ')[0]))}");
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

    [GeneratedRegex(@"^differ: engine \S+ \S+ (\S+) ")]
    private static partial Regex DifferFlags();

    [GeneratedRegex(@"^counters (\S+) \(engine → kernel\): (.*)$")]
    private static partial Regex CounterLine();

    [GeneratedRegex(@"^(engine|kernel) only: \S+ \S+ (\S+) ")]
    private static partial Regex OnlyLine();
}
