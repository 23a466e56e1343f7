using System.Text.Json.Serialization;
using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Api.Features.Sockets;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

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

    /// <example>80</example>
    [Required, Range(1, 65535)]
    public int? Port { get; init; }

    /// <summary>The connecting process (default "app").</summary>
    [StringLength(64, MinimumLength = 1)]
    public string? ClientProcess { get; init; }

    /// <summary>The listening process when a listener must be created (default "app"); an existing listener's owner accepts.</summary>
    [StringLength(64, MinimumLength = 1)]
    public string? ServerProcess { get; init; }

    /// <summary>Bind the client socket first (port 0: ephemeral), as connect's convenience bind.</summary>
    public BindOptions? Bind { get; init; }

    /// <summary>listen()'s backlog when a listener is created (default 128).</summary>
    [Range(0, 65535)]
    public int? Backlog { get; init; }

    /// <summary>The most events to process while the handshake runs (default 1,000,000).</summary>
    [Range(1, 50_000_000)]
    public long? EventBudget { get; init; }

    /// <summary>How far the clock may run while the handshake runs (default one hour of virtual time).</summary>
    [Range(0, long.MaxValue)]
    [JsonConverter(typeof(DurationNsConverter))]
    public long? MaxNs { get; init; }
}

/// <param name="Listen">The listen call, when no listener was on the port (null otherwise).</param>
/// <param name="ListenerSocketId">The listener that accepted.</param>
/// <param name="Connect">The client's connect: its socket is the client side of the connection.</param>
/// <param name="Accept">The server's accept: when it returned, its socket is the server side (null if connect failed at once).</param>
/// <param name="Established">Both calls returned without error and the client is ESTABLISHED.</param>
/// <param name="Truncated">The event budget ran out before both calls returned.</param>
public sealed record ConnectionResponse(CallResponse? Listen, int ListenerSocketId, CallStatus Connect, CallStatus? Accept,
    int ClientSocketId, int? ServerSocketId, bool Established, long EventsProcessed, bool Truncated, long NowNs, long Version) : IVersioned;

/// <summary>
/// A listener if the port has none, connect, accept, then the clock runs until both calls have returned (or the
/// connect failed, or the budget or horizon ran out): the ESTABLISHED pair in one request. It is logged as the
/// commands it is made of (listen, connect, accept, and an advance to the time the handshake ended).
/// </summary>
public sealed record OpenConnection(Guid SimulationId, long? ExpectedVersion, OpenConnectionRequest Request) : ICommand<Outcome<ConnectionResponse>>;

public sealed class OpenConnectionHandler(LiveSimulations simulations) : ICommandHandler<OpenConnection, Outcome<ConnectionResponse>>
{
    public ValueTask<Outcome<ConnectionResponse>> Handle(OpenConnection command, CancellationToken cancellationToken) =>
        simulations.WriteAsync(command.SimulationId, command.ExpectedVersion, batch => Open(batch, command), cancellationToken);

    private static Outcome<ConnectionResponse> Open(CommandBatch batch, OpenConnection command)
    {
        var r = command.Request;
        var id = command.SimulationId;
        var engine = batch.Engine;
        if (engine.FindHost(r.Server!) is not { } server) return new ResourceNotFound(id, "server", $"There is no host '{r.Server}' in the simulation.");
        if (engine.FindHost(r.Client!) is null) return new ResourceNotFound(id, "client", $"There is no host '{r.Client}' in the simulation.");
        var port = (ushort)r.Port!.Value;

        CallResponse? listen = null;
        var listener = SocketListing.Rows(server).FirstOrDefault(row => row.State == TcpState.Listen && row.Local.Port == port) is { } row
            ? engine.FindSocket(row.SocketId)
            : null;
        if (listener is null)
        {
            var request = new SocketCallRequest(server.Name, r.ServerProcess ?? IssueSocketCallHandler.DefaultProcess, SocketCallKind.Listen)
            {
                Port = port,
                Backlog = r.Backlog ?? 128,
            };
            if (!Call(batch, id, request, "server", out listen, out var refused)) return refused;
            if (listen.Errno is not null)
                return new CommandRefused(id, DomainError.Conflict($"listen on {server.Name}:{port} failed with {listen.Errno}"), "port");
            listener = engine.FindSocket(listen.SocketId)!;
        }

        var connectRequest = new SocketCallRequest(r.Client!, r.ClientProcess ?? IssueSocketCallHandler.DefaultProcess, SocketCallKind.Connect)
        {
            ToHost = server.Name,
            ToPort = port,
            BindPort = (ushort?)r.Bind?.Port,
            BindReuseAddr = r.Bind?.ReuseAddr ?? false,
        };
        if (!Call(batch, id, connectRequest, "client", out var connect, out var connectRefused)) return connectRefused;

        CallResponse? accept = null;
        AdvanceResult? advanced = null;
        if (connect.Status == CallResponse.Pending || connect.Errno is null)
        {
            var acceptRequest = new SocketCallRequest(server.Name, listener.Owner?.Name ?? IssueSocketCallHandler.DefaultProcess, SocketCallKind.Accept)
            {
                SocketId = listener.Id,
            };
            if (!Call(batch, id, acceptRequest, "server", out accept, out var acceptRefused)) return acceptRefused;
            var horizon = engine.Now + new SimDuration(r.MaxNs ?? Clock.AdvanceRequest.DefaultIdleHorizonNs);
            var (connectId, acceptId) = (connect.CallId, accept.CallId);
            advanced = batch.AdvanceUntil(
                () => !IsPending(engine, connectId) && (!IsPending(engine, acceptId) || Failed(engine, connectId)),
                horizon, r.EventBudget ?? Clock.AdvanceRequest.DefaultEventBudget);
        }

        var calls = CallJournal.Of(engine).ToDictionary(c => c.Status.CallId, c => c.Status);
        var connectStatus = calls[connect.CallId];
        var acceptStatus = accept is null ? null : calls[accept.CallId];
        int? serverSocket = acceptStatus is { Status: CallResponse.Returned, Errno: null } ? acceptStatus.SocketId : null;
        bool established = connectStatus is { Status: CallResponse.Returned, Errno: null } && serverSocket is not null
            && engine.FindSocket(connect.SocketId)?.State == TcpState.Established;
        return new ConnectionResponse(listen, listener.Id, connectStatus, acceptStatus, connect.SocketId, serverSocket, established,
            advanced?.EventsProcessed ?? 0, advanced?.Truncated ?? false, engine.Now.Ns, batch.Version);
    }

    private static bool Call(CommandBatch batch, Guid id, SocketCallRequest request, string hostField, out CallResponse response, out Failure refused)
    {
        var at = batch.Engine.Now.Ns;
        var outcome = batch.Apply(new SocketCallCommand(request));
        response = outcome.IsOk ? CallResponse.From(outcome.Call!.Value, request, at, batch.Version) : null!;
        refused = outcome.IsOk ? null! : CommandRefused.From(id, outcome.Error!, field => field switch
        {
            "host" => hostField,
            "to" => "server",
            _ => field,
        });
        return outcome.IsOk;
    }

    private static bool IsPending(Simulation engine, long callId) => engine.PendingCalls.Any(c => c.Id == callId);

    private static bool Failed(Simulation engine, long callId) =>
        engine.Journal.OfType<Domain.Journal.CallReturned>().Any(r => r.CallId == callId && r.Errno is not null);
}
