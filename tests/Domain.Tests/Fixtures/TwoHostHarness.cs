using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Fixtures;

/// <summary>
/// A client (10.0.0.1) and a server (10.0.0.2) joined by one link (10 ms one way unless told),
/// driven by socket calls at exact virtual times; exposes the journal, sockets and counters.
/// </summary>
public sealed class TwoHostHarness
{
    public Simulation Sim { get; }
    public Host Client { get; }
    public Host Server { get; }

    public TwoHostHarness(long seed = 1, KernelProfile profile = KernelProfile.Linux6, double delayMs = 10)
    {
        Sim = new Simulation(profile, seed);
        Client = Sim.AddHost("client", IPv4.Parse("10.0.0.1")).Value!;
        Server = Sim.AddHost("server", IPv4.Parse("10.0.0.2")).Value!;
        Sim.AddLink("client", "server", new SimDuration((long)(delayMs * 1_000_000)), 0);
    }

    public static SimTime Ms(double ms) => new((long)Math.Round(ms * 1_000_000));
    public static SimTime S(double s) => new((long)Math.Round(s * 1_000_000_000));

    public void At(SimTime t) => Sim.RunUntil(t);

    public CallHandle Call(SocketCallRequest r)
    {
        var result = Sim.Call(r);
        Assert.True(result.IsOk, result.Error?.Message);
        return result.Value;
    }

    public CallHandle Call(string host, SocketCallKind kind, int socket = 0, string process = "app") =>
        Call(new SocketCallRequest(host, process, kind) { SocketId = socket });

    /// <summary>A listener on server:80 made as socket(), setsockopt(<paramref name="option"/>, <paramref name="value"/>), bind(), listen().</summary>
    public CallHandle ListenWithOption(SocketOption option, int value, int backlog = 128)
    {
        var l = Call("server", SocketCallKind.Socket);
        SetOption(l.SocketId, option, value);
        Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = l.SocketId, Port = 80 });
        Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = l.SocketId, Backlog = backlog });
        return l;
    }

    /// <summary>Listener on server:80 at t=0, client connect and server accept at 1 ms, run to 100 ms: both ESTABLISHED.</summary>
    public (TcpSocket Client, TcpSocket Server, TcpSocket Listener) Establish(double atMs = 1)
    {
        var l = Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        At(Ms(atMs));
        var c = Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        At(Ms(atMs + 99));
        var accepted = Returned(a.CallId);
        Assert.NotNull(accepted);
        return (Sim.FindSocket(c.SocketId)!, Sim.FindSocket(accepted!.SocketId)!, Sim.FindSocket(l.SocketId)!);
    }

    public CallReturned? Returned(long callId) => Sim.Journal.OfType<CallReturned>().FirstOrDefault(e => e.CallId == callId);

    public IEnumerable<SegmentSent> Sent(string from) => Sim.Journal.OfType<SegmentSent>().Where(s => s.Host == from);

    public IEnumerable<SegmentSent> Segments() => Sim.Journal.OfType<SegmentSent>();

    public IEnumerable<StateChanged> States(int socketId) => Sim.Journal.OfType<StateChanged>().Where(s => s.SocketId == socketId);

    /// <summary>The connection's current state as `ss` would show it (timewait substate, or CLOSED when nothing is left).</summary>
    public TcpState StateOf(TcpSocket sk)
    {
        if (!sk.Destroyed && sk.IsHashed) return sk.State;
        foreach (var tw in sk.Host.TimeWaitSockets)
            if (tw.SocketId == sk.Id) return tw.Substate;
        return TcpState.Close;
    }

    public string Trace() => string.Join("\n", Segments().Select(s =>
        $"{s.At} {s.Host} {s.Flags.ToLetters()} seq={s.SeqNo} ack={s.AckNo} len={s.Len} win={s.Win} ({s.Reason})"));

    /// <summary>Hands a crafted segment to a host now, as if it had just arrived (packetdrill-style injection).</summary>
    public void Deliver(Host to, Segment seg) => ((IEventTarget)to).OnDue(Sim, seg);

    /// <summary>A segment from the server's side of a connection to the client.</summary>
    public static Segment From(TcpSocket peer, TcpFlags flags, uint seq, uint ack, int len = 0, TcpOptions? options = null) =>
        new(peer.Tuple, flags, seq, ack, 502, len, options ?? TcpOptions.None);

    public TimeWaitSocket? TimeWaitOf(TcpSocket sk) => sk.Host.TimeWaitSockets.FirstOrDefault(t => t.SocketId == sk.Id);

    /// <summary>send() on a socket by its owning host's "app" process.</summary>
    public CallHandle Send(int socketId, long bytes) =>
        Call(new SocketCallRequest(Sim.FindSocket(socketId)!.Host.Name, "app", SocketCallKind.Send) { SocketId = socketId, Bytes = bytes });

    /// <summary>getsockopt() on a socket by its owning host's "app" process.</summary>
    public CallHandle GetOption(int socketId, SocketOption option) =>
        Call(new SocketCallRequest(Sim.FindSocket(socketId)!.Host.Name, "app", SocketCallKind.Getsockopt) { SocketId = socketId, Option = option });

    /// <summary>setsockopt() on a socket by its owning host's "app" process (SO_LINGER takes <paramref name="lingerOnOff"/>).</summary>
    public CallHandle SetOption(int socketId, SocketOption option, int value, int lingerOnOff = 0) =>
        Call(new SocketCallRequest(Sim.FindSocket(socketId)!.Host.Name, "app", SocketCallKind.Setsockopt)
            { SocketId = socketId, Option = option, Value = value, LingerOnOff = lingerOnOff });

    /// <summary>SO_LINGER {1, 0} then close() by the socket's owning host's "app": tcp_disconnect() sends a RST.</summary>
    public CallHandle CloseWithRst(int socketId)
    {
        SetOption(socketId, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        return Call(Sim.FindSocket(socketId)!.Host.Name, SocketCallKind.Close, socketId);
    }
}
