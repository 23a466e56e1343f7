using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;

namespace SimService.Api.Features.Sockets;

/// <summary>
/// One system call: on an existing socket (<see cref="SocketId"/>; the host is the socket's) or, for socket()
/// and the listen/connect conveniences, on a host. <see cref="Call"/> carries the call's arguments; its host,
/// process and socket are filled in here.
/// </summary>
public sealed record IssueSocketCall(Guid SimulationId, IfMatch? ExpectedVersion, string? Host, int? SocketId, string? Process,
    SocketCallRequest Call) : ICommand<Outcome<CallResponse>>;

public sealed class IssueSocketCallHandler(LiveSimulations simulations) : ICommandHandler<IssueSocketCall, Outcome<CallResponse>>
{
    public const string DefaultProcess = "app";

    public ValueTask<Outcome<CallResponse>> Handle(IssueSocketCall command, CancellationToken cancellationToken) =>
        simulations.WriteAsync<CallResponse>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            var request = Resolve(batch, command);
            if (request is null)
                return new ResourceNotFound(command.SimulationId, "socketId", $"There is no socket {command.SocketId} in the simulation.");
            var at = batch.Engine.Now.Ns;
            var outcome = batch.Apply(new SocketCallCommand(request));
            return outcome.IsOk
                ? CallResponse.From(outcome.Call!.Value, request, at, batch.Version)
                : CommandRefused.From(command.SimulationId, outcome.Error!, FieldName, command.SocketId);
        }, cancellationToken);

    private static SocketCallRequest? Resolve(CommandBatch batch, IssueSocketCall command)
    {
        if (command.SocketId is not { } socketId)
            return command.Call with { Host = command.Host!, Process = command.Process ?? DefaultProcess };
        if (batch.Engine.HostOfSocket(socketId) is not { } host) return null;
        return command.Call with
        {
            Host = host.Name,
            Process = command.Process ?? batch.Engine.FindSocket(socketId)?.Owner?.Name ?? DefaultProcess,
            SocketId = socketId,
        };
    }

    /// <summary>The engine's field names as the socket endpoints spell them.</summary>
    public static string FieldName(string field) => field switch
    {
        "socket" => "socketId",
        _ => field,
    };
}
