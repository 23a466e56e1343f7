using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;
using SimService.Domain.Scenarios;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>
/// Every run file of the repository (packetdrill/*.pkt, scenarios/*.json, scenarios/examples/*.json) run, its command log
/// exported as a scenario, and that scenario run again: the same journal, event for event (README "Running it gives the same
/// journal"). A file whose export is refused (a NAT, a workload's generated clients, …) is told apart from one the exporter
/// got wrong: only the files below, which the scenario format can express, must export.
/// </summary>
public class ExportRoundTripTests
{
    /// <summary>Files that exported wrongly or not at all (tester session 32): a call through a dup after the first descriptor's close, ENOENT, ENOPROTOOPT.</summary>
    static readonly HashSet<string> MustExport =
    [
        "close-of-a-dup-sends-fin-only-at-the-last.pkt", "congestion-reno-by-setsockopt.pkt", "project/dup-close-last-reference.json",
    ];

    [Theory]
    [MemberData(nameof(ProjectScripts.Passing), MemberType = typeof(ProjectScripts))]
    public void ProjectScript_RunExportedAndRunAgain_SameJournal(string name)
    {
        var result = PacketdrillRunner.Run(ProjectScripts.Read(name), new PacketdrillOptions { ScriptName = name });
        Assert.True(result.Passed, result.Output);

        RoundTrip(name, result.Simulation!, result.Commands);
    }

    public static TheoryData<string> ScenarioFiles() => [.. ExampleScenarios.Everywhere()];

    [Theory]
    [MemberData(nameof(ScenarioFiles))]
    public void ProjectScenario_RunExportedAndRunAgain_SameJournal(string key)
    {
        var result = ScenarioRunner.Run(ExampleScenarios.ReadAnywhere(key)).Result!;

        RoundTrip(key, result.Simulation, result.Commands);
    }

    static void RoundTrip(string name, Simulation ran, IReadOnlyList<SimCommand> commands)
    {
        var export = ScenarioExporter.Export(new ExportSource("again", null, ran.Profile, ran.Seed, null, commands, ran.EngineRules));
        if (!export.IsOk)
        {
            Assert.False(MustExport.Contains(name), export.Refusal!.Reason);
            return;
        }
        var again = ScenarioRunner.Run(export.Json!);
        Assert.True(again.IsValid, string.Join("; ", again.ParseErrors));
        Assert.Equal(ran.Journal, again.Result!.Simulation.Journal);
    }
}
