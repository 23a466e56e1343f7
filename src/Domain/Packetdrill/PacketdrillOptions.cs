using System.Collections.Immutable;
using System.Globalization;
using SimService.Domain.Engine;

namespace SimService.Domain.Packetdrill;

/// <summary>
/// How a script runs: the kernel profile of the host under test, the seed, and packetdrill's
/// command-line options that change meaning (<c>--tolerance_usecs</c>, <c>--mss</c>,
/// <c>--ip_version</c>, <c>--local_ip</c>, <c>--remote_ip</c>, <c>--tcp_ts_ecr_scaled</c>,
/// <c>--tcp_ts_tick_usecs</c>). The same options may also head the script itself.
/// </summary>
public sealed record PacketdrillOptions
{
    /// <summary>packetdrill's default --tolerance_usecs: 4 ms, one jiffy at HZ=250.</summary>
    public const long DefaultToleranceUsecs = 4_000;

    /// <summary>The usual addresses of packetdrill runs (ksft_runner.sh: --local_ip=192.168.0.1 --remote_ip=192.0.2.1).</summary>
    public const string DefaultLocalIp = "192.168.0.1";
    public const string DefaultRemoteIp = "192.0.2.1";

    public KernelProfile Profile { get; init; } = KernelProfile.Linux6;
    public long Seed { get; init; } = 1;
    /// <summary>The name errors print before the line number ("close.pkt:12: …").</summary>
    public string ScriptName { get; init; } = "script.pkt";
    public long ToleranceUsecs { get; init; } = DefaultToleranceUsecs;
    /// <summary>packetdrill's --mss: the gso_size of inbound packets larger than the MTU. Segments are never split here, so it only has to be valid.</summary>
    public int? Mss { get; init; }
    public string IpVersion { get; init; } = "ipv4";
    public string LocalIp { get; init; } = DefaultLocalIp;
    public string RemoteIp { get; init; } = DefaultRemoteIp;
    /// <summary>--tcp_ts_ecr_scaled: an inbound TS ecr with no outbound TS val of that script value is interpolated.</summary>
    public bool TcpTsEcrScaled { get; init; }
    /// <summary>--tcp_ts_tick_usecs: when set, outbound TS vals are checked against the script within the tolerance.</summary>
    public int TcpTsTickUsecs { get; init; }
    /// <summary>
    /// Record mode (<c>simservice run --record</c>, <c>simservice kernel --record</c>): the script states only inbound
    /// segments, calls and %{ }% blocks; every outbound segment, call result and tcp_info value is written down
    /// (<see cref="ScriptRecorder"/>) instead of checked, and the run goes on one tolerance past its last event.
    /// </summary>
    public bool Record { get; init; }
    /// <summary>The most engine events the run may process.</summary>
    public long EventBudget { get; init; } = 50_000_000;
    /// <summary>
    /// The run stops after the event that takes the journal past this many events (<see cref="PacketdrillRunResult.JournalLimitPassed"/>):
    /// the API's per-request limit, past which the run is refused whatever its result, so the rest of a long script is not run.
    /// </summary>
    public long JournalLimit { get; init; } = long.MaxValue;
    /// <summary>Stops the run between events with OperationCanceledException (see <see cref="Simulation.Interruption"/>): the caller's wall-time limit.</summary>
    public CancellationToken Interruption { get; init; }
    /// <summary>The run's turn on a shared processor (see <see cref="Simulation.Turn"/>), passed between events while other work waits.</summary>
    public EngineTurn? Turn { get; init; }
    /// <summary>The engine rules the run follows (<see cref="Commands.EngineRules"/>; the current ones unless a stored run's differ).</summary>
    public int EngineRules { get; init; } = Commands.EngineRules.Current;

    /// <summary>The option names this reader understands (command line or script header).</summary>
    public static readonly ImmutableArray<string> Known =
        ["tolerance_usecs", "mss", "ip_version", "local_ip", "remote_ip", "tcp_ts_ecr_scaled", "tcp_ts_tick_usecs"];

    /// <summary>
    /// What an option takes, in the words both its refusals use — a script's <c>--name=value</c> line and the API's query
    /// parameter (tester38 LOW-12: <c>?tolerance_usecs=99999999999</c> ran, the script's option refused it as "bad value").
    /// </summary>
    public static string Takes(string name) => name switch
    {
        "tolerance_usecs" or "tcp_ts_tick_usecs" => "a number of microseconds from 0 to 2147483647 (an int, as packetdrill's)",
        "mss" => "a segment size from 1 to 65535",
        "ip_version" => "only ipv4 runs here",
        "local_ip" or "remote_ip" => "an IPv4 address",
        "tcp_ts_ecr_scaled" => "no value, 1 or true",
        _ => "an option this reader does not know",
    };

    /// <summary>
    /// Applies one <c>--name[=value]</c>; the error says why it was refused (an unknown option,
    /// a bad value, or one the simulator does not run, such as --ip_version=ipv6).
    /// </summary>
    public PacketdrillOptions With(string name, string? value, out string? error, out bool unsupported)
    {
        error = null;
        unsupported = false;
        name = name.Replace('-', '_');
        switch (name)
        {
            // packetdrill keeps it in an int (config.tolerance_usecs); a long's worth of µs overflowed the kernel runner's ns (tester37).
            case "tolerance_usecs" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var us):
                return this with { ToleranceUsecs = us };
            case "mss" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var mss) && mss is > 0 and <= 65535:
                return this with { Mss = mss };
            case "ip_version" when value == "ipv4":
                return this with { IpVersion = value };
            case "ip_version" when value is "ipv6" or "ipv4-mapped-ipv6":
                unsupported = true;
                error = $"--ip_version={value}: IPv6 is not supported, the simulator runs IPv4 only";
                return this;
            case "local_ip" when Network.IPv4.TryParse(value ?? "", out _):
                return this with { LocalIp = value! };
            case "remote_ip" when Network.IPv4.TryParse(value ?? "", out _):
                return this with { RemoteIp = value! };
            case "tcp_ts_ecr_scaled" when value is null or "1" or "true":
                return this with { TcpTsEcrScaled = true };
            case "tcp_ts_tick_usecs" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var tick):
                return this with { TcpTsTickUsecs = tick };
            default:
                if (Known.Contains(name))
                {
                    error = $"--{name}: bad value '{value}': {Takes(name)}";
                    return this;
                }
                unsupported = true;
                error = $"--{name}: option not supported by the simulator";
                return this;
        }
    }
}
