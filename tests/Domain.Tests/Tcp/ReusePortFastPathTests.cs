using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// inet_csk_get_port()'s SO_REUSEPORT fast path — net/ipv4/inet_connection_sock.c: sk_reuseport_match() lets a
/// SO_REUSEPORT socket (with no reuseport group yet) onto a port whose bucket is FASTREUSEPORT_STRICT — the last socket
/// that joined through inet_csk_get_port() had SO_REUSEPORT — when the bucket's fast_rcv_saddr is its address or
/// INADDR_ANY, without walking the owners. Each case observed on Linux 6.18.44
/// (scenarios/observed-2host-reuseport-fast-path-skips-the-owner-walk.json). Sockets on the server host, 10.0.0.2.
/// </summary>
public class ReusePortFastPathTests
{
    static int Socket(TwoHostHarness h, params SocketOption[] options)
    {
        int s = h.Call("server", SocketCallKind.Socket).SocketId;
        foreach (var option in options) Assert.Null(h.SetOption(s, option, 1).Errno);
        return s;
    }

    static string? Bind(TwoHostHarness h, int socket, ushort port, string? address = null) =>
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = socket, Port = port, Address = address }).Errno;

    /// <summary>The calls' results in order: 0 or the errno.</summary>
    static string Results(IEnumerable<string?> errnos) => string.Join(' ', errnos.Select(e => e ?? "0"));

    static string? Listen(TwoHostHarness h, int socket) =>
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = socket, Backlog = 1 }).Errno;

    [Fact]
    public void Close_ReuseAddrOwnerThenBothOptions_AReusePortOnlyBindSkipsTheOwnerWalk()
    {
        // a (SO_REUSEADDR) and b (both options) share 8083 through SO_REUSEADDR; b leaves the bucket FASTREUSEPORT_STRICT
        // on 0.0.0.0, so c (SO_REUSEPORT alone) is let on at once, although a has no SO_REUSEPORT and c no SO_REUSEADDR;
        // d (neither) walks the owners and conflicts.
        var h = new TwoHostHarness();
        string?[] binds =
        [
            Bind(h, Socket(h, SocketOption.SO_REUSEADDR), 8083),
            Bind(h, Socket(h, SocketOption.SO_REUSEADDR, SocketOption.SO_REUSEPORT), 8083),
            Bind(h, Socket(h, SocketOption.SO_REUSEPORT), 8083),
            Bind(h, Socket(h), 8083),
        ];

        Assert.Equal("0 0 0 EADDRINUSE", Results(binds));
    }

    [Fact]
    public void Close_OwnerClearsReusePortAfterBind_TheNextReusePortSocketBindsAndListensTheFirstCannotListen()
    {
        var h = new TwoHostHarness();
        int a = Socket(h, SocketOption.SO_REUSEPORT);
        Assert.Null(Bind(h, a, 8084));
        Assert.Null(h.SetOption(a, SocketOption.SO_REUSEPORT, 0).Errno);
        int b = Socket(h, SocketOption.SO_REUSEPORT);

        var results = (Bind(h, b, 8084), Listen(h, b), Listen(h, a));

        Assert.Equal(((string?)null, (string?)null, Errno.EADDRINUSE), results);
        Assert.Equal((TcpState.Listen, TcpState.Close), (h.Sim.FindSocket(b)!.State, h.Sim.FindSocket(a)!.State));
    }

    [Fact]
    public void Close_FastAddressIsTheLastReusePortOwnersOwn_AWildcardBindWalksTheOwners()
    {
        // fast_rcv_saddr 10.0.0.2 matches a bind to 10.0.0.2 only (match_sk2_wildcard false): a bind to 0.0.0.0 walks
        // the owners and meets a, which cleared SO_REUSEPORT.
        var h = new TwoHostHarness();
        int a = Socket(h, SocketOption.SO_REUSEPORT);
        Assert.Null(Bind(h, a, 8085, "10.0.0.2"));
        Assert.Null(h.SetOption(a, SocketOption.SO_REUSEPORT, 0).Errno);

        var results = (Bind(h, Socket(h, SocketOption.SO_REUSEPORT), 8085), Bind(h, Socket(h, SocketOption.SO_REUSEPORT), 8085, "10.0.0.2"));

        Assert.Equal((Errno.EADDRINUSE, (string?)null), results);
    }

    [Fact]
    public void Close_ALaterOwnerWithoutReusePort_EndsTheFastPath()
    {
        // a (both options) makes 8086 FASTREUSEPORT_STRICT; b (SO_REUSEADDR alone) joins and sets fastreuseport 0;
        // c (SO_REUSEPORT alone) must then walk the owners and meets b.
        var h = new TwoHostHarness();
        string?[] binds =
        [
            Bind(h, Socket(h, SocketOption.SO_REUSEADDR, SocketOption.SO_REUSEPORT), 8086),
            Bind(h, Socket(h, SocketOption.SO_REUSEADDR), 8086),
            Bind(h, Socket(h, SocketOption.SO_REUSEPORT), 8086),
        ];

        Assert.Equal("0 0 EADDRINUSE", Results(binds));
    }
}
