using System.Text.RegularExpressions;

namespace SimService.Domain.Scenarios;

/// <summary>
/// The syntax rules of docs/scenario.schema.json that are patterns or lists. Every pattern ends in
/// \z, not $, so that a trailing newline is refused as the schema's ECMA-262 regexes refuse it.
/// </summary>
internal static partial class ScenarioSyntax
{
    // The sysctl names the format accepts (the schema's sysctlValues.propertyNames) are SysctlCatalog.All's: what some
    // profile simulates, one list (tester41 MEDIUM-5; SchemaTests checks the schema against it).

    [GeneratedRegex(@"^[a-z0-9-]+\z")]
    public static partial Regex ScenarioName();

    /// <summary>The longest scenario name: the simulation's name it becomes (a simulation's name is 1–200 characters).</summary>
    public const int MaxNameLength = 200;

    [GeneratedRegex(@"^[a-z][a-z0-9-]*\z")]
    public static partial Regex HostName();

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)\z")]
    public static partial Regex Duration();

    [GeneratedRegex(@"^\+?[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)\z")]
    public static partial Regex StepTime();

    /// <summary>
    /// "host:port", port 0–65535 without leading zeros: connect()'s peer (Linux sends a SYN to port 0) and an inject
    /// step's ends (a segment to or from port 0 is one like any other on Linux: no socket has port 0, so tcp_v4_rcv()
    /// answers it with tcp_v4_send_reset(), and a listener answers a SYN from port 0 with a SYN-ACK to port 0).
    /// </summary>
    [GeneratedRegex(@"^(?<host>[a-z][a-z0-9-]*):(?<port>6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)\z")]
    public static partial Regex HostPort();

    /// <summary>"host" or "host:port".</summary>
    [GeneratedRegex(@"^(?<host>[a-z][a-z0-9-]*)(:(?<port>6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?\z")]
    public static partial Regex Endpoint();

    /// <summary>"host:port" where either part may be empty; the host part may be an IPv4 address.</summary>
    [GeneratedRegex(@"^(?<host>[a-z][a-z0-9-]*|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))?:(?<port>6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})?\z")]
    public static partial Regex SockAddr();

    [GeneratedRegex(@"^(?<from>[a-z][a-z0-9-]*)->(?<to>[a-z][a-z0-9-]*)\z")]
    public static partial Regex Direction();

    /// <summary>"TcpExt.NAME", "Tcp.NAME" or nstat's "TcpExtNAME"/"TcpNAME".</summary>
    [GeneratedRegex(@"^(TcpExt|Tcp)\.?[A-Za-z][A-Za-z0-9]*\z")]
    public static partial Regex Counter();
}
