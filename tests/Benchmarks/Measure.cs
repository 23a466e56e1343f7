using System.Diagnostics;

namespace SimService.Benchmarks;

/// <summary>Wall and CPU time of a section, and the process's peak resident set (VmHWM).</summary>
sealed class Measure
{
    readonly Stopwatch _wall = Stopwatch.StartNew();
    readonly TimeSpan _cpu0 = Process.GetCurrentProcess().TotalProcessorTime;

    public double WallSeconds => _wall.Elapsed.TotalSeconds;
    public double CpuSeconds => (Process.GetCurrentProcess().TotalProcessorTime - _cpu0).TotalSeconds;

    public static long PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return -1;
    }

    public static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
