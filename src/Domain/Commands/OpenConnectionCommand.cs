using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Commands;

/// <summary>
/// "Open a connection": listen on the server if nothing listens on the port, connect from the client, accept
/// on the listener, then run the clock until both calls have returned (or the connect failed, or the budget or
/// the wait ran out) — the ESTABLISHED pair as one logged command. Replaying it runs the same calls and the same
/// event-by-event loop on the same state, so it reproduces the same journal.
/// </summary>
/// <param name="BindPort">Bind the client socket first (0: an ephemeral port), connect's convenience bind.</param>
/// <param name="Backlog">listen()'s backlog when a listener is created.</param>
/// <param name="EventBudget">The most events processed while the handshake runs.</param>
/// <param name="MaxWait">How far the clock may run while the handshake runs.</param>
public sealed record OpenConnectionCommand(string Client, string Server, ushort Port, string ClientProcess, string ServerProcess,
    ushort? BindPort, bool BindReuseAddr, int Backlog, long EventBudget, SimDuration MaxWait) : SimCommand;

/// <summary>What <see cref="OpenConnectionCommand"/> did.</summary>
/// <param name="Listen">The listen call, when no listener was on the port (null otherwise).</param>
/// <param name="ListenerSocketId">The listener that accepts (or the socket a failed listen made).</param>
/// <param name="Connect">The connect call (null when the listen failed, which ends the command).</param>
/// <param name="Accept">The accept call (null when connect failed at once).</param>
/// <param name="Advance">How the clock ran while the handshake ran (null when it did not run).</param>
public sealed record ConnectionOpened(CallHandle? Listen, int ListenerSocketId, CallHandle? Connect, CallHandle? Accept, AdvanceResult? Advance)
{
    /// <summary>The listen call failed (EADDRINUSE …): nothing was connected.</summary>
    public bool ListenFailed => Listen is { Errno: not null };
}

/// <summary>The steps of <see cref="OpenConnectionCommand"/>, each call applied through a given applier.</summary>
public static class ConnectionOpener
{
    /// <summary>
    /// Runs the command. Every call goes through <paramref name="applyCall"/> (the applier, or an exporter that
    /// watches each call); the hosts are checked first, so a refusal leaves the engine untouched.
    /// </summary>
    public static Result<ConnectionOpened> Open(Simulation sim, OpenConnectionCommand c, Func<SocketCallCommand, CommandOutcome> applyCall)
    {
        // The request's fields in order: with neither host there, the client is the one named.
        if (CheckHost(sim, c.Client, "client") is { } badClient) return badClient;
        if (CheckHost(sim, c.Server, "server") is { } badServer) return badServer;
        if (c.EventBudget <= 0) return DomainError.Invalid("the event budget must be positive", "eventBudget");
        if (c.MaxWait.Ns < 0) return DomainError.Invalid("the wait cannot be negative", "maxNs");
        var server = sim.FindHost(c.Server)!;

        CallHandle? listen = null;
        var listener = FindListener(sim, server, c.Port);
        if (listener is null)
        {
            listen = Apply(applyCall, new SocketCallRequest(server.Name, c.ServerProcess, SocketCallKind.Listen) { Port = c.Port, Backlog = c.Backlog });
            if (listen.Value.Errno is not null) return new ConnectionOpened(listen, listen.Value.SocketId, null, null, null);
            listener = sim.FindSocket(listen.Value.SocketId)!;
        }

        var connect = Apply(applyCall, new SocketCallRequest(c.Client, c.ClientProcess, SocketCallKind.Connect)
        {
            ToHost = server.Name,
            ToPort = c.Port,
            BindPort = c.BindPort,
            BindReuseAddr = c.BindReuseAddr,
        });
        if (!connect.Blocked && connect.Errno is not null) return new ConnectionOpened(listen, listener.Id, connect, null, null);

        var accept = Apply(applyCall, new SocketCallRequest(server.Name, listener.Owner?.Name ?? c.ServerProcess, SocketCallKind.Accept)
        {
            SocketId = listener.Id,
        });
        var connectCall = sim.FindCall(connect.CallId)!;
        var acceptCall = sim.FindCall(accept.CallId)!;
        var horizon = new SimTime(sim.Now.Ns > long.MaxValue - c.MaxWait.Ns ? long.MaxValue : sim.Now.Ns + c.MaxWait.Ns);
        var advance = sim.RunUntil(() => connectCall.Returned && (acceptCall.Returned || connectCall.Failed), horizon, c.EventBudget);
        return new ConnectionOpened(listen, listener.Id, connect, accept, advance);
    }

    /// <summary>The socket listening on the port of the host, if any (what the kernel's listening hash would find).</summary>
    public static TcpSocket? FindListener(Simulation sim, Host host, ushort port) =>
        SocketListing.Rows(host).FirstOrDefault(row => row.State == TcpState.Listen && row.Local.Port == port) is { } row
            ? sim.FindSocket(row.SocketId)
            : null;

    static DomainError? CheckHost(Simulation sim, string name, string field) => sim.FindHost(name) switch
    {
        null => DomainError.NotFound($"host '{name}'", field),
        { Kind: not HostKind.Linux } => DomainError.Invalid($"host '{name}' is scripted: it makes no calls", field),
        _ => null,
    };

    /// <summary>The hosts were checked, so the engine cannot refuse the call: a refusal here is a bug.</summary>
    static CallHandle Apply(Func<SocketCallCommand, CommandOutcome> applyCall, SocketCallRequest request)
    {
        var outcome = applyCall(new SocketCallCommand(request));
        return outcome.Call ?? throw new InvalidOperationException($"open connection: {request.Call} was refused: {outcome.Error?.Message}");
    }
}
