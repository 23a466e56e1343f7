namespace SimService.Cli.Running;

/// <summary>
/// How one file came out: every check held, a check failed (or the run hit an error), the file is not valid input, or the
/// tool was interrupted (Ctrl-C, SIGTERM, SIGHUP) while it ran — neither passed nor failed, in the console, <c>--json</c>
/// (<c>"outcome": "interrupted"</c>) and <c>--junit</c> (a skipped case) alike (tester40 LOW-2: it was Failed with a flag).
/// </summary>
public enum FileOutcome
{
    Passed,
    Failed,
    Invalid,
    Interrupted,
}

/// <summary>One check of a run: what the file expected, what the simulation showed, and at which virtual time.</summary>
/// <param name="Kind">call.result, sockets, counters, packets … (the scenario runner's check kinds).</param>
/// <param name="Path">JSON path of the expectation in the file.</param>
/// <param name="At">The virtual time as the format writes durations ("200ms").</param>
public sealed record CheckOutcome(bool Passed, string Kind, string Path, string Expected, string Actual, string At, long AtNs);

/// <summary>A problem that is not a check: a validation error of the file, or an error while it ran (a refused step, the event budget spent).</summary>
public sealed record Problem(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The result of running (or validating) one file, the same whether it ran in-process or on a server.</summary>
/// <param name="File">The path as the user gave it (or as found under a folder they gave).</param>
/// <param name="Kind">The file's format ("scenario").</param>
/// <param name="Problems">Validation problems (outcome Invalid) or run-time errors (outcome Failed).</param>
/// <param name="SimulationId">The simulation the server kept for the run (server mode only).</param>
/// <param name="NowNs">Virtual time at the end of the run.</param>
/// <param name="Seconds">Wall-clock seconds the file took (not compared between modes).</param>
public sealed record FileResult(string File, string Kind, FileOutcome Outcome, IReadOnlyList<CheckOutcome> Checks, IReadOnlyList<Problem> Problems,
    string? SimulationId, long? NowNs, long? JournalEvents, double Seconds)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<CheckOutcome> FailedChecks => Checks.Where(c => !c.Passed);

    /// <summary>A kernel run's difference report (<c>--diff</c>, <c>--strict</c>); absent otherwise.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public DiffReport? Diff { get; init; }

    public static FileResult Invalid(string file, string kind, IReadOnlyList<Problem> problems) =>
        new(file, kind, FileOutcome.Invalid, [], problems, null, null, null, 0);
}
