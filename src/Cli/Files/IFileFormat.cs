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

    /// <summary>Runs the text on the engine linked into the tool, processing at most <paramref name="eventBudget"/> events.</summary>
    RunOutput RunInProcess(string text, string fileName, long eventBudget);

    /// <summary>Runs the text on a server.</summary>
    Task<RunOutput> RunOnServerAsync(SimServiceClient server, string text, string fileName, CancellationToken cancellationToken);
}

/// <summary>What a run gave, before timing: invalid (with problems), or checks and run-time errors.</summary>
public sealed record RunOutput(bool Valid, bool Passed, IReadOnlyList<CheckOutcome> Checks, IReadOnlyList<Problem> Problems, string? SimulationId,
    long? NowNs, long? JournalEvents, SimService.Domain.Engine.Simulation? Simulation = null)
{
    public static RunOutput Invalid(IReadOnlyList<Problem> problems) => new(false, false, [], problems, null, null, null);

    /// <summary>An in-process run stopped at its event budget (its problems or failed check say where).</summary>
    public bool EventBudgetSpent { get; init; }
}
