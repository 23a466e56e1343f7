using System.Diagnostics;
using System.Text.Json;
using SimService.Cli.Files;
using SimService.Cli.Fuzz;
using SimService.Cli.Kernel;
using SimService.Cli.Reports;
using SimService.Cli.Running;
using SimService.Domain.Packetdrill;

namespace SimService.Cli.Commands;

/// <summary>
/// <c>simservice kernel PATH... [--junit FILE] [--json FILE] [--verbose] [--trace] [--diff] [--strict] [--counters]</c>: runs packetdrill scripts and
/// scenarios against the real Linux kernel of this machine instead of the engine — each in a throw-away network
/// namespace (the tool runs itself again under <c>unshare --net</c>) with a TUN device as the wire; a scenario's hosts
/// each in a namespace of their own (<see cref="KernelScenarioRunner"/>) — and reports them as <c>run</c> does:
/// one line per file, the first difference under a failed one, a summary; exit 0 when all passed, 1 when one
/// failed, 2 when a file is invalid or the machine cannot run them (not root, no /dev/net/tun, no unshare).
/// </summary>
public static class KernelCommand
{
    public static readonly string[] Options = ["junit", "json", "fuzz-pkt", "seed", "keep"];
    public static readonly string[] Flags = ["verbose", "in-netns", "ignore-gso-psh", "trace", "diff", "strict", "counters", "machine-orphans", "machine-mem", "record", "shrink", "fuzz-edges", "fuzz-sysctls", "fuzz-teardown", "fuzz-rcv", "fuzz-opts"];

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static int Run(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (line.Has("in-netns")) return RunHere(line, output);
        if ((Unused(line) ?? OutputFiles.Dash(line, "json", "junit", "keep")) is { } unused) return RunCommand.Usage(error, $"kernel: {unused}");
        if (Unavailable() is { } why) return RunCommand.Usage(error, $"kernel: {why}");
        // Before --fuzz-pkt too: its cases' namespaces write tcp_congestion_control=cubic like any script's.
        if (AllowCubic() is { } note) error.WriteLine($"simservice: kernel: {note}");
        if (line.Value("fuzz-pkt") is not null) return PacketFuzz.Run(line, output, error, cancellationToken);
        var (files, pathError) = FileCollector.Collect(line.Arguments);
        if (pathError is not null) return RunCommand.Usage(error, pathError);
        if (OwnReports.Refusal(line, files) is { } overwrite) return RunCommand.Usage(error, $"kernel: {overwrite}");

        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var results = new List<FileResult>();
        int differing = 0, edgeOnly = 0, timingOnly = 0;
        var counters = line.Has("counters") ? new CounterComparison() : null;
        if (line.Has("record"))
            return PacketFuzz.NotScripts(files) is { } notScripts ? RunCommand.Usage(error, $"kernel: {notScripts}") : PacketFuzz.RecordFiles(line, files, output, cancellationToken);
        using (var progress = new Progress(error, Progress.IsInteractive()))
        {
            // Ctrl-C, SIGTERM or SIGHUP: the running file is stopped and counted as interrupted, no other starts, and the summary
            // is written as run writes it (tester37b LOW-9: it threw past the summary, or counted the stopped file as failed).
            for (int i = 0; i < files.Count && !cancellationToken.IsCancellationRequested; i++)
            {
                progress.Start(i + 1, files.Count, files[i].DisplayPath);
                FileResult result;
                ChildResult? child;
                try
                {
                    (result, child) = RunFile(files[i], line.Has("ignore-gso-psh"), Machine(line), cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break; // while it waited for the machine's kernel-run lock: it did not run
                }
                progress.Clear();
                ConsoleReport.WriteFile(output, result, "real");
                foreach (var text in child?.Notes ?? []) output.WriteLine($"         note: {text}");
                if (line.Has("trace") && child?.Trace is { } trace) WriteTraces(output, files[i], trace);
                if ((line.Has("diff") || line.Has("strict")) && child?.Outcome is { } outcome && WriteDiff(output, files[i], outcome) is { } diff)
                {
                    result = result with { Diff = diff.ToResult(line.Has("strict")) };
                    if (diff.Differences > 0) differing++;
                    else if (diff.SlowerLinkMs is not null) edgeOnly++;
                    else if (diff.Timing > 0) timingOnly++;
                }
                if (result.Outcome == FileOutcome.Failed && child?.Message is { } message)
                    foreach (var text in message.Split('\n')) output.WriteLine($"         {text}");
                if (counters is not null && files[i].Format is PacketdrillFormat)
                    foreach (var text in CompareCounters(counters, files[i], result, child)) output.WriteLine($"         {text}");
                if (line.Has("verbose") && child?.Log is { } log)
                    foreach (var text in log) output.WriteLine($"         | {text}");
                output.Flush();
                results.Add(result);
            }
        }
        ConsoleReport.WriteNotRun(error, results.Count, files.Count);
        string mode = $"real kernel {KernelRelease()}";
        double seconds = clock.Elapsed.TotalSeconds;
        var notRun = ConsoleReport.NotRun(files, results.Count);
        ConsoleReport.WriteSummary(output, results, notRun.Count, mode, seconds);
        if (counters is not null)
            foreach (var text in counters.Summary()) output.WriteLine(text);
        var outputs = new OutputFailures(error, "kernel");
        if (line.Value("junit") is { } junit) outputs.Try("junit", () => JUnitReport.Write(junit, results, notRun, mode, seconds, started));
        if (line.Value("json") is { } json) outputs.Try("json", () => JsonReport.Write(json, results, notRun, "kernel", null, seconds));
        // Of the scenarios compared: not a script, an interrupted run, a refused or failed set-up (no outcome to compare; tester39
        // LOW-3: every file not invalid was counted).
        if (line.Has("diff") || line.Has("strict"))
            output.WriteLine($"difference report: {differing} of {results.Count(r => r.Diff is not null)} scenarios run differ from the engine beyond their expectations"
                + (edgeOnly > 0 ? $" ({edgeOnly} more EDGE: the engine's only with its links as slow as the run measured the harness's{(line.Has("strict") ? ", which --strict fails" : "")})" : "")
                + (timingOnly > 0 ? $" ({timingOnly} more only in the harness's timing)" : ""));
        return outputs.ExitCode(Outcome(results, line.Has("strict")));
    }

    /// <summary>
    /// The runs' exit code (<see cref="RunCommand.Outcome"/>); with <c>--strict</c>, 1 when a file that passed differs from
    /// the engine or is EDGE (review37b S-3: an EDGE passed, and a rule within 0.4 ms of an RTT threshold with it).
    /// </summary>
    internal static int Outcome(IReadOnlyList<FileResult> results, bool strict)
    {
        int runs = RunCommand.Outcome(results);
        return runs == ExitCodes.Ok && strict && results.Any(r => r.Diff?.FailsStrict == true) ? ExitCodes.Failed : runs;
    }

    /// <summary>
    /// An option the chosen mode would drop without a word — a fuzz option without --fuzz-pkt, a report asked of
    /// --fuzz-pkt or --record (they print verdicts, not results), files given to --fuzz-pkt — or null.
    /// </summary>
    static string? Unused(CommandLine line)
    {
        bool fuzz = line.Value("fuzz-pkt") is not null;
        string[] fuzzOnly = ["seed", "keep", "shrink", "fuzz-edges", "fuzz-sysctls", "fuzz-teardown", "fuzz-rcv", "fuzz-opts"];
        if (!fuzz && fuzzOnly.FirstOrDefault(o => line.Value(o) is not null || line.Has(o)) is { } fuzzOption) return $"--{fuzzOption} goes with --fuzz-pkt N";
        if ((fuzz || line.Has("record")) && new[] { "junit", "json" }.FirstOrDefault(o => line.Value(o) is not null) is { } report)
            return $"--{report} is not written with {(fuzz ? "--fuzz-pkt" : "--record")}, which prints a verdict per script instead";
        if (fuzz && line.Arguments.Count > 0) return $"--fuzz-pkt writes its own cases, so {line.Arguments[0]} would not run (--record FILE… records given scripts)";
        return null;
    }

    /// <summary>--counters: the script run on the engine too, and its counter changes compared with the kernel's.</summary>
    static IReadOnlyList<string> CompareCounters(CounterComparison counters, ScenarioFile file, FileResult result, ChildResult? child)
    {
        if (result.Outcome != FileOutcome.Passed || child?.Counters is not { } kernel)
            return counters.Check(file.DisplayPath, null, null, "it did not pass on the kernel");
        var engine = CounterComparison.EngineDelta(file.ReadText(), Path.GetFileName(file.FullPath));
        return counters.Check(file.DisplayPath, engine, kernel, engine is null ? "it did not pass on the engine" : null);
    }

    /// <summary>uname -r: the release of the kernel the scripts ran on.</summary>
    internal static string KernelRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return Environment.OSVersion.Version.ToString();
        }
    }

    /// <summary>Why this machine cannot run scripts on its kernel (null when it can): root, /dev/net/tun and unshare are needed.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "runs scripts on the Linux kernel only (this is not Linux)";
        if (Libc.geteuid() != 0) return "needs root (a network namespace, a TUN device and sysctls); run it with sudo";
        int fd = Libc.open("/dev/net/tun", Libc.O_RDWR);
        if (fd < 0) return $"cannot open /dev/net/tun (errno {Libc.Errno}): the TUN driver is needed";
        Libc.close(fd);
        if (FindOnPath("unshare") is null) return "needs unshare (util-linux) on PATH to make a network namespace per script";
        if (FindOnPath("ip") is null) return "needs ip (iproute2) on PATH to configure the TUN device";
        return null;
    }

    const string AllowedCongestionControl = "/proc/sys/net/ipv4/tcp_allowed_congestion_control";

    /// <summary>
    /// A namespace may set its default congestion control only to an algorithm the host allows
    /// (tcp_set_default_congestion_control(): EPERM outside init_net for a restricted one). A host that defaults to
    /// bbr allows "reno bbr", so cubic — built in, what the scripts expect — is added to the allowed list (the list
    /// only governs what unprivileged sockets may pick); the note says so, null when nothing was changed. `kernel` and
    /// `fuzz` both do it: on a freshly booted bbr host every fuzz case's cubic default was refused (EPERM) before.
    /// </summary>
    internal static string? AllowCubic()
    {
        try
        {
            var allowed = File.ReadAllText(AllowedCongestionControl).Trim();
            if (allowed.Split(' ').Contains("cubic")) return null;
            File.WriteAllText(AllowedCongestionControl, $"{allowed} cubic\n");
            return $"added cubic to net.ipv4.tcp_allowed_congestion_control (was \"{allowed}\") so each namespace can default to it";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot add cubic to net.ipv4.tcp_allowed_congestion_control: {e.Message}";
        }
    }

    static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>What the child run in the namespace reports on its standard output (one JSON document).</summary>
    /// <param name="Checks">A scenario's checks (a script has its one failure in Line … AtNs instead).</param>
    /// <param name="Errors">A scenario's run errors: a step the kernel refused, a call that could not be made.</param>
    /// <param name="Notes">What the kernel run did differently from the engine's or could not check.</param>
    /// <param name="Trace">A scenario's packet trace, the links' segments one per line.</param>
    /// <param name="Counters">A script's change of the namespace's Ip, Tcp, TcpExt and IpExt counters ("Tcp.OutRsts" → 1).</param>
    internal sealed record ChildResult(IReadOnlyList<Problem>? Invalid, string? SetupError, int? Line, string? Message, string? Expected,
        string? Actual, long? AtNs, long EndNs, IReadOnlyList<string>? Log, IReadOnlyList<CheckOutcome>? Checks = null,
        IReadOnlyList<Problem>? Errors = null, IReadOnlyList<string>? Notes = null, IReadOnlyList<string>? Trace = null, RunOutcome? Outcome = null,
        IReadOnlyDictionary<string, long>? Counters = null, IReadOnlyList<SimService.Domain.Packetdrill.RecordedEvent>? Recording = null);

    /// <param name="place">Where the machine-wide sysctls' values to restore are kept: the machine's unless a test gives its own.</param>
    internal static (FileResult Result, ChildResult? Child) RunFile(ScenarioFile file, bool ignoreGsoPsh, MachineWide machine, CancellationToken cancellationToken,
        SavedPlace? place = null)
    {
        if (file.Format is not (PacketdrillFormat or ScenarioJsonFormat))
            return (FileResult.Invalid(file.DisplayPath, file.Format.Kind, [new Problem("$", "the kernel target runs packetdrill scripts (*.pkt) and scenarios (*.json)")]), null);
        // What the file alone decides (it does not parse, or uses what the kernel run cannot do) is said at once: an invalid
        // file neither waits for another run's turn nor holds up the runs waiting for this one. The child checks it again.
        if (Refusal(file.ReadText(), file.FullPath, machine) is { } problems)
            return (FileResult.Invalid(file.DisplayPath, file.Format.Kind, problems), null);
        // Before the machine's tcp_max_orphans or tcp_mem is set for it: another run may be using the machine.
        using var turn = KernelRunLock.Machine?.Take(Console.Error, cancellationToken);
        // A value a killed run left is restored before this run saves the machine's own: left, it refused every --machine-*
        // run (a file already there) while the machine kept the killed run's tcp_mem (review37b M-1).
        MachineSysctl.RestoreLeftovers(Console.Error, place);
        RemoveNamespacesOfEndedChildren();
        if (machine == MachineWide.None || file.Format is not ScenarioJsonFormat) return RunHeld(file, ignoreGsoPsh, MachineWide.None, cancellationToken);
        WaitForChildrenOfKilledRuns(Console.Error, cancellationToken);
        // --machine-orphans / --machine-mem: the scenario's tcp_max_orphans / tcp_mem set here, in the initial namespace, around the child's run.
        ScenarioJsonFormat.Parse(file.ReadText(), out var document);
        var settings = new List<MachineSysctl>();
        var notes = new List<string>();
        try
        {
            foreach (var kind in MachineSysctl.Of(machine).Select(k => k.At(place ?? SavedPlace.Machine)))
            {
                if (document is null || kind.ValueOf(document) is not { Value: { } value })
                {
                    // Said, as every other machine-wide choice is (tester41 LOW-7: a job that meant to test memory pressure on the
                    // whole machine passed without a word that it had not).
                    notes.Add($"{kind.Option}: the scenario sets no {kind.Sysctl}; nothing set on the machine");
                    continue;
                }
                var (setting, error) = kind.Set(value);
                if (setting is null) return (Failed(file, Stopwatch.StartNew(), error!), null);
                settings.Add(setting);
                notes.Add(setting.Note);
            }
            var (result, child) = RunHeld(file, ignoreGsoPsh, machine, cancellationToken);
            return (result, child is null || notes.Count == 0 ? child : child with { Notes = [.. child.Notes ?? [], .. notes] });
        }
        finally
        {
            foreach (var setting in Enumerable.Reverse(settings)) setting.Dispose();
        }
    }

    /// <summary>The machine-wide sysctls the command line lets a scenario set on the whole machine (--machine-orphans, --machine-mem).</summary>
    static MachineWide Machine(CommandLine line) =>
        (line.Has("machine-orphans") ? MachineWide.Orphans : MachineWide.None) | (line.Has("machine-mem") ? MachineWide.Mem : MachineWide.None);

    /// <summary>The file run in its child under the machine's lock, a value a killed run left restored first (<see cref="RunFile"/> for a whole run).</summary>
    internal static (FileResult Result, ChildResult? Child) RunChild(ScenarioFile file, bool ignoreGsoPsh, MachineWide machine, CancellationToken cancellationToken,
        bool record = false)
    {
        using var turn = KernelRunLock.Machine?.Take(Console.Error, cancellationToken);
        MachineSysctl.RestoreLeftovers(Console.Error);
        RemoveNamespacesOfEndedChildren();
        return RunHeld(file, ignoreGsoPsh, machine, cancellationToken, record);
    }

    /// <summary>
    /// The file run in its child, the caller holding the machine's lock and having restored what a killed run left: once per
    /// file (tester38 LOW-3: RunFile and the RunChild it called each restored, and each warning about a saved file was said twice).
    /// </summary>
    /// <summary>
    /// Why the child gave no result: its exit code and what it wrote, or the signal that killed it — .NET's ExitCode is 128 + the
    /// signal's number for a child a signal ended (tester39 LOW-2: "failed (exit 137): " ended with nothing).
    /// </summary>
    internal static string ChildFailure(int exitCode, string stderr)
    {
        stderr = stderr.Trim();
        string said = stderr.Length > 0 ? $": {stderr}" : "";
        return exitCode - 128 is >= 1 and <= 31 and var signal
            ? $"the run in the namespace was killed by {SignalNames[signal - 1]} (signal {signal}, exit {exitCode}){said}"
            : $"the run in the namespace failed (exit {exitCode}){(said.Length > 0 ? said : ", writing nothing")}";
    }

    /// <summary>Linux's signal numbers 1–31 (x86 and arm64 alike: asm-generic/signal.h), by number.</summary>
    static readonly string[] SignalNames = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
        "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
        "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"];

    static (FileResult Result, ChildResult? Child) RunHeld(ScenarioFile file, bool ignoreGsoPsh, MachineWide machine, CancellationToken cancellationToken,
        bool record = false)
    {
        var clock = Stopwatch.StartNew();
        string[] childArgs = ["kernel", "--in-netns", .. ignoreGsoPsh ? ["--ignore-gso-psh"] : Array.Empty<string>(),
            .. machine.HasFlag(MachineWide.Orphans) ? ["--machine-orphans"] : Array.Empty<string>(),
            .. machine.HasFlag(MachineWide.Mem) ? ["--machine-mem"] : Array.Empty<string>(), .. record ? ["--record"] : Array.Empty<string>(), "--", file.FullPath];
        using var process = Process.Start(ChildStart(FindOnPath("unshare")!, childArgs))!;
        // Not cancelled by the interrupt: the child is killed then, which ends both pipes; a read cancelled just after the
        // child ended would throw past the summary (review38a N-6).
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        // Ctrl-C, SIGTERM or SIGHUP (Program.cs) stops the child too, so a machine-wide sysctl set for it is restored now, not
        // when the child ends on its own (review36b M-2).
        bool ended = false;
        while (!ended && clock.Elapsed < TimeSpan.FromMinutes(10) && !cancellationToken.IsCancellationRequested)
            ended = process.WaitForExit(TimeSpan.FromMilliseconds(200));
        if (!ended) process.Kill(entireProcessTree: true);
        RemoveNamespacesOf(process.Id);
        if (!ended) return (cancellationToken.IsCancellationRequested ? Interrupted(file, clock) : Failed(file, clock, "the run did not end within 10 minutes"), null);
        ChildResult? child = null;
        try
        {
            child = JsonSerializer.Deserialize<ChildResult>(stdout.Result, Json);
        }
        catch (JsonException)
        {
        }
        if (child is null) return (Failed(file, clock, ChildFailure(process.ExitCode, stderr.Result)), null);
        if (child.Invalid is { Count: > 0 } problems) return (FileResult.Invalid(file.DisplayPath, file.Format.Kind, problems), child);
        if (child.SetupError is { } setup) return (Failed(file, clock, setup), child);
        if (child.Checks is { } scenarioChecks)
        {
            var errors = child.Errors ?? [];
            bool passed = errors.Count == 0 && scenarioChecks.All(c => c.Passed);
            return (new FileResult(file.DisplayPath, file.Format.Kind, passed ? FileOutcome.Passed : FileOutcome.Failed, scenarioChecks, errors, null,
                child.EndNs, null, clock.Elapsed.TotalSeconds), child);
        }
        IReadOnlyList<CheckOutcome> checks = child.Line is { } failedLine
            ? [new CheckOutcome(false, "packetdrill", $"line {failedLine}", child.Expected ?? "", child.Actual ?? "", KernelScriptRunner.Secs(child.AtNs ?? 0) + " s", child.AtNs ?? 0)]
            : [];
        return (new FileResult(file.DisplayPath, file.Format.Kind, checks.Count == 0 ? FileOutcome.Passed : FileOutcome.Failed, checks, [], null, child.EndNs, null,
            clock.Elapsed.TotalSeconds), child);
    }

    /// <summary>
    /// How the child is started: <c>unshare --net -- SELF ARGS</c>, with the .NET runtime's tiered compilation off
    /// (DOTNET_TieredCompilation=0). With it on, the runtime compiled the warm-up's methods again, optimized, while the
    /// run's steps ran — 470 methods during <c>scenarios/examples/linger-zero-rst.json</c>'s 0.3 s of steps (the JIT's
    /// DOTNET_JitStdOutFile) — and the run's real-time threads waited on that (the step thread's read of a worker's
    /// /proc stat took 1.0 ms where it takes 10 µs: the send at 0.1 s seen done 1.1 ms after it began, in 4 of 6 runs).
    /// Off, every method is compiled once, before the steps, by the warm-up (<see cref="KernelScenarioRunner.WarmUp"/>).
    /// Its standard input is a pipe this process holds and never writes: the child ends when this process does
    /// (<see cref="ParentWatch"/>).
    /// </summary>
    internal static ProcessStartInfo ChildStart(string unshare, IEnumerable<string> childArgs, IEnumerable<string>? self = null)
    {
        var start = new ProcessStartInfo(unshare)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--net", "--" }.Concat(self ?? Self()).Concat(childArgs)) start.ArgumentList.Add(a);
        start.Environment["DOTNET_TieredCompilation"] = "0";
        start.Environment[ParentWatch.Variable] = "1";
        return start;
    }

    static FileResult Failed(ScenarioFile file, Stopwatch clock, string message) =>
        new(file.DisplayPath, file.Format.Kind, FileOutcome.Failed, [], [new Problem("kernel", message)], null, null, null, clock.Elapsed.TotalSeconds);

    /// <summary>
    /// A run the tool's interrupt stopped: interrupted, saying where — the real time its child had run, as the engine's
    /// interrupted line says the virtual time reached (tester41 LOW-5: "no run" read as if it never started).
    /// </summary>
    internal static FileResult Interrupted(ScenarioFile file, Stopwatch clock)
    {
        var ran = new SimService.Domain.Time.SimTime(clock.ElapsedMilliseconds * 1_000_000);
        return Failed(file, clock, $"the run was stopped: the tool was interrupted, at {ran} real (its namespace's set-up included)")
            with { Outcome = FileOutcome.Interrupted, NowNs = ran.Ns };
    }

    /// <summary>The named namespaces a scenario's child left (it was killed, or crashed): /run/netns/simkPID-N, deleted.</summary>
    static void RemoveNamespacesOf(int pid)
    {
        if (!Directory.Exists("/run/netns")) return;
        foreach (var path in Directory.GetFiles("/run/netns", $"simk{pid}-*")) Netns.Ip("netns", "del", Path.GetFileName(path));
    }

    /// <summary>
    /// The namespaces of children that no longer run (/run/netns/simkPID-N with no process PID), deleted: a child killed
    /// outright before it removed them (review38a S-1: two such were left on this machine for good).
    /// </summary>
    static void RemoveNamespacesOfEndedChildren()
    {
        if (!Directory.Exists("/run/netns")) return;
        foreach (var path in Directory.GetFiles("/run/netns", "simk*-*"))
        {
            var name = Path.GetFileName(path);
            if (ChildPid(name) is { } pid && !Directory.Exists($"/proc/{pid}")) Netns.Ip("netns", "del", name);
        }
    }

    /// <summary>The process a child's namespace is named after (simkPID-N, <see cref="HostNamespace"/>).</summary>
    static int? ChildPid(string name) => int.TryParse(name.AsSpan(4, name.IndexOf('-') - 4), out int pid) ? pid : null;

    /// <summary>The longest a --machine-* run waits for a killed run's child: it ends in milliseconds, so a process still running
    /// past this is no such child (its pid reused): said, and the run goes on.</summary>
    static readonly TimeSpan ChildOfAKilledRunWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A killed run's child (<c>/run/netns/simkPID-N</c>, PID still running) ends only when it reads its tool's pipe closed and
    /// has torn its namespaces down, a moment after that run's lock dropped: a --machine-* run waits for it before it sets
    /// anything (review40c N-5), or <see cref="MachineSysctl"/>'s check of the machine's sockstat (its <c>mem</c> pages and
    /// orphans) could count the dying child's sockets. Under the lock every such child is a killed run's.
    /// A PID whose process started after the first of its namespaces was made (<c>/proc/PID/stat</c>'s starttime, which
    /// <see cref="Process.StartTime"/> reads, later than the file's mtime) was reused: no child of a run, not waited for,
    /// and its namespaces are removed (review41a S-2: each later --machine-* run waited 10 s for it again).
    /// </summary>
    internal static void WaitForChildrenOfKilledRuns(TextWriter error, CancellationToken cancellationToken)
    {
        if (!Directory.Exists("/run/netns")) return;
        var children = Directory.GetFiles("/run/netns", "simk*-*")
            .GroupBy(path => ChildPid(Path.GetFileName(path)))
            .Where(g => g.Key is { } pid && pid != Environment.ProcessId)
            .Select(g => (Pid: g.Key!.Value, Made: g.Min(File.GetLastWriteTimeUtc)));
        foreach (var (pid, made) in children)
        {
            Process child;
            DateTime started;
            try
            {
                child = Process.GetProcessById(pid);
                started = child.StartTime.ToUniversalTime();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                continue; // ended: its namespaces are removed below
            }
            using (child)
            {
                if (started > made)
                {
                    error.WriteLine($"simservice: kernel: process {pid} started after its namespaces simk{pid}-* were made: no child of a run (its pid reused), not waited for; they are removed");
                    RemoveNamespacesOf(pid);
                    continue;
                }
                error.WriteLine($"simservice: kernel: waiting for process {pid}, the child of a kernel run that was killed, to end (its namespaces simk{pid}-*)");
                var clock = Stopwatch.StartNew();
                while (!child.WaitForExit(TimeSpan.FromMilliseconds(100)) && clock.Elapsed < ChildOfAKilledRunWait)
                    cancellationToken.ThrowIfCancellationRequested();
                if (!child.HasExited)
                {
                    error.WriteLine($"simservice: kernel: process {pid} still runs after {ChildOfAKilledRunWait.TotalSeconds:0} s: taken for no child of a run (its pid reused), not waited for; its namespaces are removed");
                    RemoveNamespacesOf(pid);
                }
            }
        }
        RemoveNamespacesOfEndedChildren();
    }

    /// <summary>The tool that started this child has ended (killed): its namespaces removed, the child ends at once.</summary>
    static void EndWithTheTool()
    {
        HostNamespace.EndMaking();
        RemoveNamespacesOf(Environment.ProcessId);
        Process.GetCurrentProcess().Kill();
    }

    /// <summary>How to start this tool again: its apphost, or the dotnet host with the tool's assembly.</summary>
    static IEnumerable<string> Self()
    {
        var host = Environment.ProcessPath!;
        var assembly = typeof(KernelCommand).Assembly.Location;
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, assembly] : [host];
    }

    /// <summary>The child: in its own network namespace already, sets it up and runs one script; prints a <see cref="ChildResult"/>.</summary>
    static int RunHere(CommandLine line, TextWriter output)
    {
        if (ParentWatch.Started) ParentWatch.Watch(Console.OpenStandardInput(), EndWithTheTool);
        var path = line.Arguments.Single();
        var text = InputFiles.ReadText(path);
        var result = Refusal(text, path, Machine(line)) is { } problems ? new ChildResult(problems, null, null, null, null, null, null, 0, null)
            : IsScenario(path) ? RunScenario(text, Machine(line))
            : RunScript(text, Path.GetFileName(path), line.Has("ignore-gso-psh"), line.Has("record"));
        output.WriteLine(JsonSerializer.Serialize(result, Json));
        output.Flush();
        // Threads may still sit in the kernel (a call that never returned): leave at once; the namespace goes with the process.
        Environment.Exit(ExitCodes.Ok);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The warm-up: a connection to the peer's port 9 through each kind of event the scripts use (calls that fail
    /// with an errno, options in both directions, SACK, poll on several descriptors, a blocking read, tcp_info),
    /// ended by an RST (SO_LINGER {1, 0}) so nothing of it is left when the script starts.
    /// </summary>
    const string WarmUpScript = """
           0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
          +0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, {tv_sec=0, tv_usec=1000000}, 16) = -1 EDOM (Numerical argument out of domain)
          +0 setsockopt(3, SOL_TCP, TCP_MAXSEG, [87], 4) = -1 EINVAL (Invalid argument)
          +0 getsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic", [16]) = 0
          +0 getsockopt(3, SOL_SOCKET, SO_RCVTIMEO, {tv_sec=0, tv_usec=0}, [16]) = 0
          +0 getsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=0, linger=0}, [8]) = 0
          +0 fcntl(3, F_GETFL) = 0x2
          +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
          +0 connect(3, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("192.0.2.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
          +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 10>
          +0 poll([{fd=3, events=POLLOUT, revents=0}], 1, 0) = 0
          +0 < S. 0:0(0) ack 1 win 65535 <mss 1012,sackOK,TS val 100 ecr 100,nop,wscale 7>
          +0 > . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 100>
          +0 poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}, {fd=4, events=POLLIN, revents=POLLNVAL}], 2, 0) = 2
          +0 write(3, ..., 2000) = 2000
          +0 > . 1:1001(1000) ack 1 <nop,nop,TS val 100 ecr 100>
          +0 > P. 1001:2001(1000) ack 1 <nop,nop,TS val 100 ecr 100>
          +0 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 101 ecr 100,nop,nop,sack 1001:2001>
          +0 %{ assert tcpi_snd_cwnd > 0 }%
          +0 %{ assert tcpi_rtt >= 0 }%
          +0 ioctl(3, SIOCINQ, [0]) = 0
          +0 send(3, ..., 0, MSG_DONTWAIT) = 0
          +0 recv(3, ..., 100, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)
          +0 fcntl(3, F_SETFL, O_RDWR) = 0
          +0...0.004 read(3, ..., 100) = 100
        +.004 < P. 1:101(100) ack 1 win 257 <nop,nop,TS val 102 ecr 100>
          +0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
          +0 close(3) = 0
          +0 > R. 2001:2001(0) ack 101 <...>
        """;

    static bool IsScenario(string path) => path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Why the file cannot run on the kernel, from its text alone, or null: a script that does not parse or sets an option
    /// wrongly; a scenario that does not parse or uses what the kernel run cannot do ("not run on the kernel: …").
    /// </summary>
    static IReadOnlyList<Problem>? Refusal(string text, string path, MachineWide machine)
    {
        if (IsScenario(path))
        {
            var problems = ScenarioJsonFormat.Parse(text, out var document);
            if (document is null) return problems;
            var unsupported = KernelScenarioRunner.Unsupported(document, machine);
            return unsupported.Count > 0 ? [.. unsupported.Select(e => new Problem(e.Path, $"not run on the kernel: {e.Message}"))] : null;
        }
        var (_, _, refused) = ParseScript(text, Path.GetFileName(path));
        return refused;
    }

    /// <summary>A script and its options (the lines' problems instead when it does not parse or an option is wrong).</summary>
    static (PacketdrillScript? Script, PacketdrillOptions Options, IReadOnlyList<Problem>? Problems) ParseScript(string text, string name)
    {
        var options = new PacketdrillOptions { ScriptName = name };
        var parsed = ScriptParser.Parse(text);
        if (parsed.Script is not { } script)
            return (null, options, [.. parsed.Errors.Select(d => new Problem($"line {d.At.Line}, column {d.At.Column}", d.Message))]);
        var problems = new List<Problem>();
        foreach (var o in script.Options)
        {
            options = options.With(o.Name, o.Value, out var error, out _);
            if (error is not null) problems.Add(new Problem($"line {o.At.Line}, column {o.At.Column}", error));
        }
        if (KernelScriptRunner.PastTheLongestRun(script, options.ToleranceUsecs) is ({ } late, var at))
            problems.Add(new Problem($"line {late.At.Line}, column {late.At.Column}",
                $"not run on the kernel: runs past {KernelScenarioRunner.LongestRun} of real time (this line is at {at})"));
        return (script, options, problems.Count > 0 ? problems : null);
    }

    /// <summary>A script in the child (<see cref="Refusal"/> found nothing wrong with it).</summary>
    static ChildResult RunScript(string text, string name, bool ignoreGsoPsh, bool record)
    {
        var (parsed, options, _) = ParseScript(text, name);
        var script = parsed!;
        // A new namespace starts from the kernel's defaults, but takes tcp_congestion_control from the host (bbr here):
        // the scripts expect cubic, as packetdrill's defaults.sh sets.
        if (Netns.WriteSysctl("net.ipv4.tcp_congestion_control", "cubic") is { } ccError) return new ChildResult(null, ccError, null, null, null, null, null, 0, null);
        var (tun, setupError) = Netns.SetUp(options.LocalIp, options.RemoteIp);
        if (tun is null) return new ChildResult(null, setupError, null, null, null, null, null, 0, null);
        // A first run of a small script through the same code (a SYN to a closed port answered by an RST, each kind of
        // call once) so the JIT has compiled every path before the real script's clock starts; its outcome is not used.
        var warmUpRunner = new KernelScriptRunner(ScriptParser.Parse(WarmUpScript).Script!, options with { ScriptName = "warm-up" }, tun, checkTimes: false);
        var warmUp = warmUpRunner.Run();
        warmUpRunner.Abort();
        Thread.Sleep(20);
        tun.Drain();
        var run = new KernelScriptRunner(script, options with { Record = record }, tun, ignoreGsoPsh: ignoreGsoPsh).Run(alignedStart: true);
        var f = run.Failure;
        IReadOnlyList<string> log = warmUp.Failure is { } w ? [$"(warm-up stopped at line {w.Line}: {w.Message.Split('\n')[0]})", .. run.Log] : run.Log;
        return new ChildResult(null, null, f?.Line, f?.Message, f?.Expected, f?.Actual, f?.AtNs, run.EndNs, log, Counters: run.Counters,
            Recording: record ? run.Recording : null);
    }

    /// <summary>
    /// A scenario in the child (<see cref="Refusal"/> found nothing wrong with it: it parses, and uses only what the kernel
    /// run can do), run by <see cref="KernelScenarioRunner"/>.
    /// </summary>
    static ChildResult RunScenario(string text, MachineWide machine)
    {
        ScenarioJsonFormat.Parse(text, out var document);
        if (Netns.WriteSysctl("net.ipv4.tcp_congestion_control", "cubic") is { } ccError) return new ChildResult(null, ccError, null, null, null, null, null, 0, null);
        KernelScenarioRunner.WarmUp();
        var (run, setupError) = KernelScenarioRunner.Run(document!, machine);
        if (run is null) return new ChildResult(null, setupError, null, null, null, null, null, 0, null);
        return new ChildResult(null, null, null, null, null, null, null, run.EndNs, run.Log,
            [.. run.Checks.Select(c => new CheckOutcome(c.Passed, c.Kind, c.Path, c.Expected, c.Actual, KernelScriptRunner.Secs(c.At.Ns) + " s", c.At.Ns))],
            [.. run.Errors.Select(e => new Problem(e.Path, e.Message))], run.Notes, run.Trace, run.Outcome);
    }

    /// <summary>
    /// --diff: the engine's whole outcome of the scenario against the kernel's (<see cref="OutcomeDiff"/>): packets,
    /// every socket's state at each expect step and at the end, the counters; printed, and returned for --json and --junit.
    /// </summary>
    static OutcomeDiffReport? WriteDiff(TextWriter output, ScenarioFile file, RunOutcome kernel)
    {
        if (Diff(file.ReadText(), kernel) is not { } report) return null;
        string timing = report.Timing > 0 ? $"; {report.Timing} segments only in the harness's timing, set apart: times at most {OutcomeDiff.HarnessTimingMs} ms off" : "";
        string unmodelled = $"({report.Unmodelled} counters the engine does not model moved{timing})";
        output.WriteLine(report.Differences > 0 ? $"         diff: {report.Differences} differences from the engine {unmodelled}"
            : report.SlowerLinkMs is { } ms ? $"         diff: EDGE: the kernel's packets are the engine's with its links {ms} ms slower, as late as the run measured its hops; its socket states and counters the engine's {unmodelled}"
            : $"         diff: the kernel's packets, socket states and counters are the engine's {unmodelled}");
        foreach (var text in report.Lines) output.WriteLine($"         diff: {text}");
        return report;
    }

    /// <summary>
    /// The difference report of a scenario's kernel outcome. When the engine's packets differ, the engine is run once more
    /// with its links slower by the one shift of <see cref="FuzzEdge.Shifts"/> (0.1–0.4 ms) nearest the lateness the run's
    /// link emulators measured (<see cref="EdgeShift"/>); when that run's packets are the kernel's, the packet differences
    /// of the engine as written are listed as EDGE and counted as the harness's timing: a sub-millisecond RTT difference
    /// that the timers' jiffy and wheel granularity turn into retransmissions 32 or 64 ms later (tester37 MEDIUM-3). Only
    /// the packets: a socket state, a counter or a connect() result that differs stays a difference, and <c>--strict</c>
    /// fails an EDGE too (review37b S-3: the best of four shifts, each also clearing states and counters, could set apart
    /// a real rule within 0.4 ms of an RTT threshold on one run).
    /// </summary>
    internal static OutcomeDiffReport? Diff(string json, RunOutcome kernel)
    {
        ScenarioJsonFormat.Parse(json, out var document);
        if (document is null) return null;
        var engine = RunOutcome.OfEngine(document);
        var report = OutcomeDiff.Compare(engine, kernel, KernelScenarioRunner.Tolerance.Ns);
        var (lateNs, measure) = Lateness(engine, kernel);
        if (report.PacketDifferences == 0) return report;
        string measured = (lateNs.GetValueOrDefault() / 1e6).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        if (EdgeShift(lateNs) is not { } linkMs)
            return lateNs is null ? report : report with { Lines = [$"no EDGE tried: the run was not late ({measure} by {measured} ms)", .. report.Lines] };
        if (FuzzEdge.Lengthened(json, linkMs) is not { } lengthened) return report;
        ScenarioJsonFormat.Parse(lengthened, out var slower);
        if (slower is null) return report;
        if (OutcomeDiff.Compare(RunOutcome.OfEngine(slower), kernel, KernelScenarioRunner.Tolerance.Ns).PacketDifferences > 0) return report;
        int packets = report.PacketDifferences, kept = report.Differences - packets;
        return report with
        {
            Differences = kept,
            PacketDifferences = 0,
            Timing = report.Timing + packets,
            SlowerLinkMs = linkMs,
            Lines = [$"the engine as written differs {report.Differences} times; its {packets} packet differences are the harness's timing (EDGE: gone with links {linkMs} ms slower, "
                + $"the shift nearest the {measured} ms {measure})" + (kept > 0 ? $"; the other {kept} stay differences:" : ":"),
                .. report.Lines.Select(l => "  " + l)],
            Items = [.. report.Items.Select(i => i.Kind == "packet" && i.What != "timing" ? i with { What = "edge" } : i)],
        };
    }

    /// <summary>
    /// The one link shift (ms) <see cref="Diff"/> tries: of <see cref="FuzzEdge.Shifts"/>' link shifts, the nearest the run's
    /// measured lateness (<see cref="Lateness"/>); null when none was measured (no packet crossed a link), or when the run
    /// was not late — its handshake's answer no later than the engine's: no shift is then the harness's (review38a S-3). A
    /// run late by less than half the smallest shift still tries it: three runs of tester37's t7 on 6.18.44 measured
    /// 0.044, 0.064 and 0.136 ms, and the 0.044 ms one moved the RTO by the same jiffies as the others.
    /// </summary>
    internal static double? EdgeShift(long? latenessNs) => latenessNs is > 0 and { } ns
        ? FuzzEdge.Shifts.Where(s => s.StepMs == 0).Select(s => s.LinkMs).MinBy(ms => Math.Abs(ms * 1e6 - ns))
        : null;

    /// <summary>
    /// How much later than the engine's a hop of the kernel run was, and what measured it. The handshakes': the median time
    /// from a SYN to the SYN-ACK that answers it (<see cref="OutcomeDiff.HandshakeNs"/>), the kernel's less the engine's — one hop through the link emulator,
    /// the TUN devices and the peer's stack, which is what the engine's links are lengthened by (review38a S-3: the link
    /// emulators' own median, the fallback when no handshake crossed, read ≈ 0.002 ms on runs whose hops were ≈ 0.1 ms late,
    /// missing the TUN and stack part, and the smallest shift was tried on every run).
    /// </summary>
    internal static (long? Ns, string Measure) Lateness(RunOutcome engine, RunOutcome kernel) =>
        (OutcomeDiff.HandshakeNs(engine), OutcomeDiff.HandshakeNs(kernel)) is ({ } e, { } k)
            ? (k - e, "its handshakes' SYN-ACKs came later than the engine's, by the median")
            : (kernel.LinkLatenessNs, "the run's link emulators were late");

    /// <summary>
    /// The engine's segments of a scenario as --trace prints them, a workload's included whatever its journal level (tester38
    /// LOW-5: at its default "counters" none was kept, and the engine's column was empty beside the kernel's).
    /// </summary>
    internal static List<string> EngineSegments(SimService.Domain.Scenarios.ScenarioDocument document)
    {
        var run = SimService.Domain.Scenarios.ScenarioRunner.Run(RunOutcome.EveryPacketKept(document));
        return [.. SimService.Domain.Scenarios.ScenarioRunner.CapturePackets(run.Simulation.Journal, a => run.Simulation.FindHost(a)?.Name).Select(p => p.ToString())];
    }

    /// <summary>--trace: the engine's segments of the same scenario beside the kernel's, one pair per line in the order each was sent.</summary>
    static void WriteTraces(TextWriter output, ScenarioFile file, IReadOnlyList<string> kernel)
    {
        ScenarioJsonFormat.Parse(file.ReadText(), out var document);
        if (document is null) return;
        var engine = EngineSegments(document);
        int width = Math.Max(6, engine.Count == 0 ? 0 : engine.Max(e => e.Length));
        output.WriteLine($"         {"engine".PadRight(width)} | kernel");
        for (int i = 0; i < Math.Max(engine.Count, kernel.Count); i++)
            output.WriteLine($"         {(i < engine.Count ? engine[i] : "").PadRight(width)} | {(i < kernel.Count ? kernel[i] : "")}");
    }
}
