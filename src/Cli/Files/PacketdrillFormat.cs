using SimService.Cli.Running;
using SimService.Domain.Packetdrill;

namespace SimService.Cli.Files;

/// <summary>
/// packetdrill scripts, *.pkt, read and run by the engine's packetdrill runner (src/Domain/Packetdrill) against one
/// simulated Linux host and a scripted peer. A run stops at its first failure, as packetdrill does: that failure is
/// the run's one failed check ("line N", what the line expected, what the kernel did, when). A script that does not
/// parse or uses what the simulator does not run is invalid, each problem at "line L, column C".
/// </summary>
public sealed class PacketdrillFormat : IFileFormat
{
    public string Extension => ".pkt";

    public string Kind => "packetdrill";

    public IReadOnlyList<Problem> Validate(string text, string fileName, CancellationToken interruption = default) =>
        [.. PacketdrillRunner.Validate(text, Options(fileName) with { Interruption = interruption }).Select(Problem)];

    public RunOutput RunInProcess(string text, string fileName, InProcessBounds bounds, CancellationToken wallLimit)
    {
        PacketdrillRunResult result;
        try
        {
            result = PacketdrillRunner.Run(text, Options(fileName) with { EventBudget = bounds.EventBudget, Interruption = wallLimit });
        }
        catch (OperationCanceledException) when (wallLimit.IsCancellationRequested)
        {
            return RunOutput.StoppedByWallLimit(null);
        }
        if (result.Simulation is not { } simulation) return RunOutput.Invalid([.. result.Diagnostics.Select(Problem)]);
        IReadOnlyList<CheckOutcome> checks = result.Failure is { } f
            ? [new CheckOutcome(false, "packetdrill", $"line {f.Line}", f.Expected, f.Actual, f.At.ToString(), f.At.Ns)]
            : [];
        // A run that left what the engine models fails with a run error at the line that was running, as a scenario does.
        IReadOnlyList<Problem> problems = result.LeftModel is { } left ? [new Problem(left.Path, left.Message)] : [];
        return new RunOutput(true, result.Passed, checks, problems, null, simulation.Now.Ns, simulation.Journal.Count, simulation) { EventBudgetSpent = result.EventBudgetSpent };
    }

    public Task<RunOutput> RunOnServerAsync(SimServiceClient server, string text, string fileName, CancellationToken cancellationToken) =>
        server.RunPacketdrillAsync(text, fileName, cancellationToken);

    private static PacketdrillOptions Options(string fileName) => new() { ScriptName = fileName };

    private static Problem Problem(ScriptDiagnostic d) =>
        new($"line {d.At.Line}, column {d.At.Column}", (d.Unsupported ? "unsupported: " : "") + d.Message);
}
