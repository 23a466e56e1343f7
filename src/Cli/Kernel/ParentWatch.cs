namespace SimService.Cli.Kernel;

/// <summary>
/// The kernel run's child tied to the tool that started it. The tool holds the write end of the child's standard input
/// and never writes; when the tool ends — even by SIGKILL, which runs no handler of its own — the pipe's last writer is
/// gone and the child reads its end. The child then removes its namespaces and ends at once, so nothing it runs (a
/// workload's hundreds of real-time threads, a script's TUN device) goes on outside the machine lock the tool held
/// (tester38 MEDIUM-1: a child lived ≈ 20 s after its tool was killed, beside another session's timed run).
/// </summary>
public static class ParentWatch
{
    /// <summary>Set in the child's environment by the tool that starts it with the pipe as its input.</summary>
    public const string Variable = "SIMSERVICE_KERNEL_PARENT_PIPE";

    /// <summary>Whether this process was started with the pipe (a child run by hand has a terminal or nothing there).</summary>
    public static bool Started => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>
    /// Reads <paramref name="input"/> on a background thread until its end, then calls <paramref name="onEnd"/>;
    /// <paramref name="read"/> (tests) is told how many bytes each read took. The thread is real-time, at
    /// <see cref="Libc.WatchPriority"/>: an ordinary thread waited behind a run's real-time threads — a workload's hundreds
    /// spinning on both cores leave others only the kernel's 5 % (sched_rt_runtime_us) — before it could end them (review38a N-4).
    /// </summary>
    public static Thread Watch(Stream input, Action onEnd, Action<int>? read = null)
    {
        var thread = new Thread(() =>
        {
            Libc.RealTime(Libc.WatchPriority);
            var buffer = new byte[64];
            try
            {
                for (int n; (n = input.Read(buffer)) > 0;) read?.Invoke(n);
            }
            catch (IOException)
            {
            }
            onEnd();
        }) { IsBackground = true, Name = "parent watch" };
        thread.Start();
        return thread;
    }
}
