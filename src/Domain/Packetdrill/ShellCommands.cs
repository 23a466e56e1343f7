using System.Text;

namespace SimService.Domain.Packetdrill;

/// <summary>
/// The backtick lines the simulator understands — those that set sysctls on the host under test:
/// packetdrill's <c>defaults.sh</c>, <c>sysctl [-q] [-w] name=value …</c>, the selftests'
/// <c>set_sysctls.py /proc/sys/net/…=value …</c> and <c>echo value &gt; /proc/sys/net/…</c>. Any
/// other command is refused as unsupported, never skipped.
/// </summary>
public static class ShellCommands
{
    /// <summary>
    /// The values packetdrill's defaults.sh (tools/testing/selftests/net/packetdrill) sets that the
    /// engine models. The others it sets are the engine's fixed behaviour already (cubic, no ECN, no
    /// FACK, tcp_reordering 3, tcp_frto 2) or features it does not model
    /// (TFO, syncookies, pacing ratios, tcp_notsent_lowat, the tun qdisc, tcp_metrics).
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Defaults =
    [
        new("net.ipv4.tcp_rmem", "4096 540000 15728640"),
        new("net.ipv4.tcp_wmem", "4096 262144 4194304"),
        new("net.ipv4.tcp_timestamps", "1"),
        new("net.ipv4.tcp_syn_retries", "5"),
        new("net.ipv4.tcp_synack_retries", "5"),
        new("net.ipv4.tcp_sack", "1"),
        new("net.ipv4.tcp_dsack", "1"),
        new("net.ipv4.tcp_early_retrans", "4"),
        new("net.ipv4.tcp_slow_start_after_idle", "0"),
    ];

    /// <summary>The sysctls a backtick text sets, in order; or why it cannot run.</summary>
    public static (List<KeyValuePair<string, string>> Sets, string? Unsupported) Parse(string text)
    {
        var sets = new List<KeyValuePair<string, string>>();
        foreach (var raw in text.Split(['\n', ';']))
        {
            foreach (var part in raw.Split("&&"))
            {
                var command = part.Trim();
                if (command.Length == 0) continue;
                var words = Words(command);
                var program = words[0];
                if (program.EndsWith("defaults.sh", StringComparison.Ordinal) && words.Count == 1)
                {
                    sets.AddRange(Defaults);
                }
                else if (program == "sysctl")
                {
                    foreach (var w in words.Skip(1).Where(w => !w.StartsWith('-')))
                    {
                        int eq = w.IndexOf('=', StringComparison.Ordinal);
                        if (eq <= 0) return (sets, $"`{command}`: only `sysctl name=value` settings are run");
                        sets.Add(new(w[..eq].Replace('/', '.'), w[(eq + 1)..]));
                    }
                }
                else if (program.EndsWith("set_sysctls.py", StringComparison.Ordinal))
                {
                    foreach (var w in words.Skip(1))
                    {
                        int eq = w.IndexOf('=', StringComparison.Ordinal);
                        if (eq <= 0 || !w.StartsWith("/proc/sys/", StringComparison.Ordinal)) return (sets, $"`{command}`: expected /proc/sys/…=value arguments");
                        sets.Add(new(w[10..eq].Replace('/', '.'), w[(eq + 1)..]));
                    }
                }
                else if (program == "echo" && words.Count == 4 && words[2] == ">" && words[3].StartsWith("/proc/sys/", StringComparison.Ordinal))
                {
                    sets.Add(new(words[3][10..].Replace('/', '.'), words[1]));
                }
                else
                {
                    return (sets, $"shell command `{command}`: only commands that set sysctls (defaults.sh, sysctl, set_sysctls.py, echo > /proc/sys/…) are run");
                }
            }
        }
        return (sets, null);
    }

    /// <summary>Splits a command into words, honouring "…" and '…' quoting.</summary>
    static List<string> Words(string command)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        char quote = '\0';
        foreach (var c in command)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else sb.Append(c);
            }
            else if (c is '"' or '\'') quote = c;
            else if (char.IsWhiteSpace(c))
            {
                if (sb.Length > 0) words.Add(sb.ToString());
                sb.Clear();
            }
            else sb.Append(c);
        }
        if (sb.Length > 0) words.Add(sb.ToString());
        return words;
    }
}
