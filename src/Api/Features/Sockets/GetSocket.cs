using Mediator;
using SimService.Api.Features.Hosts;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
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

/// <summary>A call's life from the journal: issued, and returned (or still pending).</summary>
/// <param name="Args">The call's arguments as the journal describes them ("to=server:80").</param>
/// <param name="BlockedNs">How long the call blocked (0 when it returned at once).</param>
public sealed record CallStatus(long CallId, string Call, string Host, string Process, int SocketId, string Args, string Status,
    long? Result, string? Errno, long IssuedAtNs, long? ReturnedAtNs, long? BlockedNs);

/// <summary>
/// A socket and the connection it names. Like a scenario alias, it follows the connection after close():
/// <c>state</c> is that of what the kernel still holds for it (the orphan, the FIN-WAIT-2 or TIME-WAIT entry),
/// and CLOSED once nothing is left; <c>rows</c> are its ss rows (the descriptor's socket, and a timewait entry).
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
            var calls = CallJournal.Of(engine).Where(c => c.SocketId == socket.Id || c.IssuedOnSocket == socket.Id).ToList();
            var ledger = socket.Ledger;
            return new SocketResponse(socket.Id, socket.Host.Name, socket.Owner?.Name, state.ToDisplayName(),
                socket.Local.ToString(), socket.Remote.ToString(), socket.RecvQueue, socket.SendQueue, socket.IsOrphan, socket.Destroyed,
                [.. rows.Select(row => SocketRowView.From(row, engine.Now))],
                new LedgerView(ledger.Sent, ledger.Accepted, ledger.Delivered, ledger.Lost, ledger.LostReason),
                [.. calls.Where(c => c.Status.Status == CallResponse.Pending).Select(c => c.Status)],
                [.. calls.TakeLast(RecentCallCount).Select(c => c.Status)],
                engine.Now.Ns, run.Version);
        }, cancellationToken);

    /// <summary>A destroyed socket answers with its final record (and the timewait entry that may outlive it).</summary>
    private static SocketResponse FromRecord(Simulation engine, SimulationRun run, SocketRecord dead)
    {
        var rows = SocketListing.RowsOf(dead.Host, dead.Id);
        var state = rows.LastOrDefault()?.State ?? TcpState.Close;
        var calls = CallJournal.Of(engine).Where(c => c.SocketId == dead.Id || c.IssuedOnSocket == dead.Id).ToList();
        var ledger = dead.Ledger;
        return new SocketResponse(dead.Id, dead.Host.Name, null, state.ToDisplayName(), dead.Local.ToString(), dead.Remote.ToString(),
            0, 0, false, true, [.. rows.Select(row => SocketRowView.From(row, engine.Now))],
            new LedgerView(ledger.Sent, ledger.Accepted, ledger.Delivered, ledger.Lost, ledger.LostReason),
            [.. calls.Where(c => c.Status.Status == CallResponse.Pending).Select(c => c.Status)],
            [.. calls.TakeLast(RecentCallCount).Select(c => c.Status)],
            engine.Now.Ns, run.Version);
    }
}

public sealed record GetCall(Guid SimulationId, long CallId) : IQuery<Outcome<CallStatus>>;

public sealed class GetCallHandler(LiveSimulations simulations) : IQueryHandler<GetCall, Outcome<CallStatus>>
{
    public ValueTask<Outcome<CallStatus>> Handle(GetCall query, CancellationToken cancellationToken) =>
        simulations.ReadAsync<CallStatus>(query.SimulationId, (engine, _) =>
            CallJournal.Of(engine).FirstOrDefault(c => c.Status.CallId == query.CallId)?.Status is { } status
                ? status
                : new ResourceNotFound(query.SimulationId, "callId", $"No call {query.CallId} was made in the simulation."),
            cancellationToken);
}

/// <summary>The calls of a simulation, read from its journal (call-issued and call-returned events).</summary>
public static class CallJournal
{
    public sealed record Entry(CallStatus Status, int SocketId, int IssuedOnSocket);

    public static IReadOnlyList<Entry> Of(Simulation engine)
    {
        var issued = new List<(CallIssued Call, int Created)>();
        var returned = new Dictionary<long, CallReturned>();
        var journal = engine.Journal;
        for (int index = 0; index < journal.Count; index++)
        {
            if (journal[index] is CallIssued i) issued.Add((i, i.SocketId == 0 ? CreatedBy(journal, index, i) : 0));
            else if (journal[index] is CallReturned r) returned[r.CallId] = r;
        }
        return issued.ConvertAll(entry =>
        {
            var (i, created) = entry;
            var r = returned.GetValueOrDefault(i.CallId);
            var socketId = r is { SocketId: not 0 } ? r.SocketId : created != 0 ? created : i.SocketId;
            var status = new CallStatus(i.CallId, CallResponse.CallName(i.Call), i.Host, i.Process, socketId, i.Args,
                r is null ? CallResponse.Pending : CallResponse.Returned,
                r is { Errno: null } ? r.Result : null, r?.Errno, i.At.Ns, r?.At.Ns, r?.Blocked.Ns);
            return new Entry(status, status.SocketId, i.SocketId);
        });
    }

    /// <summary>
    /// The socket a call without one created: the engine journals a blocked convenience connect's completion
    /// with socket 0, so it is read from the state change the call made (CLOSED → SYN-SENT, same host and time).
    /// </summary>
    private static int CreatedBy(IReadOnlyList<SimEvent> journal, int index, CallIssued call)
    {
        for (int j = index + 1; j < journal.Count && journal[j].At == call.At; j++)
        {
            if (journal[j] is CallIssued) return 0;
            if (journal[j] is StateChanged { From: TcpState.Close } change && change.Host == call.Host) return change.SocketId;
        }
        return 0;
    }
}
