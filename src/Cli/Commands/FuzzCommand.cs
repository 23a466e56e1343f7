using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SimService.Cli.Files;
using SimService.Cli.Fuzz;
using SimService.Cli.Kernel;
using SimService.Cli.Running;

namespace SimService.Cli.Commands;

/// <summary>
/// <c>simservice fuzz [--cases N] [--seed S] [--case I] [--keep DIR] [--engine] [--shrink]</c>: a differential fuzzer.
/// Draws random teardown scenarios (<see cref="FuzzCase"/>), runs each on the engine and on this machine's kernel as
/// <c>simservice kernel --diff</c> does, and sorts them: <b>agree</b> (nothing differs), <b>noise</b> (a difference that
/// a re-run did not show: the runner's late wake-ups), <b>timing</b> (segments' times alone differ in every run, or what
/// differs changes from run to run), <b>edge</b> (the same difference in all three runs, which the engine shows itself
/// with the case's links a fraction of a millisecond slower, as the runner's are: <see cref="FuzzEdge"/>), <b>differ</b>
/// (the same difference in all three runs: the engine or the runner is wrong). Since session 36 nothing is set apart as
/// the TUN device's: the engine models its receive skbs (docs/kernel-check.md D125), so a window or a coalescing counter
/// that differs in every run is a difference like any other. A differing case is printed with its seed, its file and the report, and with <c>--shrink</c> made smaller
/// (steps and sysctls dropped one by one while the difference stays). <c>--engine</c> only draws the cases, validates
/// them and runs them on the engine (no root needed).
/// </summary>
public static partial class FuzzCommand
{
    public static readonly string[] Options = ["cases", "seed", "case", "keep", "profile"];
    public static readonly string[] Flags = ["engine", "shrink"];

    /// <summary>A differing case is run this many times in all before its difference is believed.</summary>
    const int Runs = 3;

    public static int Run(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? badSeed = Number(line, "seed", 1, long.MinValue, long.MaxValue, out long seed),
            badCases = Number(line, "cases", 20, 1, int.MaxValue, out long cases), badCase = Number(line, "case", -1, 0, int.MaxValue, out long only);
        if ((badSeed ?? badCases ?? badCase) is { } wrong) return RunCommand.Usage(error, $"fuzz: {wrong}");
        if (line.Value("profile") is { } profile && profile is not ("listen" or "timers" or "loss" or "limits" or "app" or "observe" or "options" or "close" or "workload" or "mtu"))
            return RunCommand.Usage(error, $"fuzz: --profile: '{profile}' is not a profile (listen, timers, loss, limits, app, observe, options, close, workload, mtu)");
        Func<long, int, FuzzCase> draw = line.Value("profile") switch
        {
            "listen" => ListenFuzzCase.Draw,
            "timers" => TimersFuzzCase.Draw,
            "loss" => LossFuzzCase.Draw,
            "limits" => LimitsFuzzCase.Draw,
            "app" => AppFuzzCase.Draw,
            "observe" => ObserveFuzzCase.Draw,
            "options" => OptionsFuzzCase.Draw,
            "close" => CloseFuzzCase.Draw,
            "workload" => WorkloadFuzzCase.Draw,
            "mtu" => MtuFuzzCase.Draw,
            _ => FuzzCase.Draw,
        };
        if (OutputFiles.Dash(line, "keep") is { } dash) return RunCommand.Usage(error, $"fuzz: {dash}");
        bool onKernel = !line.Has("engine");
        if (onKernel && KernelCommand.Unavailable() is { } why) return RunCommand.Usage(error, $"fuzz: {why} (--engine runs the cases on the engine only)");
        if (onKernel && KernelCommand.AllowCubic() is { } note) error.WriteLine($"simservice: fuzz: {note}");
        using var folder = CaseFolder.Of(line.Value("keep"), "simservice-fuzz-");
        var clock = Stopwatch.StartNew();
        var tally = new Dictionary<string, int>(StringComparer.Ordinal);
        // Files given: each judged as a case as it is written (a kept or minimized case, a planted difference).
        foreach (var file in line.Arguments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string verdict = Given(file, folder, onKernel, line.Has("shrink"), output, cancellationToken);
            tally[verdict] = tally.GetValueOrDefault(verdict) + 1;
            output.Flush();
        }
        var numbers = line.Arguments.Count > 0 ? [] : only >= 0 ? [(int)only] : Enumerable.Range(0, (int)cases);
        foreach (int number in numbers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fuzz = draw(seed, number);
            var (path, document, problems) = Write(fuzz.Draft, folder, fuzz.Name, keepRejected: true);
            string verdict = document is null ? Invalid(fuzz.Name, problems, output)
                : onKernel ? OnKernel(fuzz, path, document, line.Has("shrink"), folder, output, cancellationToken) : OnEngine(fuzz, folder.Shown(path), document, output);
            tally[verdict] = tally.GetValueOrDefault(verdict) + 1;
            output.Flush();
        }
        int Count(string verdict) => tally.GetValueOrDefault(verdict);
        int total = tally.Values.Sum();
        string seconds = clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
        output.WriteLine(onKernel
            ? $"fuzz {(line.Arguments.Count > 0 ? "" : $"seed {seed}: ")}{total} cases: {Count("AGREE")} agree, {Count("NOISE")} agree on a re-run, {Count("TIMING")} timing only, {Count("LATE")} late timer chains, {Count("EDGE")} on an edge the runner's latency crosses, "
                + $"{Count("DIFFER")} differ, {Count("INVALID")} invalid, {Count("ERROR")} not run (real kernel {KernelCommand.KernelRelease()}, {seconds} s)"
            : $"fuzz {(line.Arguments.Count > 0 ? "" : $"seed {seed}: ")}{total} cases: {Count("ENGINE")} valid and run on the engine, {Count("INVALID")} invalid ({seconds} s)");
        if (Count("INVALID") > 0) return ExitCodes.Invalid;
        return Count("DIFFER") + Count("ERROR") > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>The option's whole number within [min, max] (<paramref name="fallback"/> when it is not given), else why not, naming it and its value.</summary>
    static string? Number(CommandLine line, string name, long fallback, long min, long max, out long value)
    {
        value = fallback;
        if (line.Value(name) is not { } text) return null;
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value) && value >= min && value <= max
            ? null : $"--{name}: '{text}' is not a whole number from {min} to {max}";
    }

    static string Invalid(string name, IReadOnlyList<string> problems, TextWriter output)
    {
        output.WriteLine(Reports.ConsoleReport.Shown($"INVALID  {name}"));
        foreach (var p in problems) output.WriteLine(Reports.ConsoleReport.Shown($"         {p}"));
        return "INVALID";
    }

    /// <summary>A case file given on the command line, judged as written (not calibrated again).</summary>
    static string Given(string file, CaseFolder folder, bool onKernel, bool shrink, TextWriter output, CancellationToken cancellationToken)
    {
        string name = Path.GetFileNameWithoutExtension(file);
        string text;
        try
        {
            text = InputFiles.ReadText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Invalid(file, [InputFiles.Reason(e)], output);
        }
        var problems = ScenarioJsonFormat.Parse(text, out var document);
        if (document is null) return Invalid(name, [.. problems.Select(p => p.ToString())], output);
        if (KernelScenarioRunner.Unsupported(document) is { Count: > 0 } unsupported)
            return Invalid(name, [.. unsupported.Select(e => $"{e.Path}: not run on the kernel: {e.Message}")], output);
        ScenarioJsonFormat.TryReadJson(text, out var plain, out _);
        var fuzz = FuzzCase.Of(name, JsonNode.Parse(plain!)!.AsObject());
        return onKernel ? OnKernel(fuzz, Path.GetFullPath(file), document, shrink, folder, output, cancellationToken) : OnEngine(fuzz, file, document, output);
    }

    /// <summary>--engine: the case, calibrated and checked as the kernel target would check it, run on the engine.</summary>
    static string OnEngine(FuzzCase fuzz, string path, SimService.Domain.Scenarios.ScenarioDocument document, TextWriter output)
    {
        var run = SimService.Domain.Scenarios.ScenarioRunner.Run(document);
        bool passed = run.Passed;
        output.WriteLine($"{(passed ? "ENGINE " : "FAIL   ")}  {fuzz.Name}  ({Shape(fuzz.Draft)}, {document.Steps.Length} steps, {run.Simulation.Now}) {path}");
        return passed ? "ENGINE" : "INVALID";
    }

    /// <summary>The case on the kernel, re-run while it differs, judged; a differing one printed (and shrunk with --shrink).</summary>
    static string OnKernel(FuzzCase fuzz, string path, SimService.Domain.Scenarios.ScenarioDocument document, bool shrink, CaseFolder folder, TextWriter output,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string shown = folder.Shown(path);
        var outcomes = new List<(RunOutcome Kernel, FileResult Result)>();
        var runs = new List<FuzzRun> { RunOnKernel(path, outcomes, cancellationToken) };
        // A difference is believed only when it comes back twice more; segments a few ms off alone are the runner's timing.
        while (runs[^1].Error is null && runs[^1].Keys.Count > 0 && runs.Count < Runs)
            runs.Add(RunOnKernel(path, outcomes, cancellationToken));
        string shape = $"{Shape(fuzz.Draft)}, {document.Steps.Length} steps, {clock.Elapsed.TotalSeconds:0.0} s real";
        var last = runs[^1];
        if (last.Error is { } runError)
        {
            output.WriteLine($"ERROR    {fuzz.Name}  ({shape}) {shown}");
            output.WriteLine($"         {runError}");
            return "ERROR";
        }
        if (runs.Count == 1 && last.Agrees)
        {
            output.WriteLine($"AGREE    {fuzz.Name}  ({shape})");
            return "AGREE";
        }
        if (runs.Count == 1 && last.TimingOnly > 0)
        {
            output.WriteLine($"TIMING   {fuzz.Name}  ({shape}; {last.TimingOnly} segments off by at most {FuzzRun.TimingNoiseMs} ms)");
            return "TIMING";
        }
        if (last.Agrees)
        {
            output.WriteLine($"NOISE    {fuzz.Name}  ({shape}; run {runs.Count} agreed, the first: {Summary(runs[0])})");
            return "NOISE";
        }
        var persistent = Persistent(runs);
        if (persistent.Count == 0)
        {
            output.WriteLine($"TIMING   {fuzz.Name}  ({shape}; {runs.Count} runs, none agreed: {string.Join(" / ", runs.Select(Summary))}) {shown}");
            foreach (var text in last.Lines.Take(12)) output.WriteLine($"         diff: {text}");
            return "TIMING";
        }
        if (FuzzRun.LateOnly(persistent))
        {
            // Only times (and the pure ACKs that pair otherwise with them): a timer chain the first late tick moved by whole
            // wheel buckets (docs/kernel-check.md, "Wheel rounding amplifies that jiffy") — listed, not believed.
            output.WriteLine($"LATE     {fuzz.Name}  ({shape}; times more than {FuzzRun.TimingNoiseMs} ms apart in all {runs.Count} runs: "
                + $"{string.Join("; ", persistent.Order(StringComparer.Ordinal))}) {shown}");
            foreach (var text in last.Lines.Where(l => l.Contains(" — time ", StringComparison.Ordinal)).Take(6)) output.WriteLine($"         diff: {text}");
            return "LATE";
        }
        if (FuzzEdge.Explaining(File.ReadAllText(path), outcomes, persistent, Describer(path)) is { } shifts)
        {
            // The engine shows the kernel's outcome itself with its links a fraction of a millisecond slower, as the
            // runner's are: its exact times sat just under a jiffy or threshold edge the kernel's crossed — listed, not believed.
            string how = string.Join(" / ", shifts.Distinct().Select(shift => $"links {shift.LinkMs.ToString(CultureInfo.InvariantCulture)} ms longer"
                + (shift.StepMs > 0 ? $" and steps {shift.StepMs.ToString(CultureInfo.InvariantCulture)} ms later" : "")));
            output.WriteLine($"EDGE     {fuzz.Name}  ({shape}; in all {runs.Count} runs, gone against the engine with {how}: "
                + $"{string.Join("; ", persistent.Order(StringComparer.Ordinal))}) {shown}");
            return "EDGE";
        }
        output.WriteLine($"DIFFER   {fuzz.Name}  ({(fuzz.Seed is { } seed ? $"seed {seed}, case {fuzz.Number}; " : "")}{shape}) {shown}");
        foreach (var key in persistent.Order(StringComparer.Ordinal)) output.WriteLine($"         in all {Runs} runs: {key}");
        foreach (var text in last.FailedChecks) output.WriteLine($"         check: {text}");
        foreach (var text in last.Lines) output.WriteLine($"         diff: {text}");
        if (shrink) Shrink(fuzz, persistent, folder, output, cancellationToken);
        return "DIFFER";
    }

    /// <summary>The differences that every run showed.</summary>
    static HashSet<string> Persistent(IReadOnlyList<FuzzRun> runs)
    {
        var keys = new HashSet<string>(runs[0].Keys, StringComparer.Ordinal);
        foreach (var run in runs.Skip(1)) keys.IntersectWith(run.Keys);
        return keys;
    }

    static string Summary(FuzzRun run) => run.Keys.Count == 0 ? $"{run.TimingOnly} segments only in time"
        : $"{run.Keys.Count} differences ({run.Keys.Order(StringComparer.Ordinal).First()} …)";

    /// <summary>
    /// The shrinker: drops one step (from the last) or one host sysctl at a time, keeps the drop when the smaller case,
    /// run once on the kernel, still shows one of the differences; the smallest case is written beside the original.
    /// </summary>
    static void Shrink(FuzzCase fuzz, HashSet<string> target, CaseFolder folder, TextWriter output, CancellationToken cancellationToken)
    {
        var draft = (JsonObject)fuzz.Draft.DeepClone();
        int tried = 0, kept = 0;
        var candidates = new List<Func<JsonObject, bool>>();
        int steps = draft["steps"]!.AsArray().Count;
        for (int i = steps - 1; i >= 1; i--)
        {
            int index = i;
            candidates.Add(d => Remove(d["steps"]!.AsArray(), index));
        }
        foreach (var (host, value) in draft["hosts"]!.AsObject())
            foreach (var name in (value!["sysctls"] as JsonObject)?.Select(s => s.Key).ToList() ?? [])
                candidates.Add(d => d["hosts"]![host]!["sysctls"] is JsonObject s && s.Remove(name));
        foreach (var drop in candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var smaller = (JsonObject)draft.DeepClone();
            if (!drop(smaller)) continue;
            var (path, document, _) = Write(smaller, folder, fuzz.Name + "-shrinking");
            if (document is null) continue;
            tried++;
            var run = RunOnKernel(path, cancellationToken);
            var still = target.Intersect(run.Keys).ToHashSet(StringComparer.Ordinal);
            if (still.Count == 0) continue;
            draft = smaller;
            target = still;
            kept++;
        }
        Tidy(draft);
        var (final, finalDocument, _) = Write(draft, folder, fuzz.Name + "-shrunk");
        File.Delete(Path.Combine(folder.Path, fuzz.Name + "-shrinking.json"));
        output.WriteLine($"         shrunk: {kept} of {tried} drops kept the difference ({string.Join("; ", target.Order(StringComparer.Ordinal))}): "
            + $"{finalDocument?.Steps.Length} steps, {folder.Shown(final)}");
    }

    /// <summary>A shrunk draft without what no step uses any more: empty sysctl lists, hosts no step names, their links.</summary>
    static void Tidy(JsonObject draft)
    {
        var steps = draft["steps"]!.AsArray();
        var used = steps.Select(s => s!["host"]?.GetValue<string>() ?? s!["kill"]?["host"]?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var step in steps) foreach (var h in step!["link"]?["between"]?.AsArray() ?? []) used.Add(h!.GetValue<string>());
        var hosts = draft["hosts"]!.AsObject();
        foreach (var (name, host) in hosts.ToList())
        {
            if (host!["sysctls"] is JsonObject { Count: 0 }) host.AsObject().Remove("sysctls");
            if (used.Contains(name)) continue;
            hosts.Remove(name);
            var links = draft["links"]!.AsArray();
            foreach (var link in links.Where(l => l!["between"]!.AsArray().Any(h => h!.GetValue<string>() == name)).ToList()) links.Remove(link);
        }
    }

    /// <summary>Removes step <paramref name="index"/> (candidates go from the last step down, so earlier indices stay valid).</summary>
    static bool Remove(JsonArray steps, int index)
    {
        if (index >= steps.Count) return false;
        steps.RemoveAt(index);
        return true;
    }

    /// <summary>
    /// The case calibrated on the engine and written to <paramref name="folder"/>; its path and parsed document, or the
    /// problems. A draft the calibration rejects is written as drawn, when <paramref name="keepRejected"/>, to
    /// <c>NAME.rejected.json</c> with the reasons as its description, so that <c>--keep</c> shows it.
    /// </summary>
    internal static (string Path, SimService.Domain.Scenarios.ScenarioDocument? Document, IReadOnlyList<string> Problems) Write(JsonObject draft, CaseFolder folder, string name,
        bool keepRejected = false)
    {
        var (json, errors) = FuzzCase.Calibrate(draft);
        string path = Path.Combine(folder.Path, name + ".json");
        if (json is null)
        {
            if (!keepRejected) return (path, null, errors);
            var rejected = (JsonObject)draft.DeepClone();
            rejected["description"] = "rejected by the calibration on the engine: " + string.Join("; ", errors);
            path = Path.Combine(folder.Path, name + ".rejected.json");
            folder.Write(path, FuzzCase.Text(rejected));
            return (path, null, [.. errors, $"kept as drawn: {folder.Shown(path)}"]);
        }
        folder.Write(path, json);
        var problems = ScenarioJsonFormat.Parse(json, out var document);
        if (document is null) return (path, null, [.. problems.Select(p => p.ToString())]);
        var unsupported = KernelScenarioRunner.Unsupported(document);
        if (unsupported.Count > 0) return (path, null, [.. unsupported.Select(e => $"{e.Path}: not run on the kernel: {e.Message}")]);
        return (path, document, []);
    }

    /// <summary>One run of the written case on the kernel (as <c>simservice kernel --diff</c>), judged against the engine.</summary>
    static FuzzRun RunOnKernel(string path, CancellationToken cancellationToken) => RunOnKernel(path, null, cancellationToken);

    /// <summary>As <see cref="RunOnKernel(string, CancellationToken)"/>; the kernel's outcome and checks added to <paramref name="outcomes"/>.</summary>
    static FuzzRun RunOnKernel(string path, List<(RunOutcome Kernel, FileResult Result)>? outcomes, CancellationToken cancellationToken)
    {
        var file = new ScenarioFile(Path.GetFileName(path), path, new ScenarioJsonFormat());
        var (result, child) = KernelCommand.RunFile(file, false, MachineWide.None, cancellationToken);
        if (child?.Outcome is not { } kernel)
            return FuzzRun.Failed(string.Join("; ", result.Problems.Select(p => p.ToString()).DefaultIfEmpty("the kernel run gave no outcome")));
        outcomes?.Add((kernel, result));
        ScenarioJsonFormat.Parse(File.ReadAllText(path), out var document);
        var engine = RunOutcome.OfEngine(document!);
        var report = OutcomeDiff.Compare(engine, kernel, KernelScenarioRunner.Tolerance.Ns);
        return FuzzRun.Of(report, result, Describer(path));
    }

    /// <summary>Names a step of the case at <paramref name="path"/> by its path (<see cref="DescribeStep"/>).</summary>
    static Func<string, string> Describer(string path)
    {
        var steps = JsonNode.Parse(File.ReadAllText(path))!["steps"]!.AsArray();
        return p => DescribeStep(steps, p);
    }

    /// <summary>A step by its path, as a key that survives other steps' removal: "recv s1", "kill c2", "expect".</summary>
    static string DescribeStep(JsonArray steps, string path)
    {
        if (StepIndex().Match(path) is not { Success: true } m) return path;
        int i = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        if (i >= steps.Count || steps[i] is not JsonObject step) return path;
        if (step["call"] is { } call) return $"{call} {step["socket"] ?? step["as"]}";
        if (step["kill"] is { } kill) return $"kill {kill["process"]}";
        return step.ContainsKey("expect") ? "expect" : "link";
    }

    [GeneratedRegex(@"^\$\.steps\[(\d+)\]")]
    private static partial Regex StepIndex();

    /// <summary>"2 hosts, 3 connections".</summary>
    static string Shape(JsonObject draft)
    {
        int hosts = draft["hosts"]!.AsObject().Count;
        // Each accept, and each connection a workload step makes (the workload profile's).
        int connections = draft["steps"]!.AsArray().Sum(s => s!["call"]?.GetValue<string>() == "accept" ? 1 : s!["workload"]?["count"]?.GetValue<int>() ?? 0);
        return $"{hosts} hosts, {connections} connection{(connections == 1 ? "" : "s")}";
    }
}
