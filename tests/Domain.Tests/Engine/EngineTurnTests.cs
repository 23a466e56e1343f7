using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// <see cref="Simulation.Turn"/>: the engine asks its turn to pass between events only while someone waits for it, and a
/// run that passed its turn is the run that did not (passing changes nothing of the simulation).
/// </summary>
public class EngineTurnTests
{
    /// <summary>A turn that counts the engine's passes; its scheduler's waiting is a flag set by the test.</summary>
    private sealed class CountingTurn : EngineTurn
    {
        public int Passes;

        public CountingTurn(bool wanted) => SetWanted(wanted);

        public override void Pass() => Passes++;
    }

    private const string Script = PacketdrillRunnerTests.Handshake + "   +.1 close(3) = 0\n   +0 > F. 1:1(0) ack 1\n";

    private static PacketdrillRunResult Run(EngineTurn? turn) =>
        PacketdrillRunner.Run(Script, new PacketdrillOptions { ScriptName = "turn.pkt", Turn = turn });

    [Fact]
    public void Run_NobodyWaits_TurnNeverPassed()
    {
        var turn = new CountingTurn(wanted: false);

        var result = Run(turn);

        Assert.True(result.Passed, result.Output);
        Assert.Equal(0, turn.Passes);
    }

    [Fact]
    public void Run_SomeoneWaits_PassedBetweenEveryTwoEventsAndTheJournalUnchanged()
    {
        var turn = new CountingTurn(wanted: true);
        var alone = Run(turn: null);

        var passing = Run(turn);

        Assert.True(passing.Passed, passing.Output);
        Assert.Equal(passing.Simulation!.EventsProcessed, turn.Passes); // once before each event the engine processed
        Assert.Equal(alone.Simulation!.Journal, passing.Simulation.Journal);
    }
}
