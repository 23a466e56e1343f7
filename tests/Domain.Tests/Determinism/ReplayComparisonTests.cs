using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Determinism;

/// <summary><see cref="Replay.Compare"/>: a stored journal against a fresh run of the same inputs.</summary>
public class ReplayComparisonTests
{
    static readonly SimCommand[] Log =
    [
        new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
        new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
        new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(10), 0),
        new OpenConnectionCommand("client", "server", 80, "app", "app", null, false, 128, 1_000_000, SimDuration.FromSeconds(60)),
    ];

    static Simulation Stored()
    {
        var sim = new Simulation(KernelProfile.Linux6, 3);
        foreach (var c in Log) CommandApplier.Apply(sim, c);
        return sim;
    }

    [Fact]
    public void StoredRun_ReplayedFresh_Identical()
    {
        var comparison = Replay.Compare(new Simulation(KernelProfile.Linux6, 3), Log, Stored().Journal);

        Assert.True(comparison.Identical);
        Assert.Null(comparison.FirstDifference);
    }

    /// <summary>
    /// A journal stored before session 41 has no SegmentSent.OptionBytes: an EOL-padded inject's segment rebuilt with them is
    /// the same event (review39a N-5), while a stored one that has them must match.
    /// </summary>
    [Fact]
    public void StoredBeforeOptionBytes_RebuiltWithThem_Identical()
    {
        var rebuilt = InjectsWithOptionBytes(4);
        var old = rebuilt.Journal.Select(e => e is SegmentSent { OptionBytes: not null } s ? s with { OptionBytes = null } : e).ToList();
        var other = rebuilt.Journal.Select(e => e is SegmentSent { OptionBytes: not null } s ? s with { OptionBytes = 8 } : e).ToList();

        Assert.Contains(rebuilt.Journal, e => e is SegmentSent { OptionBytes: 4 });
        Assert.Null(Replay.FirstDifference(old, rebuilt.Journal));
        Assert.NotNull(Replay.FirstDifference(other, rebuilt.Journal));
    }

    /// <summary>
    /// A journal that holds an OptionBytes anywhere was stored by a build that writes them: a segment stored without them
    /// and rebuilt with them is a difference (review41a N-2).
    /// </summary>
    [Fact]
    public void StoredWithOptionBytes_OneRebuiltWithThemWhereStoredHadNone_Differs()
    {
        var rebuilt = InjectsWithOptionBytes(4, 8);
        int second = rebuilt.Journal.ToList().FindIndex(e => e is SegmentSent { OptionBytes: 8 });
        var stored = rebuilt.Journal.Select((e, i) => i == second ? ((SegmentSent)e) with { OptionBytes = null } : e).ToList();

        Assert.Contains(stored, e => e is SegmentSent { OptionBytes: 4 });
        Assert.Equal(second, Replay.FirstDifference(stored, rebuilt.Journal)?.Index);
    }

    /// <summary>A scripted peer's ACKs of 100 bytes to a Linux server, one a port from 40000 up, with these option bytes.</summary>
    static Simulation InjectsWithOptionBytes(params int[] optionBytes)
    {
        var rebuilt = new Simulation(KernelProfile.Linux6, 3);
        SimCommand[] hosts =
        [
            new AddHostCommand("peer", "10.0.0.1", HostKind.Scripted, []),
            new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
            new AddLinkCommand("peer", "server", SimDuration.FromMilliseconds(10), 0),
        ];
        var injects = optionBytes.Select((bytes, i) =>
            (SimCommand)new InjectCommand("peer", (ushort)(40000 + i), "server", 80, TcpFlags.Ack, 1, 1, 2000, 100, OptionBytes: bytes));
        foreach (var c in hosts.Concat(injects)) CommandApplier.Apply(rebuilt, c);
        return rebuilt;
    }

    [Fact]
    public void StoredRun_OneEventAltered_FirstDifferenceNamesIt()
    {
        var stored = Stored().Journal.ToList();
        int index = stored.FindIndex(e => e is StateChanged);
        stored[index] = ((StateChanged)stored[index]) with { Cause = "tampered" };

        var comparison = Replay.Compare(new Simulation(KernelProfile.Linux6, 3), Log, stored);

        Assert.False(comparison.Identical);
        Assert.Equal(index, comparison.FirstDifference!.Index);
        Assert.Equal("tampered", ((StateChanged)comparison.FirstDifference.Expected!).Cause);
    }

    [Fact]
    public void StoredRun_OtherSeed_DiffersAndJournalEndsAreCompared()
    {
        var comparison = Replay.Compare(new Simulation(KernelProfile.Linux6, 4), Log, Stored().Journal.Take(3).ToList());

        Assert.False(comparison.Identical);
        Assert.NotNull(comparison.FirstDifference);
    }

    [Fact]
    public void StoredRun_CommandRefusedOnReplay_NamesItsPosition()
    {
        SimCommand[] log = [.. Log, new AddHostCommand("client", "10.0.0.9", HostKind.Linux, [])];

        var comparison = Replay.Compare(new Simulation(KernelProfile.Linux6, 3), log, Stored().Journal);

        Assert.Equal(4, comparison.RefusedCommand);
        Assert.False(comparison.Identical);
    }
}
