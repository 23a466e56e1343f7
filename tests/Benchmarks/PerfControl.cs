namespace SimService.Benchmarks;

/// <summary>
/// `SIMBENCH_PERFCTL=CTL,ACK` (two FIFOs): `perf record -D -1 --control=fifo:CTL,ACK` samples only W6's timed open phases —
/// the benchmark writes "enable" before each pool's open loop and "disable" after it, and waits for perf's ack each time, so
/// neither the pool's set-up, its forced collection nor the close phase is in the profile. For profiling only.
/// </summary>
sealed class PerfControl : IDisposable
{
    readonly StreamWriter _ctl;
    readonly StreamReader _ack;

    PerfControl(string ctl, string ack)
    {
        _ctl = new StreamWriter(new FileStream(ctl, FileMode.Open, FileAccess.Write)) { AutoFlush = true };
        _ack = new StreamReader(new FileStream(ack, FileMode.Open, FileAccess.Read));
    }

    /// <summary>The FIFOs named by SIMBENCH_PERFCTL, or null when it is unset.</summary>
    public static PerfControl? FromEnvironment() =>
        Environment.GetEnvironmentVariable("SIMBENCH_PERFCTL") is { Length: > 0 } v && v.Split(',') is [var ctl, var ack]
            ? new PerfControl(ctl, ack) : null;

    public void Enable() => Command("enable");

    public void Disable() => Command("disable");

    void Command(string c)
    {
        _ctl.WriteLine(c);
        _ack.ReadLine();
    }

    public void Dispose()
    {
        _ctl.Dispose();
        _ack.Dispose();
    }
}
