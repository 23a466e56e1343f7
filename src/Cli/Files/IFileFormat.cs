using SimService.Cli.Running;

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

    /// <summary>Every problem of the text (<paramref name="fileName"/> names it in messages) (JSON path or line first), none when it is valid; nothing runs.</summary>
    IReadOnlyList<Problem> Validate(string text, string fileName);

    /// <summary>
    /// Runs the text on the engine linked into the tool, processing at most <paramref name="eventBudget"/> events; a run still going
    /// when <paramref name="wallLimit"/> is cancelled stops between two events (<see cref="RunOutput.WallLimitReached"/>).
    /// </summary>
    RunOutput RunInProcess(string text, string fileName, long eventBudget, CancellationToken wallLimit);

    /// <summary>Runs the text on a server.</summary>
    Task<RunOutput> RunOnServerAsync(SimServiceClient server, string text, string fileName, CancellationToken cancellationToken);
}

/// <summary>What a run gave, before timing: invalid (with problems), or checks and run-time errors.</summary>
public sealed record RunOutput(bool Valid, bool Passed, IReadOnlyList<CheckOutcome> Checks, IReadOnlyList<Problem> Problems, string? SimulationId,
    long? NowNs, long? JournalEvents, SimService.Domain.Engine.Simulation? Simulation = null)
{
    public static RunOutput Invalid(IReadOnlyList<Problem> problems) => new(false, false, [], problems, null, null, null);

    /// <summary>The server refused to run the file (403 quota, 409, 413, 422 over its run-time limit): a failed run with the server's reason.</summary>
    public static RunOutput Refused(string why) => new(true, false, [], [new Problem("$", why)], null, null, null);

    /// <summary>An in-process run stopped at its event budget (its problems or failed check say where).</summary>
    public bool EventBudgetSpent { get; init; }

    /// <summary>An in-process run stopped at its wall-time limit (--timeout), at virtual <see cref="NowNs"/> when known.</summary>
    public bool WallLimitReached { get; init; }

    /// <summary>A run stopped by its wall-time limit: no check result stands (the runner's own results are lost with it).</summary>
    public static RunOutput StoppedByWallLimit(long? nowNs) => new(true, false, [], [], null, nowNs, null) { WallLimitReached = true };
}
