extern alias cli;

using System.Diagnostics;
using System.IO.Pipes;
using cli::SimService.Cli.Commands;
using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// The kernel run's child ends with the tool that started it (tester38 MEDIUM-1): a tool killed with SIGKILL left its
/// child running a 400-connection workload — 818 real-time threads and two namespaces — for ≈ 20 s more, outside the
/// machine lock, beside another session's timed run. The child's input is a pipe only the tool holds (<see cref="ParentWatch"/>).
/// </summary>
[Collection(RealKernelCollection.Name)]
public sealed class KernelChildTests
{
    /// <summary>
    /// A child a signal ended is said killed by it (.NET's ExitCode: 128 + its number), not "failed (exit 137): " with nothing
    /// after (tester39 LOW-2); one that exited on its own keeps its code and what it wrote.
    /// </summary>
    [Fact]
    public void AChildKilledByASignal_IsSaidKilledByIt()
    {
        using var child = Process.Start(new ProcessStartInfo("sleep", "60") { RedirectStandardError = true })!;
        child.Kill(); // SIGKILL
        child.WaitForExit();

        Assert.Equal("the run in the namespace was killed by SIGKILL (signal 9, exit 137)", KernelCommand.ChildFailure(child.ExitCode, child.StandardError.ReadToEnd()));
        Assert.Equal("the run in the namespace failed (exit 1): boom", KernelCommand.ChildFailure(1, "boom\n"));
        Assert.Equal("the run in the namespace failed (exit 3), writing nothing", KernelCommand.ChildFailure(3, ""));
    }

    [Fact]
    public void ParentWatch_CallsItsEndWhenTheWriterIsGone_NotBefore()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, writer.ClientSafePipeHandle);
        using var ended = new ManualResetEventSlim();

        int taken = 0;
        var thread = ParentWatch.Watch(reader, ended.Set, n => Interlocked.Add(ref taken, n));
        writer.Write([1, 2, 3]);
        writer.Flush();
        // The watch has read what was written and is back in its read: a watch that ended on data would be done by now.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref taken) == 3, TimeSpan.FromSeconds(30)));
        bool endedWhileWriterHeld = ended.IsSet;
        writer.Dispose();

        Assert.False(endedWhileWriterHeld);
        Assert.True(ended.Wait(TimeSpan.FromSeconds(30)), "the watch did not see the pipe's end");
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// The watch runs real-time above every thread of a run (review38a N-4): as an ordinary thread it waited behind a
    /// workload's real-time threads spinning on both cores before it could end them. Read from inside the watch thread.
    /// </summary>
    [KernelFact]
    public void ParentWatch_RunsRealTimeAboveTheRunsThreads()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, writer.ClientSafePipeHandle);
        int policy = -1, priority = -1;

        var thread = ParentWatch.Watch(reader, () => { }, _ => (policy, priority) = (Libc.sched_getscheduler(0), Libc.sched_getparam(0, out var p) == 0 ? p : -1));
        writer.Write([1]);
        writer.Dispose();

        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal((Libc.SCHED_FIFO, Libc.WatchPriority), (policy, priority));
        Assert.True(Libc.WatchPriority > Math.Max(Libc.RunnerPriority, 60));
    }

    /// <summary>
    /// The real child (<c>unshare --net -- simservice kernel --in-netns</c>) of a scenario that runs 100 s: once its hosts'
    /// namespaces exist, the pipe is closed as a killed tool's would be; the child ends within seconds, its namespaces
    /// removed. Before, it ran its scenario to the end (100 s, past this test's 60 s wait).
    /// </summary>
    [KernelFact]
    public void Child_WhoseToolIsGone_EndsAndRemovesItsNamespaces()
    {
        if (KernelAvailability.Missing is { } why) Assert.Fail($"CI=true but the real-kernel tests cannot run here: {why}");
        var scenario = ListenAndConnect("long", "100s");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "/usr/bin/dotnet";
        // The machine's kernel-run lock, as a tool's run takes it (review38a N-7): no other run's timing beside this one.
        using var turn = KernelRunLock.Machine?.Take(TextWriter.Null);
        var start = KernelCommand.ChildStart("/usr/bin/unshare", ["kernel", "--in-netns", "--", scenario], self: [host, Tool.Dll]);
        using var watcher = new FileSystemWatcher(Directory.CreateDirectory("/run/netns").FullName) { EnableRaisingEvents = true };
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (Namespaces(child).Length < 2 && clock.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited)
            watcher.WaitForChanged(WatcherChangeTypes.Created, TimeSpan.FromSeconds(1));
        Assert.True(Namespaces(child).Length == 2, $"the child made no namespaces for its two hosts: {(child.HasExited ? error.Result : "")}");

        child.StandardInput.Close();
        bool ended = child.WaitForExit(TimeSpan.FromSeconds(60));
        if (!ended)
        {
            child.Kill(entireProcessTree: true);
            foreach (var path in Namespaces(child)) Process.Start("ip", ["netns", "del", Path.GetFileName(path)])!.WaitForExit();
        }

        Assert.True(ended, "the child went on after its tool's pipe ended");
        Assert.Empty(Namespaces(child));
        Assert.Equal("", output.Result);
    }

    /// <summary>
    /// A namespace a killed child left (named after a process that no longer runs) is deleted by the next kernel run,
    /// under the machine's lock (review38a S-1: two were left on this machine for good).
    /// </summary>
    [KernelFact]
    public async Task KernelRun_DeletesTheNamespacesOfChildrenThatNoLongerRun()
    {
        if (KernelAvailability.Missing is { } why) Assert.Fail($"CI=true but the real-kernel tests cannot run here: {why}");
        using var ended = Process.Start("true")!;
        ended.WaitForExit();
        var leftover = $"simk{ended.Id}-1";
        Process.Start("ip", ["netns", "add", leftover])!.WaitForExit();
        Assert.True(File.Exists($"/run/netns/{leftover}"));

        var run = await Tool.RunAsync("kernel", Path.Combine(Tool.RepoRoot, "packetdrill", "rst-to-closed-port.pkt"));

        Assert.Equal(0, run.ExitCode);
        Assert.False(File.Exists($"/run/netns/{leftover}"), "the ended child's namespace is still there");
    }

    /// <summary>
    /// A killed run's child still ending (here <c>cat</c>, its namespace <c>simkPID-1</c>) holds a --machine-* run up until it
    /// has ended (review40c N-5: the run started beside it, and its machine-wide sockstat check could count the dying child's
    /// sockets); then that run goes on, and the ended child's namespace is removed.
    /// </summary>
    [KernelFact]
    public async Task MachineRun_WaitsForAKilledRunsChildToEnd()
    {
        if (KernelAvailability.Missing is { } why) Assert.Fail($"CI=true but the real-kernel tests cannot run here: {why}");
        var scenario = ListenAndConnect("short", "10ms");
        using var dying = Process.Start(new ProcessStartInfo("cat") { RedirectStandardInput = true, RedirectStandardOutput = true })!;
        var leftover = $"simk{dying.Id}-1";
        Process.Start("ip", ["netns", "add", leftover])!.WaitForExit();
        try
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
                { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { Tool.Dll, "kernel", "--machine-orphans", scenario }) start.ArgumentList.Add(arg);
            using var tool = Process.Start(start)!;
            var output = tool.StandardOutput.ReadToEndAsync();
            string? line;
            var said = new List<string>();
            while ((line = await tool.StandardError.ReadLineAsync()) is not null && !line.Contains("waiting for process", StringComparison.Ordinal))
                said.Add(line);
            Assert.Equal($"simservice: kernel: waiting for process {dying.Id}, the child of a kernel run that was killed, to end (its namespaces {leftover.TrimEnd('1')}*)", line);
            Assert.False(tool.HasExited, "the run did not wait");

            dying.StandardInput.Close();
            await tool.WaitForExitAsync();

            Assert.Equal(0, tool.ExitCode);
            Assert.StartsWith($"PASS     {scenario}", await output);
            Assert.False(File.Exists($"/run/netns/{leftover}"), "the ended child's namespace is still there");
        }
        finally
        {
            if (!dying.HasExited) dying.Kill();
            if (File.Exists($"/run/netns/{leftover}")) Process.Start("ip", ["netns", "del", leftover])!.WaitForExit();
        }
    }

    /// <summary>
    /// A namespace file <c>simkPID-1</c> made an hour before process PID started (a killed run's child ended, its PID
    /// reused by <c>cat</c>): not waited for, and the file is removed (review41a S-2: every --machine-* run waited 10 s).
    /// </summary>
    [KernelFact]
    public void MachineRun_APidReusedAfterItsNamespaceWasMade_NotWaitedForAndItsNamespaceRemoved()
    {
        if (KernelAvailability.Missing is { } why) Assert.Fail($"CI=true but the real-kernel tests cannot run here: {why}");
        using var other = Process.Start(new ProcessStartInfo("cat") { RedirectStandardInput = true, RedirectStandardOutput = true })!;
        var leftover = $"/run/netns/simk{other.Id}-1";
        File.WriteAllBytes(leftover, []);
        File.SetLastWriteTimeUtc(leftover, DateTime.UtcNow.AddHours(-1));
        try
        {
            var said = new StringWriter();
            KernelCommand.WaitForChildrenOfKilledRuns(said, CancellationToken.None);

            Assert.Equal($"simservice: kernel: process {other.Id} started after its namespaces simk{other.Id}-* were made: no child of a run (its pid reused), not waited for; they are removed{Environment.NewLine}", said.ToString());
            Assert.False(File.Exists(leftover), "the reused pid's namespace is still there");
            Assert.False(other.HasExited);
        }
        finally
        {
            other.Kill();
            File.Delete(leftover);
        }
    }

    private static string[] Namespaces(Process child) => Directory.GetFiles("/run/netns", $"simk{child.Id}-*");

    /// <summary>A scenario file of two hosts 1 ms apart: a listen, a connect, then the run to <paramref name="runUntil"/>.</summary>
    private static string ListenAndConnect(string name, string runUntil)
    {
        var scenario = Tool.TempFile(name + ".json");
        File.WriteAllText(scenario, $$"""
            {
              "name": "{{name}}",
              "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"], "delay": "1ms" } ],
              "steps": [
                { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
                { "at": "1ms", "host": "client", "call": "connect", "to": "server:80", "as": "c" }
              ],
              "runUntil": "{{runUntil}}"
            }
            """);
        return scenario;
    }
}
