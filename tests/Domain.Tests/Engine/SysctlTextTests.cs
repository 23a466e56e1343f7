using System.Text.Json;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tests.Scenarios;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// How a written sysctl's text is read (kernel/sysctl.c: proc_get_long(), strtoul_lenient() in base 0, the handlers'
/// conversions): hex and octal, white space, a sign, trailing text, vectors written in part or past their length, and
/// the unsigned long sysctls up to 2^64 − 1.
/// </summary>
public class SysctlTextTests
{
    /// <summary>
    /// Every write of SysctlWrites.6.18.44.tsv — 2,698 texts written (the last 300, for the six sysctls session 38 added, on 7 Dec 2026) to the engine's sysctls in a fresh namespace of
    /// Linux 6.18.44 (tcp_mem on the host, put back at once), each taken or refused and read back — gives the same
    /// answer and the same read-back on the engine. With the old reader 909 of them differed.
    /// </summary>
    [Fact]
    public void EveryObservedWrite_TakenOrRefusedAndReadBackAsLinux6()
    {
        var differences = new List<string>();
        foreach (var line in File.ReadLines(Path.Combine(ExampleScenarios.ProjectFolder, "..", "tests", "Domain.Tests", "Engine", "SysctlWrites.6.18.44.tsv")))
        {
            if (line.StartsWith('#')) continue;
            var f = line.Split('\t');
            var (name, text, result, readBack, before) = (f[0], JsonSerializer.Deserialize<string>(f[1])!, f[2], f[3], f[4]);
            var table = new SysctlTable(KernelProfile.Linux6);
            if (before != "") Assert.True(table.TrySet(name, before, out _));
            bool taken = table.TrySet(name, text, out var error);
            var got = taken ? string.Join(' ', table.Format(name).Split('\t')) : "refused";
            if (taken != (result == "ok") || (taken && got != readBack))
                differences.Add($"{name} {f[1]}: kernel {result} {readBack}, engine {got} {error}");
        }
        Assert.True(differences.Count == 0, $"{differences.Count} differ:\n{string.Join("\n", differences)}");
    }

    /// <summary>
    /// A sysctl the engine takes at the kernel's default only (SysctlCatalog's DefaultOnly: ECN, Fast Open, TSQ, MTU
    /// probing, pacing ratios …): the default, read as the kernel reads it ("0x2", "02", " 2"), is taken and changes
    /// nothing; another value the kernel takes is refused naming the sysctl, the value that runs and what is not
    /// modelled; a value the kernel refuses keeps the kernel's reason. Defaults of Linux 6.18.44 in a fresh namespace.
    /// </summary>
    [Theory]
    [InlineData("net.ipv4.tcp_ecn_option", "0x2", null)]
    [InlineData("net.ipv4.tcp_ecn_option", "1", "net.ipv4.tcp_ecn_option: 1 is not simulated, only the kernel's default 2 runs: a different value changes the AccECN option")]
    [InlineData("net.ipv4.tcp_ecn", "3", "net.ipv4.tcp_ecn: '3' is outside 0..2")]
    [InlineData("net.ipv4.tcp_mtu_probing", "00", null)]
    [InlineData("net.ipv4.tcp_limit_output_bytes", "4194304", null)]
    [InlineData("net.ipv4.tcp_limit_output_bytes", "262144", "net.ipv4.tcp_limit_output_bytes: 262144 is not simulated, only the kernel's default 4194304 runs: ")]
    [InlineData("net.ipv4.tcp_min_snd_mss", "47", "net.ipv4.tcp_min_snd_mss: '47' is outside 48..65535")]
    [InlineData("net.ipv4.tcp_probe_interval", "17179870", "net.ipv4.tcp_probe_interval: '17179870' is outside 0..17179869")]
    [InlineData("net.ipv4.tcp_pacing_ss_ratio", "-0", "net.ipv4.tcp_pacing_ss_ratio: 0 is not simulated, only the kernel's default 200 runs: ")]
    [InlineData("net.ipv4.tcp_stdurg", " 0", null)]
    public void DefaultOnly_DefaultTaken_OtherValueRefusedSayingWhatRuns(string name, string text, string? refusal)
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        var before = table.Format(name);
        Assert.Equal(refusal is null, table.TrySet(name, text, out var error));
        if (refusal is not null) Assert.StartsWith(refusal, error);
        Assert.Equal(before, table.Format(name));
    }

    /// <summary>
    /// MTU probing's sysctls (<c>MtuProbingTests</c>): tcp_mtu_probing takes 0..255 on both profiles (session 40: above 1
    /// enables probing at once), tcp_probe_threshold any int, tcp_probe_interval 0..UINT_MAX / HZ, tcp_base_mss any int and
    /// tcp_mtu_probe_floor 48..65535 (linux-6 only, 5.4),
    /// read back as written; the kernel's bounds still refuse. tcp_ecn 0..2 (classic ECN, TcpSocket.Ecn.cs; 3 refused as
    /// Linux 6.18.44 refuses it), tcp_ecn_fallback 0 and tcp_autocorking 0 (the engine never autocorks): taken.
    /// </summary>
    [Theory]
    [InlineData("linux-6", "net.ipv4.tcp_mtu_probing", "1", "1")]
    [InlineData("linux-4.4", "net.ipv4.tcp_mtu_probing", "1", "1")]
    [InlineData("linux-6", "net.ipv4.tcp_mtu_probing", "2", "2")]
    [InlineData("linux-6", "net.ipv4.tcp_mtu_probing", "255", "255")]
    [InlineData("linux-6", "net.ipv4.tcp_probe_threshold", "-1", "-1")]
    [InlineData("linux-4.4", "net.ipv4.tcp_probe_interval", "0", "0")]
    [InlineData("linux-6", "net.ipv4.tcp_base_mss", "-5", "-5")]
    [InlineData("linux-4.4", "net.ipv4.tcp_base_mss", "512", "512")]
    [InlineData("linux-6", "net.ipv4.tcp_mtu_probe_floor", "300", "300")]
    [InlineData("linux-6", "net.ipv4.tcp_mtu_probe_floor", "47", null)]
    [InlineData("linux-4.4", "net.ipv4.tcp_mtu_probe_floor", "300", null)]
    [InlineData("linux-6", "net.ipv4.tcp_ecn", "0", "0")]
    [InlineData("linux-4.4", "net.ipv4.tcp_ecn", "0", "0")]
    [InlineData("linux-6", "net.ipv4.tcp_ecn", "1", "1")]
    [InlineData("linux-4.4", "net.ipv4.tcp_ecn", "1", "1")]
    [InlineData("linux-6", "net.ipv4.tcp_ecn", "3", null)]
    [InlineData("linux-6", "net.ipv4.tcp_ecn_fallback", "0", "0")]
    [InlineData("linux-6", "net.ipv4.tcp_autocorking", "0", "0")]
    [InlineData("linux-4.4", "net.ipv4.tcp_autocorking", "0", "0")]
    public void MtuProbingEcnAutocorkingSysctls_ValuesThatRunTaken(string profile, string name, string text, string? readBack)
    {
        var table = new SysctlTable(profile == "linux-6" ? KernelProfile.Linux6 : KernelProfile.Linux44);
        Assert.Equal(readBack is not null, table.TrySet(name, text, out var error));
        if (readBack is not null) Assert.Equal(readBack, table.Format(name));
        else Assert.DoesNotContain("not simulated", error);
    }

    /// <summary>
    /// Each DefaultOnly sysctl of each profile takes its default and refuses the next value up (or down), and the
    /// namespace's default is the profile's: linux-4.4's TSQ limit was 262144 ("Default TSQ limit of four TSO segments"),
    /// and 4.4 has none of the sysctls added after it (tcp_min_snd_mss, PLB, AccECN …).
    /// </summary>
    [Fact]
    public void DefaultOnly_EachProfileTakesItsOwnDefaultOnly()
    {
        var defaultOnly = SysctlCatalog.All.Values.Where(d => d.DefaultOnly is not null).ToList();
        Assert.Equal(18, defaultOnly.Count); // 21 until mtu40: tcp_mtu_probing, tcp_probe_interval and tcp_probe_threshold are simulated; 26 until sys39: tcp_base_mss, tcp_mtu_probe_floor, tcp_ecn_fallback and tcp_autocorking are simulated; 22 until ecn39 (tcp_ecn)
        foreach (var profile in new[] { KernelProfile.Linux6, KernelProfile.Linux44 })
            foreach (var def in defaultOnly.Where(d => SysctlCatalog.Exists(d.Name, profile)))
            {
                var table = new SysctlTable(profile);
                var value = long.Parse(SysctlCatalog.DefaultFor(def, profile));
                Assert.Equal(value.ToString(), table.Format(def.Name));
                Assert.True(table.TrySet(def.Name, value.ToString(), out var error), error);
                long[] runs = [value, .. def.AlsoRuns ?? []];
                var other = runs.SelectMany(r => new[] { r + 1, r - 1 }).First(v => v >= def.Min && v <= def.Max && !runs.Contains(v));
                Assert.False(table.TrySet(def.Name, other.ToString(), out error));
                Assert.StartsWith(def.AlsoRuns is null
                    ? $"{def.Name}: {other} is not simulated, only the kernel's default {value} runs: "
                    : $"{def.Name}: {other} is not simulated, only {string.Join(" and ", runs.Order())} run: ", error);
                foreach (var also in def.AlsoRuns ?? []) Assert.True(new SysctlTable(profile).TrySet(def.Name, also.ToString(), out _), def.Name);
            }
        Assert.Equal("262144", new SysctlTable(KernelProfile.Linux44).Format("net.ipv4.tcp_limit_output_bytes"));
        Assert.Equal(7, defaultOnly.Count(d => SysctlCatalog.Exists(d.Name, KernelProfile.Linux44))); // 10 until mtu40 (tcp_mtu_probing, tcp_probe_*), 14 until sys39 (tcp_base_mss, tcp_ecn_fallback, tcp_autocorking), 11 until ecn39 (tcp_ecn)
        Assert.False(SysctlCatalog.Exists("net.ipv4.tcp_min_snd_mss", KernelProfile.Linux44));
    }

    [Theory]
    [InlineData("net.ipv4.tcp_fin_timeout", "+16", "net.ipv4.tcp_fin_timeout: '+16' is not an integer")]
    [InlineData("net.ipv4.tcp_fin_timeout", "08", "net.ipv4.tcp_fin_timeout: '08' is not an integer")]
    [InlineData("net.ipv4.tcp_fin_timeout", "000000000000000000016", "net.ipv4.tcp_fin_timeout: '000000000000000000016' is not an integer")]
    [InlineData("net.ipv4.tcp_fin_timeout", "", "net.ipv4.tcp_fin_timeout: no number written")]
    [InlineData("net.ipv4.tcp_tw_reuse", "-0", "net.ipv4.tcp_tw_reuse: '-0' is outside 0..2 (an unsigned handler refuses any '-')")]
    [InlineData("net.ipv4.tcp_rto_min_us", "-0", "net.ipv4.tcp_rto_min_us: '-0' is outside 1..2147483647")]
    [InlineData("net.ipv4.tcp_comp_sack_delay_ns", "18446744073709551616", "net.ipv4.tcp_comp_sack_delay_ns: '18446744073709551616' is not an integer")]
    [InlineData("net.ipv4.tcp_comp_sack_delay_ns", "-1", "net.ipv4.tcp_comp_sack_delay_ns: '-1' is outside 0..18446744073709551615")]
    [InlineData("net.ipv4.tcp_rmem", "4095 131072 33554432", "net.ipv4.tcp_rmem: '4095' is outside 4096..2147483647")]
    [InlineData("net.ipv4.tcp_congestion_control", " cubic", "net.ipv4.tcp_congestion_control: no congestion control ' cubic' (ENOENT; available: cubic reno)")]
    [InlineData("net.ipv4.ip_local_reserved_ports", "16 17", "net.ipv4.ip_local_reserved_ports: '16 17' is not a port or port range within 0..65535")]
    public void Write_RefusedAsTheKernelDoes_SaysWhy(string name, string text, string expected)
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        var before = table.Format(name);
        Assert.False(table.TrySet(name, text, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(before, table.Format(name));
    }

    /// <summary>
    /// linux-4.4 had neither proc_douintvec (4.13) nor proc_dou8vec_minmax (5.13): every sysctl 6.18 reads unsigned was a
    /// proc_dointvec or proc_dointvec_minmax there (net/ipv4/sysctl_net_ipv4.c), whose do_proc_dointvec_conv() and
    /// do_proc_dointvec_minmax_conv() take "-0" as 0 — refused only below a bound of 1 (tcp_syn_retries). Linux 6.18
    /// refuses it on each.
    /// </summary>
    [Fact]
    public void MinusZero_OnTheUnsignedSysctls_TakenAsZeroOnLinux44BelowNoBound_RefusedOnLinux6()
    {
        var unsigned = SysctlCatalog.All.Values.Where(d => d.Handler == SysctlHandler.Unsigned).ToList();
        // 32 until session 37: tcp_shrink_window (6.5, linux-6 only); 33 until session 38: tcp_workaround_signed_windows,
        // tcp_fack, tcp_early_demux, tcp_fwmark_accept, tcp_l3mdev_accept
        // 38 until session 38's sys38: 17 of the DefaultOnly ones (tcp_autocorking, tcp_ecn, tcp_stdurg …)
        Assert.Equal(55, unsigned.Count);
        int taken = 0;
        foreach (var def in unsigned)
        {
            if (SysctlCatalog.Exists(def.Name, KernelProfile.Linux6))
                Assert.False(new SysctlTable(KernelProfile.Linux6).TrySet(def.Name, "-0", out _), def.Name);
            if (!SysctlCatalog.Exists(def.Name, KernelProfile.Linux44)) continue;
            var table = new SysctlTable(KernelProfile.Linux44);
            // A DefaultOnly sysctl takes 0 only when 0 is its default.
            bool zeroRuns = def.DefaultOnly is null || SysctlCatalog.DefaultFor(def, KernelProfile.Linux44) == "0" || def.AlsoRuns?.Contains(0) == true;
            Assert.True(table.TrySet(def.Name, "-0", out var error) == (def.Min <= 0 && zeroRuns), $"{def.Name}: {error}");
            if (def.Min > 0) Assert.Equal($"{def.Name}: '-0' is outside {def.Min}..{def.Max}", error);
            else if (zeroRuns)
            {
                Assert.Equal("0", table.Format(def.Name));
                taken++;
            }
            // The catalog's bounds hold on both profiles, but linux-4.4's tcp_tw_reuse, tcp_mtu_probing and tcp_probe_interval
            // are plain proc_dointvec (any int).
            Assert.Equal(def.Name is "net.ipv4.tcp_tw_reuse" or "net.ipv4.tcp_mtu_probing" or "net.ipv4.tcp_probe_interval",
                table.TrySet(def.Name, "-1", out _));
        }
        Assert.Equal(31, taken); // 30 until mtu40: tcp_probe_interval; 27 until sys39: tcp_autocorking and tcp_ecn (0 runs), tcp_ecn_fallback // 25 until sys38: tcp_mtu_probing and tcp_stdurg (default 0) // 24 until session 33: ip_autobind_reuse (5.7) is no longer a linux-4.4 sysctl; 23 until session 38 (tcp_workaround_signed_windows, tcp_fwmark_accept)
    }

    /// <summary>
    /// An unsigned long holds 2^64 − 1 and reads it back so; the engine's times take it as the largest (min_t(unsigned
    /// long) and ktime_add_safe()), and tcp_mem, a long array in the kernel, holds -1: a hard limit every allocation is
    /// above (sk_prot_mem_limits() compared signed).
    /// </summary>
    [Fact]
    public void ULongSysctls_Past2To63_HeldAsTheKernelHoldsThem()
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        Assert.True(table.TrySet("net.ipv4.tcp_comp_sack_delay_ns", "18446744073709551615", out _));
        Assert.True(table.TrySet("net.ipv4.tcp_comp_sack_slack_ns", "0x8000000000000000", out _));
        Assert.True(table.TrySet("net.ipv4.tcp_mem", "0 0 18446744073709551615", out _));
        Assert.Equal("18446744073709551615", table.Format("net.ipv4.tcp_comp_sack_delay_ns"));
        Assert.Equal("9223372036854775808", table.Format("net.ipv4.tcp_comp_sack_slack_ns"));
        Assert.Equal("0\t0\t18446744073709551615", table.Format("net.ipv4.tcp_mem"));
        Assert.Equal((long.MaxValue, long.MaxValue), (table.TcpCompSackDelayNs, table.TcpCompSackSlackNs));
        Assert.Equal([0L, 0L, -1L], table.TcpMem);
    }

    /// <summary>A vector written in part keeps the rest of what the table holds, not the default.</summary>
    [Fact]
    public void PortRange_LowOnly_KeepsTheCurrentHigh()
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        Assert.True(table.TrySet("net.ipv4.ip_local_port_range", "40000 40009", out _));
        Assert.True(table.TrySet("net.ipv4.ip_local_port_range", "0x9c41", out _));
        Assert.Equal((40001, 40009), (table.PortRangeLow, table.PortRangeHigh));
        Assert.False(table.TrySet("net.ipv4.ip_local_port_range", "40010", out var error)); // above the kept high
        Assert.Equal("net.ipv4.ip_local_port_range: low 40010 is above high 40009 (ipv4_local_port_range)", error);
    }

    /// <summary>
    /// A text the decimal reader of sessions up to 29 took and the kernel's reading refuses, met again when a stored
    /// simulation is rebuilt: a request is refused, a rebuild (<see cref="Simulation.RebuildingStored"/>) reads it as it was
    /// read when stored — else the simulation could not be rebuilt at all.
    /// </summary>
    [Theory]
    [InlineData("net.ipv4.tcp_fin_timeout", "08", "8")]
    [InlineData("net.ipv4.tcp_fin_timeout", "+5", "5")]
    [InlineData("net.ipv4.tcp_sack", "-0", "0")]
    [InlineData("net.ipv4.tcp_congestion_control", " cubic", "cubic")]
    [InlineData("net.ipv4.ip_local_reserved_ports", "1, 2", "1-2")]
    [InlineData("net.ipv4.tcp_rmem", "1024 87380 6291456", "1024\t87380\t6291456")]
    public void StoredTextTheOldReaderTook_RefusedOnARequest_ReadAsStoredOnARebuild(string name, string text, string formatted)
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        Assert.True(sim.AddHost("h", IPv4.Parse("10.0.0.1")).IsOk);

        var refused = sim.SetSysctl("h", name, text);
        sim.RebuildingStored = true;
        var rebuilt = sim.SetSysctl("h", name, text);

        Assert.NotNull(refused);
        Assert.Null(rebuilt);
        Assert.Equal(formatted, sim.FindHost("h")!.Sysctls.Format(name));
    }

    /// <summary>
    /// A vector written with a bad number past the first (tester35 LOW-5): Linux 6.18.44 (`sysctl -w` in a fresh
    /// namespace, 2026-12-07) stores each number as it reads it (__do_proc_dointvec(), do_proc_dointvec_minmax_conv()),
    /// so tcp_rmem and tcp_wmem hold those before the refused one after the EINVAL, while ip_local_port_range
    /// (ipv4_local_port_range(): a range of its own, stored whole) keeps its range; tcp_mem (proc_doulongvec_minmax, on
    /// the host, put back at once) too: "287906 383877 -1" over 287907 383877 575814 left 287906 383877 575814.
    /// <see cref="SysctlCatalog.TryParse"/>'s values are what the kernel holds; the engine's table still refuses the
    /// write whole (bad input changes nothing) and its error says what the kernel keeps.
    /// </summary>
    [Theory]
    [InlineData("net.ipv4.tcp_rmem", "8192 0 100", false, "8192 131072 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "8192 99999 -5", false, "8192 99999 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "8192 abc 5", false, "8192 131072 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "5000 4000", false, "5000 131072 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "5000 70000", true, "5000 70000 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "0 40000", false, "4096 131072 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "2000 1x", false, "4096 131072 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "7000", true, "7000 131072 33554432")]
    [InlineData("net.ipv4.tcp_rmem", "8192 16384 999 77", false, "8192 16384 33554432")]
    [InlineData("net.ipv4.tcp_wmem", "8192 0 100", false, "8192 16384 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "8192 99999 -5", false, "8192 99999 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "8192 abc 5", false, "8192 16384 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "5000 4000", true, "5000 4000 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "5000 70000", true, "5000 70000 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "0 40000", false, "4096 16384 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "2000 1x", false, "2000 16384 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "7000", true, "7000 16384 4194304")]
    [InlineData("net.ipv4.tcp_wmem", "8192 16384 999 77", true, "8192 16384 999")]
    [InlineData("net.ipv4.ip_local_port_range", "8192 0 100", false, "32768 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "8192 99999 -5", false, "32768 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "8192 abc 5", false, "32768 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "5000 4000", false, "32768 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "5000 70000", false, "32768 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "0 40000", false, "32768 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "2000 1x", false, "32768 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "7000", true, "7000 60999")]
    [InlineData("net.ipv4.ip_local_port_range", "8192 16384 999 77", true, "8192 16384")]
    [InlineData("net.ipv4.tcp_mem", "287906 383877 -1", false, "287906 383877 575814", "287907 383877 575814")]
    public void VectorWrittenInPart_HoldsWhatTheKernelHoldsAfterIt(string name, string text, bool taken, string held, string? before = null)
    {
        var current = before is null ? null : before.Split(' ').Select(long.Parse).ToArray();

        Assert.Equal(taken, SysctlCatalog.TryParse(name, KernelProfile.Linux6, text, out var values, out var error, current));

        Assert.Equal(held, string.Join(' ', values));
        var table = new SysctlTable(KernelProfile.Linux6);
        if (before is not null) Assert.True(table.TrySet(name, before, out _));
        var was = table.Format(name);
        Assert.Equal(taken, table.TrySet(name, text, out var refused));
        if (!taken) Assert.Equal(was, table.Format(name));
        if (!taken && name != "net.ipv4.ip_local_port_range" && held != was.Replace('\t', ' '))
            Assert.EndsWith($"after this write the kernel's {name} holds {held}; refused whole here, as any refused input)", refused);
    }

    /// <summary>A text both readers take is read the kernel's way on a rebuild too (octal "010" is 8, not 10), and one
    /// neither takes stays refused.</summary>
    [Fact]
    public void StoredText_BothReadersTakeIt_TheKernelsReading_NeitherTakesIt_Refused()
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        Assert.True(table.TrySet("net.ipv4.tcp_fin_timeout", "010", out _, stored: true));
        Assert.Equal("8", table.Format("net.ipv4.tcp_fin_timeout"));
        Assert.False(table.TrySet("net.ipv4.tcp_fin_timeout", "ten", out var error, stored: true));
        Assert.Equal(SysctlCatalog.TryParse("net.ipv4.tcp_fin_timeout", KernelProfile.Linux6, "ten", out _, out var kernels) ? "" : kernels, error);
    }
}
