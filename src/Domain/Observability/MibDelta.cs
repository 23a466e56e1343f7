using SimService.Domain.Network;

namespace SimService.Domain.Observability;

/// <summary>
/// One counter whose change over a run differs between the engine and the kernel: its name as
/// "Group.Field" ("Tcp.OutRsts", "TcpExt.TW"), each side's change, and whether the engine keeps the
/// counter at all (<see cref="MibDelta.IsModelled"/>: a counter it does not keep always reads 0, so
/// a difference there is a candidate to model, not necessarily a wrong rule).
/// </summary>
public sealed record CounterDifference(string Name, long Engine, long Kernel, bool Modelled);

/// <summary>
/// How much the Ip, Tcp, TcpExt and IpExt counters of /proc/net/snmp and /proc/net/netstat moved
/// over a run, and the comparison of the engine's change with the real kernel's for the same
/// packetdrill script. Both sides are read the same way: the kernel's files as it printed them,
/// the engine's as <see cref="ProcNetSnmp"/> and <see cref="ProcNetNetstat"/> print them.
/// </summary>
public static class MibDelta
{
    /// <summary>The sections compared: the IPv4 and TCP ones (ICMP, UDP and MPTCP carry no TCP traffic).</summary>
    public static readonly IReadOnlyList<string> Groups = ["Ip", "Tcp", "TcpExt", "IpExt"];

    /// <summary>Tcp: and Ip: fields that are not MIB counters the engine increments but values it computes (Tcp.CurrEstab) or constants.</summary>
    static readonly HashSet<string> Computed =
    [
        "Tcp.RtoAlgorithm", "Tcp.RtoMin", "Tcp.RtoMax", "Tcp.MaxConn", "Tcp.CurrEstab", "Tcp.InCsumErrors", "Ip.Forwarding", "Ip.DefaultTTL",
    ];

    /// <summary>
    /// Reads the "Prefix: Name …" / "Prefix: value …" line pairs of /proc/net/snmp and /proc/net/netstat
    /// (snmp_seq_show(), netstat_seq_show() — net/ipv4/proc.c) into "Group.Field" → value, for <see cref="Groups"/>.
    /// </summary>
    public static Dictionary<string, long> Parse(params string[] texts)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i + 1 < lines.Length; i += 2)
            {
                var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var numbers = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                string group = names[0].TrimEnd(':');
                if (!Groups.Contains(group) || numbers[0] != names[0] || numbers.Length != names.Length) continue;
                for (int k = 1; k < names.Length; k++)
                    if (long.TryParse(numbers[k], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long v))
                        values[$"{group}.{names[k]}"] = v;
            }
        }
        return values;
    }

    /// <summary>The engine host's counters, read from the /proc/net/snmp and /proc/net/netstat text it prints.</summary>
    public static Dictionary<string, long> Of(Host host) => Parse(ProcNetSnmp.Format(host), ProcNetNetstat.Format(host));

    /// <summary>Fields that hold a constant (tcp_mib_init(), the Ip: header fields): they never move.</summary>
    static readonly HashSet<string> Constants = ["Tcp.RtoAlgorithm", "Tcp.RtoMin", "Tcp.RtoMax", "Tcp.MaxConn", "Ip.Forwarding", "Ip.DefaultTTL"];

    /// <summary>
    /// What moved on an engine host since it booted: every counter started at 0, and so did CurrEstab (no socket);
    /// the constants did not move. The engine's side of a comparison over a whole run.
    /// </summary>
    public static Dictionary<string, long> SinceBoot(Host host) =>
        Of(host).ToDictionary(kv => kv.Key, kv => Constants.Contains(kv.Key) ? 0 : kv.Value, StringComparer.Ordinal);

    /// <summary>after − before for every counter of <paramref name="after"/> (one missing before counts from 0).</summary>
    public static Dictionary<string, long> Delta(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        after.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key), StringComparer.Ordinal);

    /// <summary>Whether the engine keeps the counter: a <see cref="MibCounter"/>, or a value it computes (CurrEstab).</summary>
    public static bool IsModelled(string name)
    {
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        return Computed.Contains(name) || (dot > 0 && Mib.TryFind(name[..dot], name[(dot + 1)..], out _));
    }

    /// <summary>
    /// Every counter whose change differs, in name order: the engine's change against the kernel's.
    /// A counter only one side prints (a field of another kernel's list) counts as 0 on the other.
    /// </summary>
    public static IReadOnlyList<CounterDifference> Compare(IReadOnlyDictionary<string, long> engine, IReadOnlyDictionary<string, long> kernel) =>
        [.. engine.Keys.Union(kernel.Keys).Order(StringComparer.Ordinal)
            .Select(name => new CounterDifference(name, engine.GetValueOrDefault(name), kernel.GetValueOrDefault(name), IsModelled(name)))
            .Where(d => d.Engine != d.Kernel)];
}
