using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SimService.Benchmarks;

/// <summary>
/// The same churn on the real kernel, side by side: kernel_churn.c compiled with cc, run in a
/// network namespace this benchmark creates and removes (loopback only, tcp_tw_reuse=1, ports
/// 1024–65535). Needs root, cc and iproute2; otherwise it says why and reports nothing.
/// </summary>
static partial class Kernel
{
    /// <summary>The kernel churn's lifecycles per second of wall time and per CPU-second of its process.</summary>
    public static (double Wall, double Cpu)? Rates(long connections, out string note)
    {
        note = "";
        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal)
            && Run("id", "-u").Output.Trim() != "0")
        {
            note = "not root: kernel side skipped";
            return null;
        }
        var dir = Directory.CreateTempSubdirectory("simbench-");
        var ns = $"simbench-{Environment.ProcessId}";
        try
        {
            var exe = Path.Combine(dir.FullName, "kernel_churn");
            var source = Path.Combine(AppContext.BaseDirectory, "kernel_churn.c");
            var cc = Run("cc", $"-O2 -o {exe} {source}");
            if (cc.Code != 0) { note = "cc failed: " + cc.Output.Trim(); return null; }
            if (Run("ip", $"netns add {ns}").Code != 0) { note = "ip netns add failed"; return null; }
            Run("ip", $"netns exec {ns} ip link set lo up");
            Run("ip", $"netns exec {ns} sysctl -qw net.ipv4.tcp_tw_reuse=1");
            Run("ip", $"netns exec {ns} sysctl -qw net.ipv4.ip_local_port_range=\"1024 65535\"");
            var run = Run("ip", $"netns exec {ns} {exe} {connections} 1024 1024");
            var m = Rate().Match(run.Output);
            if (run.Code != 0 || !m.Success) { note = "kernel churn failed: " + run.Output.Trim(); return null; }
            return (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        }
        finally
        {
            Run("ip", $"netns del {ns}");
            dir.Delete(recursive: true);
        }
    }

    static (int Code, string Output) Run(string file, string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    [GeneratedRegex(@"lifecycles_per_s=([0-9.]+) .*lifecycles_per_cpu_s=([0-9.]+)")]
    private static partial Regex Rate();
}
