using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SimService.Benchmarks;

/// <summary>
/// The same patterns on the real kernel, side by side: a small C program of this directory (kernel_churn.c for W1,
/// kernel_pool.c for W6) compiled with cc and run in a network namespace this benchmark creates and removes for each
/// run (loopback only, the workload's sysctls set in it). Needs root, cc and iproute2; otherwise it says why and
/// reports nothing.
/// </summary>
static partial class Kernel
{
    /// <summary>The kernel churn's lifecycles per second of wall time and per CPU-second of its process (W1's pattern).</summary>
    public static (double Wall, double Cpu)? Rates(long connections, out string note)
    {
        var output = RunInNamespace("kernel_churn", [connections.ToString(CultureInfo.InvariantCulture), "1024", "1024"],
            ["net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65535"], out note);
        if (output is null) return null;
        var f = Fields(output, "kernel");
        if (f is null || !f.ContainsKey("lifecycles_per_s")) { note = "kernel churn failed: " + output.Trim(); return null; }
        return (Number(f, "lifecycles_per_s"), Number(f, "lifecycles_per_cpu_s"));
    }

    /// <summary>One kernel pool's phases (W6's pattern, kernel_pool.c), per second of wall time and per CPU-second of its process.</summary>
    public sealed record PoolRates(double OpenPerSec, double ClosePerSec, double OpenPerCpuSec, double ClosePerCpuSec, bool Parked, string Held);

    /// <summary>
    /// W6's pool of <paramref name="n"/> on the real kernel: W6's sysctls (the server's somaxconn=1000000, the clients'
    /// ip_local_port_range 1025–65535), the descriptors parked in unix sockets (kernel_pool.c says why and what it costs).
    /// </summary>
    public static PoolRates? Pool(int n, out string note)
    {
        var output = RunInNamespace("kernel_pool", [n.ToString(CultureInfo.InvariantCulture), "1"],
            ["net.core.somaxconn=1000000", "net.ipv4.ip_local_port_range=1025 65535"], out note);
        if (output is null) return null;
        var f = Fields(output, "kernel_pool");
        if (f is null || !f.ContainsKey("open_per_cpu_s")) { note = "kernel pool failed: " + output.Trim(); return null; }
        return new PoolRates(Number(f, "open_per_s"), Number(f, "close_per_s"), Number(f, "open_per_cpu_s"), Number(f, "close_per_cpu_s"),
            f.GetValueOrDefault("parked") == "1", f.GetValueOrDefault("held") ?? "");
    }

    /// <summary>
    /// The key=value fields of the output's line that starts with <paramref name="name"/> and a space (a value may be
    /// double-quoted, its quotes dropped), or null when no line does.
    /// </summary>
    public static Dictionary<string, string>? Fields(string output, string name)
    {
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        if (line is null) return null;
        return Field().Matches(line).ToDictionary(m => m.Groups[1].Value,
            m => m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value, StringComparer.Ordinal);
    }

    static double Number(Dictionary<string, string> f, string key) => double.Parse(f[key], CultureInfo.InvariantCulture);

    /// <summary>
    /// Compiles <paramref name="program"/>.c (once per process) and runs it with <paramref name="args"/> in a fresh network
    /// namespace with its loopback up and each "key=value" of <paramref name="sysctls"/> set; removes the namespace after.
    /// Returns its output, or null and why in <paramref name="note"/>.
    /// </summary>
    static string? RunInNamespace(string program, string[] args, string[] sysctls, out string note)
    {
        note = "";
        if (Environment.UserName != "root" && !string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal)
            && Run("id", "-u").Output.Trim() != "0")
        {
            note = "not root: kernel side skipped";
            return null;
        }
        var exe = Path.Combine(Built.FullName, program);
        if (!File.Exists(exe))
        {
            var cc = Run("cc", "-O2", "-o", exe, Path.Combine(AppContext.BaseDirectory, program + ".c"));
            if (cc.Code != 0) { note = "cc failed: " + cc.Output.Trim(); return null; }
        }
        var ns = $"simbench-{Environment.ProcessId}";
        try
        {
            if (Run("ip", "netns", "add", ns).Code != 0) { note = "ip netns add failed"; return null; }
            Run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            foreach (var s in sysctls) Run("ip", "netns", "exec", ns, "sysctl", "-qw", s);
            var run = Run(["ip", "netns", "exec", ns, exe, .. args]);
            if (run.Code != 0) { note = $"{program} failed: " + run.Output.Trim(); return null; }
            return run.Output;
        }
        finally
        {
            Run("ip", "netns", "del", ns);
        }
    }

    /// <summary>Where the programs are compiled: a temporary directory of this process, removed when it exits.</summary>
    static DirectoryInfo Built => built ??= MakeBuilt();

    static DirectoryInfo? built;

    static DirectoryInfo MakeBuilt()
    {
        var dir = Directory.CreateTempSubdirectory("simbench-");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Delete(recursive: true);
        return dir;
    }

    static (int Code, string Output) Run(params string[] command)
    {
        try
        {
            var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in command.Skip(1)) start.ArgumentList.Add(a);
            using var p = Process.Start(start)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd() + stderr.Result;
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    /// <summary>key=value or key="value with spaces".</summary>
    [GeneratedRegex(@"(\w+)=(?:""([^""]*)""|(\S+))")]
    private static partial Regex Field();
}
