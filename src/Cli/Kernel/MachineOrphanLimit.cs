using SimService.Domain.Scenarios;

namespace SimService.Cli.Kernel;

/// <summary>
/// <c>kernel --machine-orphans</c>: a scenario's <c>net.ipv4.tcp_max_orphans</c> set on the whole machine for its run.
/// The sysctl is global (net/ipv4/sysctl_net_ipv4.c registers it for init_net only) and <c>tcp_orphan_count</c> is the
/// machine's, so the parent — in the initial namespace — writes the value before the run and restores the original
/// after it. Refused while the machine has orphans: the limit judges every orphan on it (tcp_too_many_orphans()),
/// and sockstat's orphan count would include them.
/// </summary>
internal sealed class MachineOrphanLimit : IDisposable
{
    public const string Sysctl = "net.ipv4.tcp_max_orphans";
    const string File = "/proc/sys/net/ipv4/tcp_max_orphans";

    readonly string _original;

    MachineOrphanLimit(string original, string value)
    {
        _original = original;
        Note = $"{Sysctl} set to {value} on the whole machine for the run (it was {original}; restored after it): every orphan on the machine counted";
    }

    /// <summary>What the run's notes say about the change.</summary>
    public string Note { get; }

    /// <summary>The value the scenario's hosts set (null when none does), or why the hosts cannot share one machine-wide value.</summary>
    public static (string? Value, string? Error) ValueOf(ScenarioDocument doc)
    {
        var values = doc.Hosts.SelectMany(h => h.Sysctls).Where(s => s.Name == Sysctl).Select(s => s.Text.Trim()).Distinct(StringComparer.Ordinal).ToList();
        return values.Count switch
        {
            0 => (null, null),
            1 => (values[0], null),
            _ => (null, $"the hosts set different {Sysctl} values ({string.Join(", ", values)}): the machine has one"),
        };
    }

    /// <summary>Why a run may not change the limit with <paramref name="orphans"/> orphans on the machine, or null.</summary>
    public static string? Refusal(long orphans) => orphans == 0 ? null
        : $"not run: {orphans} orphan{(orphans == 1 ? "" : "s")} on the machine (sockstat), which {Sysctl} would judge too; run it when there are none";

    /// <summary>Sets the value after checking the machine has no orphans; the limit to restore, or why it was not set.</summary>
    public static (MachineOrphanLimit? Limit, string? Error) Set(string value)
    {
        string original;
        try
        {
            original = System.IO.File.ReadAllText(File).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read {File} ({e.Message}): {Sysctl} exists only in the initial network namespace");
        }
        if (MachineOrphans() is not { } orphans) return (null, "cannot read the orphan count from /proc/net/sockstat");
        if (Refusal(orphans) is { } refusal) return (null, refusal);
        if (Netns.WriteSysctl(Sysctl, value) is { } error) return (null, error);
        return (new MachineOrphanLimit(original, value), null);
    }

    /// <summary>The machine's orphan count (tcp_orphan_count_sum()), sockstat's "orphan" field.</summary>
    public static long? MachineOrphans()
    {
        foreach (var line in System.IO.File.ReadLines("/proc/net/sockstat"))
        {
            if (!line.StartsWith("TCP:", StringComparison.Ordinal)) continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int i = Array.IndexOf(words, "orphan");
            if (i > 0 && i + 1 < words.Length && long.TryParse(words[i + 1], out var n)) return n;
        }
        return null;
    }

    /// <summary>Restores the original value.</summary>
    public void Dispose() => Netns.WriteSysctl(Sysctl, _original);
}
