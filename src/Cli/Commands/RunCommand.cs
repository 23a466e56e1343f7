using System.Diagnostics;
using SimService.Cli.Files;
using SimService.Cli.Reports;
using SimService.Cli.Running;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Commands;

/// <summary>
/// <c>simservice run PATH... [--server URL [--api-key KEY] [--keep] | --in-process] [--junit FILE] [--json FILE] [--pcap DIR] [--diagram DIR]</c>:
/// runs every file, prints one line per file (and each failed check), saves the packet capture and ladder diagram of
/// each failed run when asked, writes the reports, and exits 0 when all
/// passed, 1 when a check failed, 2 when a file is invalid or the server cannot be used, 3 when an output could not be
/// written (every file still runs and every other output is written: <see cref="OutputFailures"/>).
/// </summary>
public static class RunCommand
{
    public static readonly string[] Options = ["server", "api-key", "junit", "json", "pcap", "diagram", "timeout", "event-budget", "max-hosts", "max-sockets"];

    /// <summary>
    /// The most engine events one in-process run may process unless --event-budget says otherwise, as an advance of the API
    /// has its eventBudget: a run that needs more stops where it got to, with an error at the step (or line) it was
    /// running. Far above what a teardown needs (every scenario and script of the repository passes with 1,000,000),
    /// and a few seconds of work, so a runaway (keepalives for a 100-year runUntil) stops instead of running for minutes.
    /// </summary>
    public const long DefaultEventBudget = 2_000_000;

    /// <summary>--event-budget's ceiling: ScenarioRunOptions.DefaultEventBudget, the API's and the kernel runner's own cap.</summary>
    public const long MaxEventBudget = SimService.Domain.Scenarios.ScenarioRunOptions.DefaultEventBudget;
    public static readonly string[] Flags = ["in-process", "record", "keep"];

    public static async Task<int> RunAsync(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var server = line.Value("server");
        if (server is not null && line.Has("in-process")) return Usage(error, "choose one of --server URL and --in-process");
        if (OutputFiles.Dash(line, "json", "junit", "pcap", "diagram") is { } dash) return Usage(error, $"run: {dash}");
        if (line.Has("record") && new[] { "server", "junit", "json", "pcap", "diagram" }.FirstOrDefault(o => line.Value(o) is not null) is { } unused)
            return Usage(error, $"run: --{unused} is not used with --record, which records on the engine in process and prints the recordings");
        var artefacts = Artefacts.All.Where(a => line.Value(a.Option) is not null).Select(a => (Folder: line.Value(a.Option)!, Artefact: a)).ToList();
        var (client, clientError) = Connect(line);
        if (clientError is not null) return Usage(error, clientError);
        if (client is not null) client.Notices = error;
        var wallLimit = Timeout(line).Timeout;
        var (bounds, boundsError) = Bounds(line);
        if (boundsError is not null) return Usage(error, boundsError);
        using var _ = client;
        var (files, pathError) = FileCollector.Collect(line.Arguments);
        if (pathError is not null) return Usage(error, pathError);
        if (OwnReports.Refusal(line, files) is { } overwrite) return Usage(error, $"run: {overwrite}");
        if (line.Has("record")) return Kernel.PacketFuzz.NotScripts(files) is { } notScripts ? Usage(error, $"run: {notScripts}") : Record(files, output);

        string mode = client is null ? "in-process" : $"server {client.Server}";
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var results = new List<FileResult>();
        var outputs = new OutputFailures(error, "run");
        var names = new ArtefactNames();
        using (var progress = new Progress(error, Progress.IsInteractive()))
        {
            // Ctrl-C, SIGTERM or SIGHUP: no file starts after it, and the one running stops between two events (review37a M-2:
            // every file still ran, each up to --timeout, before the tool exited 130).
            for (int i = 0; i < files.Count && !cancellationToken.IsCancellationRequested; i++)
            {
                progress.Start(i + 1, files.Count, files[i].DisplayPath);
                FileResult result;
                RunOutput? run;
                try
                {
                    (result, run) = await RunFileAsync(files[i], client, bounds!, wallLimit, cancellationToken);
                }
                catch (ServerUnavailableException e)
                {
                    progress.Clear();
                    return Usage(error, e.Message);
                }
                progress.Clear();
                ConsoleReport.WriteFile(output, result);
                if (result.Outcome is FileOutcome.Failed or FileOutcome.Interrupted && run is not null)
                    foreach (var (folder, artefact) in artefacts) await SaveAsync(output, outputs, folder, names.FileName(result.File, artefact), artefact, result, run, client, files, cancellationToken);
                // A passed file's simulation is deleted (a CI job's runs would fill the tenant's simulations quota);
                // a failed one's stays for its artefacts and a look, and --keep keeps them all.
                if (client is not null && !line.Has("keep") && result.Outcome == FileOutcome.Passed && result.SimulationId is { } passedId)
                {
                    try
                    {
                        if (await client.DeleteSimulationAsync(passedId, cancellationToken) is { } why) output.WriteLine($"         not deleted: {why}");
                    }
                    catch (ServerUnavailableException e)
                    {
                        output.WriteLine($"         not deleted: {e.Message}");
                    }
                }
                output.Flush();
                results.Add(result);
            }
        }
        ConsoleReport.WriteNotRun(error, results.Count, files.Count);
        double seconds = clock.Elapsed.TotalSeconds;
        var notRun = ConsoleReport.NotRun(files, results.Count);
        ConsoleReport.WriteSummary(output, results, notRun.Count, mode, seconds);
        if (line.Value("junit") is { } junit) outputs.Try("junit", () => JUnitReport.Write(junit, results, notRun, mode, seconds, started));
        if (line.Value("json") is { } json) outputs.Try("json", () => JsonReport.Write(json, results, notRun, client is null ? "in-process" : "server", client?.Server.ToString(), seconds));
        return outputs.ExitCode(Outcome(results));
    }

    /// <summary>The runs' exit code: 2 when a file is invalid, 0 when all passed, else 1.</summary>
    internal static int Outcome(IReadOnlyList<FileResult> results) =>
        results.Any(r => r.Outcome == FileOutcome.Invalid) ? ExitCodes.Invalid
        : results.All(r => r.Outcome == FileOutcome.Passed) ? ExitCodes.Ok : ExitCodes.Failed;

    /// <summary>
    /// --record: each packetdrill script run in record mode on the engine — its inbound segments and calls made, every
    /// outbound segment, call result and tcp_info value printed (what <c>kernel --record</c> compares with the kernel's).
    /// </summary>
    static int Record(IReadOnlyList<ScenarioFile> files, TextWriter output)
    {
        int failed = 0;
        foreach (var file in files)
        {
            var (recording, why) = Kernel.PacketFuzz.OnEngine(file.ReadText(), Path.GetFileName(file.FullPath));
            output.WriteLine(ConsoleReport.Shown($"{(recording is null ? "FAIL" : "RECORDED"),-9}{file.DisplayPath}"));
            foreach (var text in recording?.Select(e => e.ToString()) ?? why!.Split('\n')) output.WriteLine($"         {text}");
            failed += recording is null ? 1 : 0;
        }
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>
    /// Saves an artefact of a failed run as <paramref name="name"/> (<see cref="ArtefactNames"/>): made from the in-process simulation, or fetched from the server. A folder or file
    /// that cannot be written is said once (<paramref name="outputs"/>) and the option not tried again; so is one that is a
    /// file of <paramref name="inputs"/> (a hard or symbolic link to a scenario, left in the folder under the artefact's name).
    /// </summary>
    private static async Task SaveAsync(TextWriter output, OutputFailures outputs, string folder, string name, IArtefact artefact, FileResult result, RunOutput run,
        SimServiceClient? client, IReadOnlyList<ScenarioFile> inputs, CancellationToken cancellationToken)
    {
        if (!outputs.Try(artefact.Option, () => OutputFiles.Folder(artefact.Option, folder))) return;
        byte[]? bytes;
        string? why = null;
        if (client is null) bytes = artefact.FromSimulation(run.Simulation!);
        else (bytes, why) = await client.GetBytesAsync(artefact.ServerPath(result.SimulationId!), cancellationToken);
        if (bytes is null)
        {
            output.WriteLine(ConsoleReport.Shown($"         {artefact.Option} not saved: {why}"));
            return;
        }
        var path = Path.Combine(Path.GetFullPath(folder), name);
        byte[] data = bytes;
        if (outputs.Try(artefact.Option, () => OutputFiles.Write(artefact.Option, path, p => File.WriteAllBytes(p, data), inputs)))
            output.WriteLine(ConsoleReport.Shown($"         saved {artefact.Option}: {path}"));
    }

    private static async Task<(FileResult Result, RunOutput? Run)> RunFileAsync(ScenarioFile file, SimServiceClient? client, InProcessBounds bounds,
        TimeSpan wallLimit, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = file.ReadText();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (FileResult.Invalid(file.DisplayPath, file.Format.Kind, [new Problem("$", $"cannot read the file: {e.Message}")]), null);
        }
        var clock = Stopwatch.StartNew();
        var name = Path.GetFileName(file.FullPath);
        RunOutput run;
        if (client is null)
        {
            // --timeout bounds a file's run in process as it bounds a request on a server: the run stops between two events,
            // as it does when the tool is interrupted.
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(wallLimit);
            run = file.Format.RunInProcess(text, name, bounds, limit.Token);
        }
        else
        {
            try
            {
                run = await file.Format.RunOnServerAsync(client, text, name, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The request is cancelled with the tool: the file is reported as in process, and the summary and reports follow
                // (tester38 MEDIUM-6: the exception went past them, and run --server printed nothing for it nor wrote --json).
                return (new FileResult(file.DisplayPath, file.Format.Kind, FileOutcome.Interrupted, [], [new Problem("$", "the run was stopped: the tool was interrupted")],
                    null, null, null, clock.Elapsed.TotalSeconds), null);
            }
        }
        if (!run.Valid) return (FileResult.Invalid(file.DisplayPath, file.Format.Kind, run.Problems), run);
        var problems = run.Problems;
        if (run.EventBudgetSpent)
        {
            // The runner's own error says where the budget ran out: the hint joins it, else (a script's failed line) it is one more.
            var hint = $"--event-budget N allows more (at most {MaxEventBudget})";
            int at = problems.ToList().FindIndex(p => p.Message.StartsWith("the event budget of", StringComparison.Ordinal));
            problems = at >= 0
                ? [.. problems.Select((p, i) => i == at ? p with { Message = $"{p.Message}; {hint}" } : p)]
                : [.. problems, new Problem("$", $"the run needs more than {bounds.EventBudget} events; {hint}")];
        }
        if (run.WallLimitReached)
        {
            string at = run.NowNs is { } now ? $", at {new SimService.Domain.Time.SimTime(now)} virtual" : "";
            problems = [.. problems, new Problem("$", cancellationToken.IsCancellationRequested
                ? $"the run was stopped: the tool was interrupted{at}"
                : $"the run was stopped after {SimServiceClient.Seconds(wallLimit)} s of wall time{at}; --timeout SECONDS allows more")];
        }
        var outcome = run.WallLimitReached && cancellationToken.IsCancellationRequested ? FileOutcome.Interrupted
            : run.Passed ? FileOutcome.Passed : FileOutcome.Failed;
        return (new FileResult(file.DisplayPath, file.Format.Kind, outcome, run.Checks, problems,
            run.SimulationId, run.NowNs, run.JournalEvents, clock.Elapsed.TotalSeconds), run);
    }

    /// <summary>
    /// The bounds of a run in process — --event-budget (default <see cref="DefaultEventBudget"/>), --max-hosts and --max-sockets
    /// (a server's default quotas) — or why one is wrong; the engine in process only.
    /// </summary>
    internal static (InProcessBounds? Bounds, string? Error) Bounds(CommandLine line)
    {
        var (budget, budgetError) = Bound(line, "event-budget", DefaultEventBudget, MaxEventBudget, "events", "Limits:HeavySeconds");
        var (hosts, hostsError) = Bound(line, "max-hosts", ScenarioRunOptions.DefaultHostsQuota, InProcessBounds.MostHosts, "hosts", "Quotas:HostsPerSimulation");
        var (sockets, socketsError) = Bound(line, "max-sockets", ScenarioRunOptions.DefaultSocketsQuota, InProcessBounds.MostSockets, "sockets", "Quotas:SocketsPerSimulation");
        return (budgetError ?? hostsError ?? socketsError) is { } error ? (null, error) : (new InProcessBounds(budget, hosts, sockets), null);
    }

    /// <summary>One bound's value: a plain integer from 1 to <paramref name="most"/>, <paramref name="byDefault"/> when not given.</summary>
    static (long Value, string? Error) Bound(CommandLine line, string option, long byDefault, long most, string unit, string serverSetting)
    {
        if (line.Value(option) is not { } text) return (byDefault, null);
        if (line.Value("server") is not null)
            return (0, $"--{option} bounds a run on the engine in process; a server bounds its runs by its own limits ({serverSetting})");
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && value >= 1 && value <= most
            ? (value, null)
            : (0, $"--{option}: '{text}' is not a number of {unit} from 1 to {most}");
    }

    /// <summary>The server client for <c>--server</c> (null in process), or why the options are wrong.</summary>
    internal static (SimServiceClient? Client, string? Error) Connect(CommandLine line)
    {
        var (timeout, timeoutError) = Timeout(line);
        if (timeoutError is not null) return (null, timeoutError);
        if (line.Value("server") is not { } server) return (null, null);
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return (null, System.Text.RegularExpressions.Regex.Match(server, @"^https?://[^/?#]*:(\d+)(?:[/?#]|$)", System.Text.RegularExpressions.RegexOptions.IgnoreCase) is { Success: true } port
                && !(int.TryParse(port.Groups[1].Value, out var number) && number <= 65535)
                ? $"--server: '{SimServiceClient.Shown(server)}' has port {port.Groups[1].Value}: a port is 1 to 65535"
                : $"--server: '{SimServiceClient.Shown(server)}' is not an http:// or https:// URL");
        // A base URL that requests are made under: a query or fragment would sit before each request's path (tester38 LOW-14:
        // 'http://localhost:5193/?x=1' ran, and was printed 'http://localhost:5193/?x=1/').
        int query = server.IndexOf('?', StringComparison.Ordinal), fragment = server.IndexOf('#', StringComparison.Ordinal);
        if (query >= 0 || fragment >= 0)
            return (null, $"--server: '{SimServiceClient.Shown(server)}' has a {(query >= 0 && (fragment < 0 || query < fragment) ? "query" : "fragment")}: "
                + "a base URL has no query or fragment");
        var key = line.Value("api-key") ?? Environment.GetEnvironmentVariable("SIMSERVICE_API_KEY");
        return (new SimServiceClient(uri, string.IsNullOrEmpty(key) ? null : key, timeout), null);
    }

    /// <summary>
    /// --timeout's value (default 600 s), or why it is wrong: a request's limit on a server, a file's wall-time limit in
    /// process (<c>run</c>: the run stops where it got to, as a server's run stops at its own limit).
    /// </summary>
    internal static (TimeSpan Timeout, string? Error) Timeout(CommandLine line)
    {
        if (line.Value("timeout") is not { } t) return (TimeSpan.FromMinutes(10), null);
        // A plain decimal number, as --event-budget takes a plain integer: double.TryParse's default style took thousands
        // separators, so --timeout 0,1 ran with 1 s and 5,5 with 55 s (tester37 LOW-6), and spaces around it.
        if (!double.TryParse(t, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var s)
            || !(s > 0) || s > int.MaxValue / 1000)
            return (default, $"--timeout: '{t}' is not a number of seconds above 0 and at most {int.MaxValue / 1000}");
        return (TimeSpan.FromSeconds(s), null);
    }

    internal static int Usage(TextWriter error, string message)
    {
        error.WriteLine(ConsoleReport.Shown($"simservice: {message}"));
        return ExitCodes.Invalid;
    }
}
