using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>The exporter: a command log as a scenario document whose run gives the same journal, or a refusal naming the command.</summary>
public class ScenarioExporterTests
{
    static SimCommand[] Hosts(long delayMs) =>
    [
        new AddHostCommand("client", "10.0.0.1", HostKind.Linux, [new("net.ipv4.tcp_fin_timeout", "30")]),
        new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
        new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(delayMs), 0),
    ];

    static readonly OpenConnectionCommand Open = new("client", "server", 80, "app", "app", null, false, 128, 1_000_000, SimDuration.FromSeconds(60));

    static ExportSource Source(IReadOnlyList<SimCommand> log, int engineRules = EngineRules.Current) =>
        new("Open & Close!", "test", KernelProfile.Linux6, 11, null, log, engineRules);

    [Fact]
    public void OpenConnectionThenClose_Exported_RunGivesTheSameJournal()
    {
        SimCommand[] log =
        [
            .. Hosts(10), Open,
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromMilliseconds(5), 1_000_000),
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = 2 }),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(70), 1_000_000),
        ];
        var live = new Simulation(KernelProfile.Linux6, 11);
        foreach (var c in log) Assert.True(CommandApplier.Apply(live, c).IsOk);

        var export = ScenarioExporter.Export(Source(log));

        Assert.True(export.IsOk, export.Refusal?.Reason);
        Assert.Contains("\"name\": \"open-close\"", export.Json);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.True(run.Result!.Passed);
        Assert.Equal(live.Journal, run.Result.Simulation.Journal);
    }

    /// <summary>An add-link with lossBySegment loses by segment live, and its export writes the field back: the same drops.</summary>
    [Fact]
    public void LinkLossBySegment_Exported_RunGivesTheSameJournal()
    {
        SimCommand[] log =
        [
            .. Hosts(10)[..2], new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(10), 0.3, LossBySegment: true), Open,
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = 2, Bytes = 20_000 }),
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = 2 }),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(70), 1_000_000),
        ];
        var live = new Simulation(KernelProfile.Linux6, 11);
        foreach (var c in log) Assert.True(CommandApplier.Apply(live, c).IsOk);

        var export = ScenarioExporter.Export(Source(log));

        Assert.True(live.FindLink("client", "server")!.LossBySegment);
        Assert.Contains(live.Journal, e => e is Domain.Journal.SegmentDropped);
        Assert.True(export.IsOk, export.Refusal?.Reason);
        Assert.Contains("\"lossBySegment\": true", export.Json);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.True(run.IsValid, string.Join("; ", run.ParseErrors));
        Assert.Equal(live.Journal, run.Result!.Simulation.Journal);
    }

    /// <summary>
    /// socket(), listen and connect on a host that failed EMFILE made no socket (id 0): each is exported with an alias of its
    /// own (it was "s0" for every one, so a second was a 409 "alias defined twice"), and the run gives the same journal.
    /// </summary>
    [Fact]
    public void CallsThatMadeNoSocket_Exported_EachItsOwnAliasRunGivesTheSameJournal()
    {
        static SocketCallCommand OnHost(SocketCallKind kind) => new(kind switch
        {
            SocketCallKind.Listen => new SocketCallRequest("client", "app", kind) { Port = 80 },
            SocketCallKind.Connect => new SocketCallRequest("client", "app", kind) { ToHost = "server", ToPort = 80 },
            _ => new SocketCallRequest("client", "app", kind),
        });
        SimCommand[] log =
        [
            .. Hosts(10),
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Setrlimit) { RlimCur = 3, RlimMax = 3 }),
            OnHost(SocketCallKind.Socket), OnHost(SocketCallKind.Socket), OnHost(SocketCallKind.Listen), OnHost(SocketCallKind.Connect),
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Setrlimit) { RlimCur = 4, RlimMax = 4 }),
            OnHost(SocketCallKind.Socket),
        ];
        var live = new Simulation(KernelProfile.Linux6, 11);
        var handles = log.Select(c => CommandApplier.Apply(live, c)).Select(o => o.Call).ToList();

        var export = ScenarioExporter.Export(Source(log));

        Assert.Equal([Errno.EMFILE, Errno.EMFILE, Errno.EMFILE, Errno.EMFILE, null], handles[4..].Where((_, i) => i != 4).Select(h => h!.Value.Errno));
        Assert.True(export.IsOk, export.Refusal?.Reason);
        var aliases = System.Text.Json.JsonDocument.Parse(export.Json!).RootElement.GetProperty("steps").EnumerateArray()
            .Select(s => s.TryGetProperty("as", out var alias) ? alias.GetString() : null).OfType<string>().ToList();
        Assert.Equal(["socket-2", "socket-3", "listen-4", "connect-5", "s1"], aliases);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.True(run.IsValid, string.Join("; ", run.ParseErrors));
        Assert.Equal(live.Journal, run.Result!.Simulation.Journal);
    }

    [Fact]
    public void InjectedSegmentsWithOptions_Exported_RunGivesTheSameJournal()
    {
        // The options example's command log (injects with MSS, wscale, SACK blocks and echoed
        // timestamps among calls) exported and run again: the same journal, event for event.
        var scenario = ScenarioRunner.Run(File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder, "scripted-peer-negotiates-options.json"))).Result!;
        Assert.Contains(scenario.Commands, c => c is InjectCommand { Options.HasSack: true });

        var export = ScenarioExporter.Export(new ExportSource("options", null, scenario.Simulation.Profile, scenario.Simulation.Seed, null, scenario.Commands));

        Assert.True(export.IsOk, export.Refusal?.Reason);
        Assert.Contains("\"sack\": [", export.Json);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.True(run.IsValid, string.Join("; ", run.ParseErrors));
        Assert.Equal(scenario.Simulation.Journal, run.Result!.Simulation.Journal);
    }

    /// <summary>A change-link's lossBySegment switches the whole link (both directions share one draw), and the journal says so.</summary>
    [Fact]
    public void ChangeLinkLossBySegment_Applied_SwitchesTheWholeLinkJournalled()
    {
        var live = new Simulation(KernelProfile.Linux6, 11);
        foreach (var c in Hosts(10)) CommandApplier.Apply(live, c);
        var link = live.FindLink("client", "server")!;

        var oneWay = CommandApplier.Apply(live, new ChangeLinkCommand("client", "server", true, null, null, null, LossBySegment: true));
        var on = CommandApplier.Apply(live, new ChangeLinkCommand("client", "server", false, null, null, null, LossBySegment: true));
        var (draw, backward) = (link.AtoB.BySegment, link.BtoA.BySegment);
        CommandApplier.Apply(live, new ChangeLinkCommand("server", "client", false, null, 0.2, null, LossBySegment: true));
        var kept = link.AtoB.BySegment;
        var off = CommandApplier.Apply(live, new ChangeLinkCommand("client", "server", false, null, null, null, LossBySegment: false));
        var changes = live.Journal.OfType<Domain.Journal.LinkChanged>().Select(e => (e.From, e.To, e.Loss, e.LossBySegment)).ToArray();

        Assert.Equal("lossBySegment", oneWay.Error!.Field);
        Assert.True(on.IsOk);
        Assert.NotNull(draw);
        Assert.Same(draw, backward);
        Assert.Same(draw, kept); // switched on again: the counts go on
        Assert.True(off.IsOk);
        Assert.False(link.LossBySegment);
        Assert.Equal(0.2, link.AtoB.Loss);
        Assert.Equal(
            [("client", "server", 0.0, true), ("server", "client", 0.0, true), ("server", "client", 0.2, true), ("client", "server", 0.2, true),
             ("client", "server", 0.2, false), ("server", "client", 0.2, false)],
            changes); // the refused one-way change journals nothing
    }

    /// <summary>
    /// A link switched to lossBySegment mid-run (30 % loss, the bulk send before and after) is exported as a link step
    /// with the field; the export's run drops the same segments: the same journal, event for event.
    /// </summary>
    [Fact]
    public void ChangeLinkLossBySegment_Exported_LinkStepRunGivesTheSameJournal()
    {
        SimCommand[] log =
        [
            .. Hosts(10), Open,
            new ChangeLinkCommand("client", "server", false, null, 0.3, null, LossBySegment: true),
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = 2, Bytes = 20_000 }),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(2), 1_000_000),
            new ChangeLinkCommand("client", "server", false, null, null, null, LossBySegment: false),
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = 2 }),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(70), 1_000_000),
        ];
        var live = new Simulation(KernelProfile.Linux6, 11);
        foreach (var c in log) Assert.True(CommandApplier.Apply(live, c).IsOk);

        var export = ScenarioExporter.Export(Source(log));

        Assert.Contains(live.Journal, e => e is Domain.Journal.SegmentDropped);
        Assert.True(export.IsOk, export.Refusal?.Reason);
        Assert.Contains("\"lossBySegment\": true", export.Json);
        Assert.Contains("\"lossBySegment\": false", export.Json);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.True(run.IsValid, string.Join("; ", run.ParseErrors));
        Assert.Equal(live.Journal, run.Result!.Simulation.Journal);
    }

    /// <summary>
    /// Over a zero-delay link the handshake's segments are due at the instant of the call that sent them. Under the current
    /// rules each call runs them before it returns (as the softirq runs before a syscall returns), as a scenario does before
    /// its next step, so the log is exported with its rules and the export's run gives the same journal, event for event.
    /// </summary>
    [Fact]
    public void OpenConnectionOverZeroDelayLink_Exported_RunGivesTheSameJournalUnderItsRules()
    {
        SimCommand[] log = [.. Hosts(0), Open];
        var live = new Simulation(KernelProfile.Linux6, 11);
        foreach (var c in log) Assert.True(CommandApplier.Apply(live, c).IsOk);

        var export = ScenarioExporter.Export(Source(log));

        Assert.True(export.IsOk, export.Refusal?.Reason);
        Assert.Contains("\"engineRules\": 4", export.Json);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.True(run.IsValid, string.Join("; ", run.ParseErrors));
        Assert.Equal(EngineRules.WorkloadAcceptEndsWithIt, run.Result!.Simulation.EngineRules);
        Assert.Equal(live.Journal, run.Result.Simulation.Journal);
    }

    /// <summary>A log recorded under the original rules exports with them: the document's run follows them as well.</summary>
    [Fact]
    public void LogOfTheOriginalRules_Exported_CarriesThemToTheRun()
    {
        SimCommand[] log = [.. Hosts(10), Open, new AdvanceCommand(AdvanceMode.By, SimDuration.FromMilliseconds(5), 1_000_000)];
        var live = new Simulation(KernelProfile.Linux6, 11) { EngineRules = EngineRules.Original };
        foreach (var c in log) Assert.True(CommandApplier.Apply(live, c).IsOk);

        var export = ScenarioExporter.Export(Source(log, EngineRules.Original));

        Assert.True(export.IsOk, export.Refusal?.Reason);
        Assert.Contains("\"engineRules\": 0", export.Json);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.Equal(EngineRules.Original, run.Result!.Simulation.EngineRules);
        Assert.Equal(live.Journal, run.Result.Simulation.Journal);
    }

    [Fact]
    public void OpenConnectionOverZeroDelayLink_UnderTheOriginalRules_RefusedNamingTheCommand()
    {
        var export = ScenarioExporter.Export(Source([.. Hosts(0), Open], EngineRules.Original));

        Assert.False(export.IsOk);
        Assert.Equal(4, export.Refusal!.CommandNumber);
        Assert.StartsWith("Command 4 (open-connection) cannot be exported: events due at", export.Refusal.Reason);
    }

    /// <summary>
    /// An injected segment whose header holds more option bytes than its options lay out to (a packetdrill run's
    /// EOL-padded list) has no form in a scenario's inject step: refused, naming the command, rather than exported shorter.
    /// </summary>
    [Fact]
    public void InjectWithPaddedOptionBytes_Exported_RefusedNamingIt()
    {
        var export = ScenarioExporter.Export(Source(ScriptedPeerSends(new InjectCommand("peer", 40000, "server", 80, TcpFlags.Ack, 1, 1, 2000, 100, OptionBytes: 4))));

        Assert.Equal(4, export.Refusal!.CommandNumber);
        Assert.Equal("Command 4 (inject) cannot be exported: its segment's header holds 4 option bytes, which the scenario format cannot write "
            + "(it lays its options out in 0 bytes).", export.Refusal.Reason); // tester40 LOW-5: "in 0", without its unit
    }

    /// <summary>
    /// An inject whose optionBytes is the length its options lay out to is what a scenario's inject step writes: exported
    /// as that step (review39a N-4: refused as if padded).
    /// </summary>
    [Fact]
    public void InjectWithOptionBytesAsLaidOut_Exported_AsAnInjectStep()
    {
        var export = ScenarioExporter.Export(Source(ScriptedPeerSends(
            new InjectCommand("peer", 40000, "server", 80, TcpFlags.Ack, 1, 1, 2000, 100, new TcpOptions(HasTimestamp: true, TsVal: 5), OptionBytes: 12))));

        Assert.True(export.IsOk, export.Refusal?.Reason);
    }

    /// <summary>A scripted peer and a server 10 ms apart, then <paramref name="inject"/> from the peer.</summary>
    static SimCommand[] ScriptedPeerSends(InjectCommand inject) =>
    [
        new AddHostCommand("peer", "10.0.0.1", HostKind.Scripted, []),
        new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
        new AddLinkCommand("peer", "server", SimDuration.FromMilliseconds(10), 0),
        inject,
    ];

    /// <summary>
    /// An inject's optionBytes must be a TCP header's: a multiple of 4 up to MAX_TCP_OPTION_SPACE, and room for the options it
    /// carries (timestamps take 10 bytes, so 12 at least: review39a N-4, 0 and 8 were taken); else refused, nothing sent.
    /// </summary>
    [Theory]
    [InlineData(6, false)]
    [InlineData(44, false)]
    [InlineData(-4, false)]
    [InlineData(0, true)]
    [InlineData(8, true)]
    public void InjectWithOptionBytesNoHeaderHolds_Applied_RefusedNamingTheField(int bytes, bool timestamps)
    {
        var sim = new Simulation(KernelProfile.Linux6, 11);
        CommandApplier.Apply(sim, new AddHostCommand("peer", "10.0.0.1", HostKind.Scripted, []));
        CommandApplier.Apply(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []));
        CommandApplier.Apply(sim, new AddLinkCommand("peer", "server", SimDuration.FromMilliseconds(10), 0));

        var outcome = CommandApplier.Apply(sim, new InjectCommand("peer", 40000, "server", 80, TcpFlags.Ack, 1, 1, 2000, 100,
            timestamps ? new TcpOptions(HasTimestamp: true, TsVal: 5) : null, OptionBytes: bytes));

        Assert.Equal("optionBytes", outcome.Error!.Field);
        Assert.DoesNotContain(sim.Journal, e => e is SegmentSent);
    }

    [Fact]
    public void HostAddedAfterTraffic_Exported_RefusedNamingIt()
    {
        var export = ScenarioExporter.Export(Source([.. Hosts(10), Open, new AddHostCommand("late", "10.0.0.3", HostKind.Linux, [])]));

        Assert.Equal(5, export.Refusal!.CommandNumber);
        Assert.Contains("(add-host)", export.Refusal.Reason);
    }

    /// <summary>A turn that is always wanted and counts its passes; at pass <see cref="CancelAt"/> it cancels the export's token.</summary>
    private sealed class CancellingTurn : EngineTurn
    {
        public readonly CancellationTokenSource Source = new();
        public int Passes;
        public int CancelAt = int.MaxValue;

        public CancellingTurn() => SetWanted(true);

        public override void Pass()
        {
            if (++Passes == CancelAt) Source.Cancel();
        }
    }

    static SimCommand[] OpenAndClose =>
    [
        .. Hosts(10), Open,
        new AdvanceCommand(AdvanceMode.By, SimDuration.FromMilliseconds(5), 1_000_000),
        new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = 2 }),
        new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(70), 1_000_000),
    ];

    /// <summary>
    /// The export is as heavy as the log it replays: its turn is passed at every boundary (before each of the 7 commands,
    /// each of the replay's events, and the writing) and changes nothing of the document.
    /// </summary>
    [Fact]
    public void TurnWantedThroughout_Export_PassedAtEveryBoundaryDocumentUnchanged()
    {
        var turn = new CancellingTurn();

        var passing = ScenarioExporter.Export(Source(OpenAndClose), turn.Source.Token, turn);

        Assert.Equal(ScenarioExporter.Export(Source(OpenAndClose)).Json, passing.Json);
        Assert.Equal(PassesOfOpenAndClose, turn.Passes);
    }

    const int PassesOfOpenAndClose = 20; // 7 commands, 12 events (the woken connect() and accept() each run as one), the writing

    /// <summary>Cancelled part-way through its replay (at boundary 10 of 20): it stops there, throwing, and runs nothing more.</summary>
    [Fact]
    public void CancelledPartWay_Export_ThrowsOperationCanceledAtTheNextBoundary()
    {
        var turn = new CancellingTurn { CancelAt = 10 };

        Assert.Throws<OperationCanceledException>(() => ScenarioExporter.Export(Source(OpenAndClose), turn.Source.Token, turn));

        Assert.Equal(10, turn.Passes);
    }

    [Fact]
    public void CancelledBeforeItStarts_Export_ThrowsOperationCanceled()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.Throws<OperationCanceledException>(() => ScenarioExporter.Export(Source(OpenAndClose), cancelled.Token));
    }

    [Fact]
    public void MadeFromScenario_NoCommands_ExportIsTheScenario()
    {
        var export = ScenarioExporter.Export(new ExportSource("x", null, KernelProfile.Linux6, 1, "{\"scenario\":1}", []));

        Assert.Equal("{\"scenario\":1}", export.Json);
    }

    /// <summary>The project's scenarios that use the call extensions (poll with a timeout, dup, AF_UNSPEC, ...).</summary>
    public static TheoryData<string> CallExtensionScenarios() => ["poll-timeout-wakeups.json", "dup-close-last-reference.json", "connect-unspec-disconnects.json", "socket-timeouts-on-the-wheel.json", "local-port-options.json", "loopback-and-addresses.json"];

    [Theory]
    [MemberData(nameof(CallExtensionScenarios))]
    public void CallExtensionScenario_Exported_RunGivesTheSameJournal(string file)
    {
        // The scenario's command log exported as a document (timeouts, new calls and their arguments
        // written back) and run again: the same journal, event for event.
        var scenario = ScenarioRunner.Run(File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder, file))).Result!;

        var export = ScenarioExporter.Export(new ExportSource("again", null, scenario.Simulation.Profile, scenario.Simulation.Seed, null, scenario.Commands));

        Assert.True(export.IsOk, export.Refusal?.Reason);
        var run = ScenarioRunner.Run(export.Json!);
        Assert.True(run.IsValid, string.Join("; ", run.ParseErrors));
        Assert.Equal(scenario.Simulation.Journal, run.Result!.Simulation.Journal);
    }

    /// <summary>
    /// A workload its command's event budget cut, with events due at its instant still pending, is refused naming that
    /// command and its budget (tester37b LOW-5): the refusal blamed "the last advance" — an advance the log never had — or,
    /// at the next command, "an advance that stopped on its event budget".
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkloadCutByItsEventBudget_RefusalNamesTheWorkloadsCommandAndBudget(bool callAfter)
    {
        var spec = new Domain.Workloads.WorkloadSpec { Clients = ["client"], Server = "server", Port = 80, Count = 10, Rate = 1000 };
        SimCommand[] log = [.. Hosts(1), new WorkloadCommand(spec, EventBudget: 5)];
        if (callAfter) log = [.. log, new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Socket))];

        var export = ScenarioExporter.Export(Source(log));

        Assert.False(export.IsOk);
        Assert.Equal(callAfter
            ? "Command 5 (socket-call) cannot be exported: events due at 2ms were still pending when it was applied: command 4 (workload) " +
              "stopped on its event budget (5 events) at 2ms; a scenario processes them before every step."
            : "Command 4 (workload) stopped on its event budget (5 events) at 2ms with events due then still pending; a scenario's run " +
              "would process them.", export.Refusal!.Reason);
        Assert.Equal(callAfter ? 5L : 4L, export.Refusal.CommandNumber);
    }
}
