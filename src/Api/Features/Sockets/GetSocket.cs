using Mediator;
using SimService.Api.Features.Hosts;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Engine;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Persistence.Entities;

namespace SimService.Api.Features.Sockets;

/// <summary>The data ledger of the connection this socket sends on.</summary>
/// <param name="Sent">Bytes the application wrote.</param>
/// <param name="Accepted">Bytes the kernel took into the send buffer.</param>
/// <param name="Delivered">Bytes the peer application read.</param>
/// <param name="Lost">Bytes that will never reach the peer application; <c>lostReason</c> says why (the last reason).</param>
public sealed record LedgerView(long Sent, long Accepted, long Delivered, long Lost, string? LostReason);

/// <summary>A call's life, from the engine's call table: issued, and returned (or still pending).</summary>
/// <param name="Args">The call's arguments as the journal describes them ("to=server:80").</param>
/// <param name="BlockedNs">How long the call blocked (0 when it returned at once).</param>
/// <param name="Value">What the call wrote besides its return value (getsockopt's value, getpeername's address), as on the call's response.</param>
public sealed record CallStatus(long CallId, string Call, string Host, string Process, int SocketId, string Args, string Status,
    long? Result, string? Errno, long IssuedAtNs, long? ReturnedAtNs, long? BlockedNs, System.Text.Json.JsonElement? Value = null)
{
    public static CallStatus From(CallRecord c) => new(c.CallId, CallResponse.CallName(c.Call), c.Host, c.Process, c.SocketId, c.Args,
        c.Returned ? CallResponse.Returned : CallResponse.Pending, c is { Returned: true, Errno: null } ? c.Result : null, c.Errno,
        c.IssuedAt.Ns, c.ReturnedAt?.Ns, c.Blocked?.Ns, CallResponse.ValueOf(c.Value));
}

/// <summary>
/// A socket and the connection it names. Like a scenario alias, it follows the connection after close():
/// <c>state</c> is that of what the kernel still holds for it (the orphan, the FIN-WAIT-2 or TIME-WAIT entry),
/// and CLOSED once nothing is left; <c>rows</c> are its ss rows (the descriptor's socket, and a timewait entry).
/// While a descriptor is open it names the descriptor's socket: after tcp_time_wait() that is a CLOSE socket
/// with no row, and the TIME-WAIT entry belongs to the socket only once its last descriptor is closed.
/// </summary>
public sealed record SocketResponse(int SocketId, string Host, string? Process, string State, string Local, string Remote,
    long RecvQ, long SendQ, bool Orphan, bool Destroyed, IReadOnlyList<SocketRowView> Rows, LedgerView Ledger,
    IReadOnlyList<CallStatus> PendingCalls, IReadOnlyList<CallStatus> RecentCalls, long NowNs, long Version) : IVersioned;

public sealed record GetSocket(Guid SimulationId, int SocketId) : IQuery<Outcome<SocketResponse>>;

public sealed class GetSocketHandler(LiveSimulations simulations) : IQueryHandler<GetSocket, Outcome<SocketResponse>>
{
    /// <summary>How many of the socket's latest calls the resource lists (the journal has them all).</summary>
    public const int RecentCallCount = 20;

    public ValueTask<Outcome<SocketResponse>> Handle(GetSocket query, CancellationToken cancellationToken) =>
        simulations.ReadAsync<SocketResponse>(query.SimulationId, (engine, run) =>
        {
            if (engine.FindSocket(query.SocketId) is not { } socket)
            {
                return engine.FindDeadSocket(query.SocketId) is { } dead
                    ? FromRecord(engine, run, dead)
                    : new ResourceNotFound(query.SimulationId, "socketId", $"There is no socket {query.SocketId} in the simulation.");
            }
            var rows = SocketListing.RowsOf(socket.Host, socket.Id);
            var state = rows.LastOrDefault()?.State ?? (socket.Destroyed ? TcpState.Close : socket.State);
            var calls = engine.CallsOfSocket(socket.Id).Select(CallStatus.From).ToList();
            var ledger = socket.Ledger;
            return new SocketResponse(socket.Id, socket.Host.Name, socket.Owner?.Name, state.ToDisplayName(),
                socket.Local.ToString(), socket.Remote.ToString(), socket.RecvQueue, socket.SendQueue, socket.IsOrphan, socket.Destroyed,
                [.. rows.Select(row => SocketRowView.From(row, engine.Now))],
                new LedgerView(ledger.Sent, ledger.Accepted, ledger.Delivered, ledger.Lost, ledger.LostReason),
                [.. calls.Where(c => c.Status == CallResponse.Pending)],
                [.. calls.TakeLast(RecentCallCount)],
                engine.Now.Ns, run.Version);
        }, cancellationToken);

    /// <summary>A destroyed socket answers with its final record (and the timewait entry that may outlive it).</summary>
    private static SocketResponse FromRecord(Simulation engine, SimulationRun run, SocketRecord dead)
    {
        var rows = SocketListing.RowsOf(dead.Host, dead.Id);
        var state = rows.LastOrDefault()?.State ?? TcpState.Close;
        var calls = engine.CallsOfSocket(dead.Id).Select(CallStatus.From).ToList();
        var ledger = dead.Ledger;
        return new SocketResponse(dead.Id, dead.Host.Name, null, state.ToDisplayName(), dead.Local.ToString(), dead.Remote.ToString(),
            0, 0, false, true, [.. rows.Select(row => SocketRowView.From(row, engine.Now))],
            new LedgerView(ledger.Sent, ledger.Accepted, ledger.Delivered, ledger.Lost, ledger.LostReason),
            [.. calls.Where(c => c.Status == CallResponse.Pending)],
            [.. calls.TakeLast(RecentCallCount)],
            engine.Now.Ns, run.Version);
    }
}

public sealed record GetCall(Guid SimulationId, long CallId) : IQuery<Outcome<CallStatus>>;

public sealed class GetCallHandler(LiveSimulations simulations) : IQueryHandler<GetCall, Outcome<CallStatus>>
{
    public ValueTask<Outcome<CallStatus>> Handle(GetCall query, CancellationToken cancellationToken) =>
        simulations.ReadAsync<CallStatus>(query.SimulationId, (engine, _) =>
            engine.FindCall(query.CallId) is { } call
                ? CallStatus.From(call)
                : new ResourceNotFound(query.SimulationId, "callId", $"No call {query.CallId} was made in the simulation."),
            cancellationToken);
}
