using System.Text.Json.Serialization;
using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Api.Features.Sockets;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Connections;

public sealed record OpenConnectionRequest
{
    /// <summary>The host that connects.</summary>
    /// <example>client</example>
    [Required]
    public string? Client { get; init; }

    /// <summary>The host that listens and accepts.</summary>
    /// <example>server</example>
    [Required]
    public string? Server { get; init; }

    /// <summary>
    /// The port to listen on and connect to. 0 is taken as Linux takes it: the listener binds an ephemeral port, and
    /// connect() sends its SYN to port 0, where nothing listens: a RST, and connect fails with ECONNREFUSED.
    /// </summary>
    /// <example>80</example>
    [Required, Range(0, 65535)]
    public int? Port { get; init; }

    /// <summary>The connecting process (default "app").</summary>
    [CharacterLength(SimProcess.NameMaxLength, MinimumLength = 1)]
    public string? ClientProcess { get; init; }

    /// <summary>The listening process when a listener must be created (default "app"); an existing listener's owner accepts.</summary>
    [CharacterLength(SimProcess.NameMaxLength, MinimumLength = 1)]
    public string? ServerProcess { get; init; }

    /// <summary>Bind the client socket first (port 0: ephemeral), as connect's convenience bind.</summary>
    public BindOptions? Bind { get; init; }

    /// <summary>listen()'s backlog when a listener is created (default 128). Any int, as Linux takes it: one above net.core.somaxconn, or negative, is somaxconn.</summary>
    public int? Backlog { get; init; }

    /// <summary>The most events to process while the handshake runs (default 1,000,000).</summary>
    [Int64Range(1, 50_000_000)]
    public long? EventBudget { get; init; }

    /// <summary>How far the clock may run while the handshake runs (default one hour of virtual time).</summary>
    [Int64Range(0, long.MaxValue)]
    [JsonConverter(typeof(DurationNsConverter))]
    public long? MaxNs { get; init; }
}

/// <param name="Listen">The listen call, when no listener was on the port (null otherwise).</param>
/// <param name="ListenerSocketId">The listener that accepted.</param>
/// <param name="Connect">The client's connect: its socket is the client side of the connection.</param>
/// <param name="Accept">The server's accept: when it returned, its socket is the server side (null if connect failed at once).</param>
/// <param name="Established">Both calls returned without error and the client is ESTABLISHED.</param>
/// <param name="Truncated">The event budget ran out before both calls returned.</param>
/// <param name="StoppedBy">Why the calls had not both returned, as an advance says it: "eventBudget" (truncated), or "horizon" — the
/// next event lies past <c>maxNs</c> or past the clock's maximum (the SYN of a connect at the maximum is due after it); left out otherwise.</param>
/// <param name="NextEventNs">With stoppedBy "horizon": when the next event is due.</param>
public sealed record ConnectionResponse(CallResponse? Listen, int ListenerSocketId, CallStatus Connect, CallStatus? Accept,
    int ClientSocketId, int? ServerSocketId, bool Established, long EventsProcessed, bool Truncated, long NowNs, long Version,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StoppedBy = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? NextEventNs = null) : LeftModelAnswer, IVersioned;

/// <summary>
/// A listener if the port has none, connect, accept, then the clock runs until both calls have returned (or the
/// connect failed, or the budget or horizon ran out): the ESTABLISHED pair in one request, logged as one
/// <c>open-connection</c> command (<see cref="ConnectionOpener"/>).
/// </summary>
public sealed record OpenConnection(Guid SimulationId, IfMatch? ExpectedVersion, OpenConnectionRequest Request) : ICommand<Outcome<ConnectionResponse>>;

public sealed class OpenConnectionHandler(LiveSimulations simulations) : ICommandHandler<OpenConnection, Outcome<ConnectionResponse>>
{
    public ValueTask<Outcome<ConnectionResponse>> Handle(OpenConnection command, CancellationToken cancellationToken) =>
        simulations.WriteAsync(command.SimulationId, command.ExpectedVersion, batch => Open(batch, command), cancellationToken);

    private static Outcome<ConnectionResponse> Open(CommandBatch batch, OpenConnection command)
    {
        var r = command.Request;
        var id = command.SimulationId;
        var engine = batch.Engine;
        var outcome = batch.Apply(new OpenConnectionCommand(r.Client!, r.Server!, (ushort)r.Port!.Value,
            r.ClientProcess ?? IssueSocketCallHandler.DefaultProcess, r.ServerProcess ?? IssueSocketCallHandler.DefaultProcess,
            (ushort?)r.Bind?.Port, r.Bind?.ReuseAddr ?? false, r.Backlog ?? 128,
            r.EventBudget ?? Clock.AdvanceRequest.DefaultEventBudget, new SimDuration(r.MaxNs ?? Clock.AdvanceRequest.DefaultIdleHorizonNs)));
        if (outcome.Error is { } error)
            return error.Code == "not-found"
                ? new ResourceNotFound(id, error.Field ?? "server", $"There is no host '{(error.Field == "server" ? r.Server : r.Client)}' in the simulation.")
                : CommandRefused.From(id, error, field => field);
        var opened = outcome.Connection!;
        // A listen that failed made a socket: the whole request is refused and, as for any failure, nothing is kept.
        if (opened.ListenFailed)
            return new CommandRefused(id, DomainError.Conflict($"listen on {r.Server}:{r.Port} failed with {opened.Listen!.Value.Errno}"), "port");

        var listen = opened.Listen is { } l ? CallResponse.From(CallStatus.From(engine.FindCall(l.CallId)!), batch.Version) : null;
        var connect = CallStatus.From(engine.FindCall(opened.Connect!.Value.CallId)!);
        var accept = opened.Accept is { } a ? CallStatus.From(engine.FindCall(a.CallId)!) : null;
        int? serverSocket = accept is { Status: CallResponse.Returned, Errno: null } ? accept.SocketId : null;
        if (serverSocket is { } child && OlderConnectionAccepted(engine, connect.SocketId, child, opened.ListenerSocketId) is { } older)
            return new CommandRefused(id, DomainError.Conflict(older), "port");
        bool established = connect is { Status: CallResponse.Returned, Errno: null } && serverSocket is not null
            && engine.FindSocket(connect.SocketId)?.State == TcpState.Established;
        // Stopped short, it says why as an advance does (tester36 LOW-3: at the clock's maximum a bare established:false read like
        // a refused connection, where an advance there says stoppedBy "horizon").
        var advance = opened.Advance;
        return new ConnectionResponse(listen, opened.ListenerSocketId, connect, accept, connect.SocketId, serverSocket, established,
            advance?.EventsProcessed ?? 0, advance?.Truncated ?? false, engine.Now.Ns, batch.Version,
            advance is null ? null : Clock.AdvanceResponse.StoppedByOf(advance), advance?.PastHorizon?.Ns);
    }

    /// <summary>
    /// accept() takes the connection at the head of the listener's accept queue (inet_csk_accept() → reqsk_queue_remove()):
    /// when the listener already held one (a connect made before, not accepted yet), that is what it returned, not this
    /// connection's child. The pair would name two connections (tester35: "established" with another connection's server
    /// socket), so the request is refused whole, saying which connection accept() took.
    /// </summary>
    private static string? OlderConnectionAccepted(Simulation engine, int clientSocket, int accepted, int listener)
    {
        if (engine.FindSocket(clientSocket) is not { } client || engine.FindSocket(accepted) is not { } taken || taken.Remote == client.Local) return null;
        return $"accept() took a connection the listener had queued before this one (socket {accepted}, from {taken.Remote}), not this "
            + $"connection's (from {client.Local}); nothing was applied. Accept the queued connections first (POST …/sockets/{listener}/accept), "
            + "or connect and accept with separate calls.";
    }
}
