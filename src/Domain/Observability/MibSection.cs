using System.Text;

namespace SimService.Domain.Observability;

/// <summary>
/// The "Prefix: Name Name …\nPrefix: value value …\n" pair that /proc/net/snmp and
/// /proc/net/netstat print per MIB (snmp_seq_show_tcp_udp(), netstat_seq_show() — net/ipv4/proc.c),
/// and which parsers such as node_exporter's netstat collector zip back together by position.
/// </summary>
internal static class MibSection
{
    public static string[] Names(string spaceSeparated) => spaceSeparated.Split(' ');

    public static void Append(StringBuilder sb, string prefix, IReadOnlyList<string> names, Func<string, long> value)
    {
        sb.Append(prefix).Append(':');
        foreach (var name in names) sb.Append(' ').Append(name);
        sb.Append('\n').Append(prefix).Append(':');
        foreach (var name in names) sb.Append(' ').Append(value(name));
        sb.Append('\n');
    }
}
