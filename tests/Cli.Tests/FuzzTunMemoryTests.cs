extern alias cli;

using cli::SimService.Cli.Fuzz;
using cli::SimService.Cli.Kernel;

namespace SimService.Cli.Tests;

/// <summary>
/// The TUNMEM verdict (<c>FuzzRun.TunMemory</c>): a difference in what a full receive buffer took, on a host that advertised a
/// zero window and whose kernel charged the TUN device's skbs (pruned, or coalesced fewer than the engine), is the
/// environment's and is named with its evidence; without the zero window, without the TUN's charge, or when only times
/// or the other host's windows differ, it is not.
/// </summary>
public sealed class FuzzTunMemoryTests
{
    static readonly string[] Lines =
    [
        "counters server (engine → kernel): Tcp.InSegs 180 → 184, TcpExt.TCPRcvCoalesce 127 → 0",
        "counters server the engine does not model (kernel deltas): other: TcpExt.PruneCalled 5",
    ];

    static FuzzRun Run(IReadOnlyList<string> lines, params string[] keys) =>
        new FuzzRun(lines, [], keys.ToHashSet(StringComparer.Ordinal), 0, null) { ZeroWindows = [new("server", "kernel", 743_289_000)] };

    [Fact]
    public void Judge_FullBufferOnATunChargedHostAndBytesDiffer_IsTunMemoryWithItsEvidence()
    {
        var run = Run(Lines, "call.result recv s1", "call.result send c1");

        Assert.Equal("server: zero window at 743.3 ms (kernel); TcpExt.TCPRcvCoalesce 127 → 0; PruneCalled 5", run.TunMemory(run.Keys));
        Assert.NotNull(run.TunMemory(new HashSet<string>(StringComparer.Ordinal) { "packets server:80 > client:~1: . win" }));
        Assert.NotNull(run.TunMemory(new HashSet<string>(StringComparer.Ordinal) { "packets server:80 > client:~1: P. seq, win" }));
    }

    [Fact]
    public void Judge_NoZeroWindowOrNoTunChargeOrOnlyTimes_IsNotTunMemory()
    {
        var run = Run(Lines, "call.result recv s1");

        Assert.Null((run with { ZeroWindows = [] }).TunMemory(run.Keys));
        Assert.Null(Run(["counters server (engine → kernel): TcpExt.TCPRcvCoalesce 3 → 5"], "call.result recv s1").TunMemory(run.Keys));
        Assert.Null(run.TunMemory(new HashSet<string>(StringComparer.Ordinal) { "packets client:~1 > server:80: . time", "packets server:80 > client:~1: kernel only ." }));
        Assert.Null(run.TunMemory(new HashSet<string>(StringComparer.Ordinal) { "packets client:~1 > server:80: . win" }));
        Assert.Null((run with { ZeroWindows = [new("server", "engine", 743_289_000)] }).TunMemory(run.Keys));
    }

    [Fact]
    public void Judge_BytesDifferBesideAStateOrAOneSidedSegment_IsNotTunMemory()
    {
        var run = Run(Lines, "call.result recv s1");

        Assert.Null(run.TunMemory(new HashSet<string>(StringComparer.Ordinal) { "call.result recv s1", "state s1" }));
        Assert.Null(run.TunMemory(new HashSet<string>(StringComparer.Ordinal) { "call.result recv s1", "packets server:80 > client:~1: kernel only R." }));
        Assert.NotNull(run.TunMemory(new HashSet<string>(StringComparer.Ordinal) { "call.result recv s1", "packets server:80 > client:~1: P. seq, win", "counters server (engine → kernel): Tcp.InSegs" }));
    }

    [Fact]
    public void ZeroWindowsOf_FirstZeroWindowAckPerHostAndSide_NotSynOrRst()
    {
        OutcomePacket Packet(long ms, string from, string flags, int win) => new(ms * 1_000_000, from, from == "server" ? "client" : "server", 80, 40000, flags, 1, 1, win, 0, "", false);
        var engine = new RunOutcome([Packet(5, "server", "R.", 0), Packet(7, "server", ".", 0), Packet(9, "server", ".", 0), Packet(8, "client", ".", 3)], [], new Dictionary<string, Dictionary<string, long>>());
        var kernel = new RunOutcome([Packet(6, "client", "S.", 0), Packet(10, "server", ".", 0)], [], new Dictionary<string, Dictionary<string, long>>());

        Assert.Equal([new FuzzRun.ZeroWindow("server", "engine", 7_000_000), new FuzzRun.ZeroWindow("server", "kernel", 10_000_000)], FuzzRun.ZeroWindowsOf(engine, kernel));
    }
}
