extern alias cli;

using cli::SimService.Cli.Commands;
using cli::SimService.Cli.Kernel;
using SimService.Domain.Commands;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// The kernel runner takes a scenario call for a blocking one — and goes on to the next step — only while its worker
/// sleeps in a system call that may be the call: /proc/self/task/TID/syscall's number, not futex(2) (202 on x86-64,
/// the .NET runtime's own waits), nor "running" or -1 (outside a system call). Timers seed 59, case 0: the worker of a
/// setsockopt(SO_LINGER) seen asleep in a futex let the close() of the same instant run first (EBADF in 4 of 5 runs).
/// </summary>
public sealed class ScenarioCallsTests
{
    [Theory]
    [InlineData("288 0x3 0x0 0x0 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503\n", true)] // accept4
    [InlineData("42 0x3 0x7ffc1 0x10 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503", true)] // connect
    [InlineData("3 0x4 0x0 0x0 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503", true)] // close, lingering
    [InlineData("202 0x7f1 0x80 0x0 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503", false)] // futex
    [InlineData("-1 0x7ffc22359050 0x7f47a946c503", false)]
    [InlineData("running", false)]
    [InlineData("", false)]
    public void InCall_SocketCallYesRuntimeWaitNo(string syscall, bool inCall) => Assert.Equal(inCall, ScenarioCalls.InCall(syscall));

    /// <summary>
    /// struct tcp_info's 6.7 RTO statistics (tcpi_total_rto and tcpi_total_rto_recoveries, __u16 at 240 and 242, then
    /// tcpi_total_rto_time, __u32 at 244) reach a scenario's TCP_INFO value on the kernel as the engine writes them: before
    /// session 33 the layout stopped at tcpi_rcv_wnd and a total_rto check failed on the kernel for want of the field.
    /// </summary>
    [Fact]
    public void TcpInfoJson_ReadsTheRtoStatisticsAfterRehash()
    {
        var info = new byte[256];
        info[0] = 4; // TCP_FIN_WAIT1
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(100), 4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(236), 7);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(info.AsSpan(240), 3);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(info.AsSpan(242), 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(244), 1362);

        string json = ScenarioCalls.TcpInfoJson(info);

        Assert.StartsWith("{\"state\":\"FIN-WAIT-1\",", json);
        Assert.Contains("\"total_retrans\":4,", json);
        Assert.EndsWith("\"rcv_wnd\":0,\"rehash\":7,\"total_rto\":3,\"total_rto_recoveries\":1,\"total_rto_time\":1362}", json);
    }

    /// <summary>
    /// fdget() is per process: a call through another process's (or host's) alias goes to a number no process has open
    /// (EBADF, poll's POLLNVAL), as the engine fails it. Before session 37 the runner used the real descriptor, open in its
    /// one real process: a close() from process "child" on process "parent"'s connection returned 0 and sent the FIN on the
    /// kernel, EBADF and nothing sent on the engine.
    /// </summary>
    [Fact]
    public void FdOf_AnotherProcesssOrHostsAlias_IsNotOpen()
    {
        var parent = new AliasEntry("client", "parent") { KernelFd = 7 };

        Assert.Equal(7, ScenarioCalls.FdOf(parent, "client", "parent"));
        Assert.Equal(KernelSyscalls.NotOpen, ScenarioCalls.FdOf(parent, "client", "child"));
        Assert.Equal(KernelSyscalls.NotOpen, ScenarioCalls.FdOf(parent, "server", "parent"));
        Assert.Equal(KernelSyscalls.NotOpen, ScenarioCalls.FdOf(new AliasEntry("client", "parent") { KernelFd = 7, Closed = true }, "client", "parent"));
        Assert.Equal(-1, ScenarioCalls.FdOf(null, "client", "parent"));
    }

    /// <summary>
    /// An alias's remote end: getpeername()'s peer, else the call's target, else the one it had — inet_getname() refuses
    /// the peer of a socket in CLOSE (ENOTCONN), and a setsockopt on a descriptor tcp_time_wait() left in CLOSE took the
    /// tuple's remote to 0:0, so after close() the alias named no TIME-WAIT entry (observe-24111-16). connect(AF_UNSPEC)
    /// gives the target 0:0: tcp_disconnect() clears the peer.
    /// </summary>
    [Fact]
    public void RemoteOf_NoPeerOnACloseSocket_KeepsTheKnownRemoteUnlessDisconnected()
    {
        (uint, ushort, uint, ushort) known = (0x0a000001, 40000, 0x0a000002, 80);

        Assert.Equal((0x0a000002u, (ushort)80), ScenarioCalls.RemoteOf(null, null, known));
        Assert.Equal((0u, (ushort)0), ScenarioCalls.RemoteOf(null, (0u, (ushort)0), known));
        Assert.Equal((0x0a000003u, (ushort)8080), ScenarioCalls.RemoteOf((0x0a000003u, (ushort)8080), (0u, (ushort)0), known));
        Assert.Equal((0x0a000002u, (ushort)443), ScenarioCalls.RemoteOf(null, (0x0a000002u, (ushort)443), null));
        Assert.Equal((0u, (ushort)0), ScenarioCalls.RemoteOf(null, null, null));
    }

    /// <summary>
    /// A worker whose setns() into the host's namespace fails makes no call — it is still in the namespace of its call
    /// before, or the tool's own — and the call fails with why: the runner reports it as the step's error. /dev/null's
    /// descriptor names no namespace, so setns() refuses it (EINVAL); before, the socket was made where the worker was.
    /// </summary>
    [Fact]
    public void Start_SetnsIntoTheHostFails_NoCallMadeAndTheCallFailsWithWhy()
    {
        int devNull = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC);
        Assert.True(devNull >= 0);
        using var host = HostNamespace.OfDescriptor("a", "not-a-netns", devNull);
        var doc = ScenarioParser.Parse("""
            { "name": "setns", "hosts": { "a": { "address": "10.0.0.1" } }, "steps": [ { "host": "a", "call": "socket", "as": "s" } ] }
            """).Document!;
        var calls = new ScenarioCalls(new Dictionary<string, HostNamespace> { ["a"] = host }, new Dictionary<string, uint> { ["a"] = 0x0a000001 }, EngineRules.Current);
        calls.Begin(Libc.MonotonicNs());

        var (call, _) = calls.Start(calls.Prepare((CallStep)doc.Steps[0], Libc.MonotonicNs()));

        Assert.True(call.IsFaulted);
        Assert.Equal("setns into not-a-netns failed (errno 22)", call.Exception!.InnerException!.Message);
        Assert.Null(calls.Alias("s"));
        Assert.Empty(calls.DescriptorsOf("a", ((CallStep)doc.Steps[0]).Process));
    }

    /// <summary>
    /// A long run keeps neither a worker thread nor a table entry per call: 1,000 socket() and close() pairs in this
    /// process's own network namespace, each made on a pooled worker, leave no call tracked (the table of calls a kill may
    /// interrupt held one entry per call made until session 33: 2,000 here) and make at most the pool's first threads.
    /// Needs root (setns()).
    /// </summary>
    [KernelFact]
    public void Start_ALongRunOfCalls_NoCallTrackedOnceReturnedAndTheWorkersReused()
    {
        int own = Libc.open("/proc/self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC);
        Assert.True(own >= 0);
        using var host = HostNamespace.OfDescriptor("a", "own", own);
        var steps = string.Join(",", Enumerable.Range(0, 1000).Select(i =>
            $$"""{ "host": "a", "call": "socket", "as": "s{{i}}" }, { "host": "a", "call": "close", "socket": "s{{i}}" }"""));
        var doc = ScenarioParser.Parse($$"""{ "name": "long", "hosts": { "a": { "address": "10.0.0.1" } }, "steps": [ {{steps}} ] }""").Document!;
        var calls = new ScenarioCalls(new Dictionary<string, HostNamespace> { ["a"] = host }, new Dictionary<string, uint> { ["a"] = 0x0a000001 }, EngineRules.Current);
        calls.Begin(Libc.MonotonicNs());
        int madeBefore = ScenarioCalls.WorkersMade;

        var results = new List<ScenarioCallOutcome>();
        foreach (var step in doc.Steps.Cast<CallStep>())
        {
            var (call, _) = calls.Start(calls.Prepare(step, Libc.MonotonicNs()));
            results.Add(call.GetAwaiter().GetResult());
        }

        Assert.All(results, r => Assert.Null(r.Errno));
        Assert.Equal(0, calls.CallsInFlight);
        Assert.True(ScenarioCalls.WorkersMade - madeBefore <= 1, $"{ScenarioCalls.WorkersMade - madeBefore} workers made for 2,000 calls made one at a time");
        Assert.Empty(calls.DescriptorsOf("a", ((CallStep)doc.Steps[0]).Process));
    }

    /// <summary>
    /// The warm-up run before each scenario is a valid scenario: an invalid one is not run, and nothing is compiled
    /// before the real run's steps (its first connect() with a "bind" said "reuseAddr", which the format spells "reuseaddr").
    /// </summary>
    [Fact]
    public void WarmUpScenario_IsValid()
    {
        var parsed = ScenarioParser.Parse(KernelScenarioRunner.WarmUpScenario);

        Assert.Empty(parsed.Errors);
        Assert.NotNull(parsed.Document);
    }

    /// <summary>
    /// The warm-up draws a link's loss both ways — from the generator, then by segment — with segments still sent after
    /// each change, and loses none of them: otherwise the case's first segment on a lossy link compiled the draw on the
    /// link emulator's thread, ~9 ms in which it forwarded nothing (fuzz cases loss-27102-3 and loss-27112-1).
    /// </summary>
    [Fact]
    public void WarmUpScenario_DrawsLossFromTheGeneratorThenBySegmentAndLosesNothing()
    {
        var document = ScenarioParser.Parse(KernelScenarioRunner.WarmUpScenario).Document!;
        var links = document.Steps.OfType<LinkStep>().ToList();
        var generator = Assert.Single(links, l => l.Loss is > 0 and < 1);
        var bySegment = Assert.Single(links, l => l.LossBySegment == true);
        var outcome = RunOutcome.OfEngine(document);

        Assert.True(document.Steps.IndexOf(generator) < document.Steps.IndexOf(bySegment));
        Assert.Contains(outcome.Packets, p => p.AtNs >= generator.At.Ns && p.AtNs < bySegment.At.Ns);
        Assert.Contains(outcome.Packets, p => p.AtNs >= bySegment.At.Ns);
        Assert.DoesNotContain(outcome.Packets, p => p.Dropped);
    }

    /// <summary>
    /// The kernel run's child has the .NET runtime's tiered compilation off: with it on, the runtime compiled 470 methods
    /// again while linger-zero-rst's steps ran, and the run's real-time threads waited for it (a send seen done 1.1 ms late).
    /// </summary>
    [Fact]
    public void ChildStart_UnshareTheToolWithTieredCompilationOff()
    {
        var start = KernelCommand.ChildStart("/usr/bin/unshare", ["kernel", "--in-netns", "--", "a.json"]);

        Assert.Equal("/usr/bin/unshare", start.FileName);
        Assert.Equal(["--net", "--"], start.ArgumentList.Take(2));
        Assert.Equal(["kernel", "--in-netns", "--", "a.json"], start.ArgumentList.TakeLast(4));
        Assert.Equal("0", start.Environment["DOTNET_TieredCompilation"]);
        // Its input a pipe this process holds: the child ends with the tool (tester38 MEDIUM-1, KernelChildTests).
        Assert.True(start.RedirectStandardInput);
        Assert.Equal("1", start.Environment[ParentWatch.Variable]);
    }
}
