using System.Text.Json.Serialization;
using SimService.Domain.Engine;

namespace SimService.Api.Features.Clock;

/// <summary>
/// Where the simulation left what the engine models (<see cref="Simulation.LeftModel"/>): the first moment it reached a
/// kernel path the engine knows it does not follow, named by its docs/kernel-check.md row (D161: linux-4.4's
/// tcp_mtup_init() order at tcp_mtu_probing 2 or more, a probe above the route MTU; D169: an AccECN SYN-ACK). From there on the kernel's packets may differ from the simulation's. A scenario run says the same as
/// its run error.
/// </summary>
/// <param name="AtNs">The virtual time it left the model.</param>
/// <param name="Host">The host whose socket took the path.</param>
/// <param name="Socket">The socket, as the engine names it ("10.0.0.1:40000 > 10.0.0.2:80").</param>
/// <param name="Row">The docs/kernel-check.md row that describes the difference ("D161").</param>
/// <param name="What">What the kernel does there.</param>
/// <param name="Message">The whole sentence, as a scenario run's error says it.</param>
public sealed record LeftModelResponse(long AtNs, string Host, string Socket, string Row, string What, string Message)
{
    /// <summary>The engine's departure, or null while it has not left the model.</summary>
    public static LeftModelResponse? Of(Simulation engine) => engine.LeftModel is { } left
        ? new(left.At.Ns, left.Host, left.Socket, left.Row, left.What, left.ToString())
        : null;
}

/// <summary>
/// An answer that says where the simulation left what the engine models (<see cref="LeftModel"/>), once it has: every
/// command's (a write: a call, a connection, a kill, a workload, a sysctl change, a batch, an advance), filled in one place,
/// <see cref="Infrastructure.Engines.LiveSimulations.WriteAsync{T}"/>, so the command that left the model says it in its own
/// answer (tester41 MEDIUM-1); a replay's, for the engine it rebuilt; a scenario or packetdrill run's (MEDIUM-4).
/// </summary>
public abstract record LeftModelAnswer
{
    /// <summary>Present once the simulation has left what the engine models (at this command or before): where, and the
    /// docs/kernel-check.md row; from there on the kernel's packets may differ.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonPropertyOrder(1)]
    public LeftModelResponse? LeftModel { get; init; }
}
