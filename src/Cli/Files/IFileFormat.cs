using SimService.Cli.Running;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Files;

/// <summary>
/// A kind of file the tool runs (scenario documents, *.json; packetdrill scripts, *.pkt, once the engine has a
/// reader for them). A format validates a file's text, runs it on the engine linked into the tool, and runs it on
/// a SimService server; <see cref="FileFormats"/> lists the formats this build knows.
/// </summary>
public interface IFileFormat
{
    /// <summary>The extension it reads, with the dot (".json").</summary>
    string Extension { get; }

    /// <summary>The name reports use ("scenario").</summary>
    string Kind { get; }

    /// <summary>
    /// Every problem of the text (<paramref name="fileName"/> names it in messages) (JSON path or line first), none when it is valid; nothing runs.
    /// Stops with <see cref="OperationCanceledException"/> once <paramref name="interruption"/> is cancelled (the tool's interrupt).
    /// </summary>
    IReadOnlyList<Problem> Validate(string text, string fileName, CancellationToken interruption = default);

    /// <summary>
    /// Runs the text on the engine linked into the tool within <paramref name="bounds"/>; a run still going when
    /// <paramref name="wallLimit"/> is cancelled stops between two events (<see cref="RunOutput.WallLimitReached"/>).
    /// </summary>
    RunOutput RunInProcess(string text, string fileName, InProcessBounds bounds, CancellationToken wallLimit);

    /// <summary>Runs the text on a server.</summary>
    Task<RunOutput> RunOnServerAsync(SimServiceClient server, string text, string fileName, CancellationToken cancellationToken);
}

/// <summary>
/// What one run in process may use: engine events (--event-budget), and hosts and sockets as a server's default quotas bound a
/// simulation (--max-hosts, --max-sockets raise them). Without the last two a 1 KB scenario of 200,000 generated clients at rate
/// 10⁹ grew the tool to 5 GB before its event budget stopped it, where a server refused it at once (tester39 MEDIUM-7).
/// </summary>
public sealed record InProcessBounds(long EventBudget, long Hosts = ScenarioRunOptions.DefaultHostsQuota, long Sockets = ScenarioRunOptions.DefaultSocketsQuota)
{
    /// <summary>
    /// --max-hosts' ceiling: each generated client costs about 4 KB, so 250,000 hosts is about 1 GB, and one step's most
    /// (200,000 clients) fits. Without a bound a few-KB file of repeated 200,000-client steps grew the tool by gigabytes.
    /// </summary>
    public const long MostHosts = 250_000;

    /// <summary>
    /// --max-sockets' ceiling: a workload's sockets cost about 3.4 KB each (200,000 generated clients at rate 10⁹: 1.27 GB peak
    /// stopped at 100,000 sockets, 4.36 GB at 1,000,000), so 500,000 is about 1.7 GB more than the hosts.
    /// </summary>
    public const long MostSockets = 500_000;
}

/// <summary>What a run gave, before timing: invalid (with problems), or checks and run-time errors.</summary>
public sealed record RunOutput(bool Valid, bool Passed, IReadOnlyList<CheckOutcome> Checks, IReadOnlyList<Problem> Problems, string? SimulationId,
    long? NowNs, long? JournalEvents, SimService.Domain.Engine.Simulation? Simulation = null)
{
    public static RunOutput Invalid(IReadOnlyList<Problem> problems) => new(false, false, [], problems, null, null, null);

    /// <summary>The server refused to run the file (403 quota, 409, 413, 422 over its run-time limit): a failed run with the server's reason.</summary>
    public static RunOutput Refused(string why, string path = "$") => new(true, false, [], [new Problem(path, why)], null, null, null);

    /// <summary>An in-process run stopped at its event budget (its problems or failed check say where).</summary>
    public bool EventBudgetSpent { get; init; }

    /// <summary>An in-process run stopped at its wall-time limit (--timeout), at virtual <see cref="NowNs"/> when known.</summary>
    public bool WallLimitReached { get; init; }

    /// <summary>A run stopped by its wall-time limit: no check result stands (the runner's own results are lost with it).</summary>
    public static RunOutput StoppedByWallLimit(long? nowNs) => new(true, false, [], [], null, nowNs, null) { WallLimitReached = true };
}
