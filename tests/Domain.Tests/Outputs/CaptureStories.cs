using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Outputs;

/// <summary>Teardown stories whose captures, diagrams and series the output tests read back with real tools.</summary>
public static class CaptureStories
{
    public static readonly string[] Names = ["linger-rst", "orderly-close", "fin-to-blackhole", "zero-window-probes", "sack-after-loss"];

    public static TwoHostHarness Run(string name) => name switch
    {
        "linger-rst" => LingerRst(),
        "orderly-close" => OrderlyClose(),
        "fin-to-blackhole" => FinToBlackhole(),
        "zero-window-probes" => ZeroWindowProbes(),
        "sack-after-loss" => SackAfterLoss(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    /// <summary>SO_LINGER {1,0} then close() on an established connection with unsent data: one RST (tcp_disconnect).</summary>
    static TwoHostHarness LingerRst()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 3000);
        h.At(Ms(200));
        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(1));
        return h;
    }

    /// <summary>Data both ways, the client closes, the server reads EOF and closes: FIN, ACK, FIN, ACK, TIME-WAIT.</summary>
    static TwoHostHarness OrderlyClose()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 5000);
        h.At(Ms(150));
        h.Call("server", SocketCallKind.Recv, s.Id);
        h.Send(s.Id, 700);
        h.At(Ms(300));
        h.Call("client", SocketCallKind.Recv, c.Id);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Recv, s.Id);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(2));
        return h;
    }

    /// <summary>The link toward the server becomes a blackhole, then the client closes: the FIN is retransmitted with backoff.</summary>
    static TwoHostHarness FinToBlackhole()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, null, true));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(40));
        return h;
    }

    /// <summary>The server never reads: its window closes, the client's persist timer probes (tcp_send_probe0).</summary>
    static TwoHostHarness ZeroWindowProbes()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 200_000);
        h.At(S(2));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(20));
        return h;
    }

    /// <summary>A lossy link while the client sends a burst: the server SACKs out-of-order data, the client retransmits, then closes.</summary>
    static TwoHostHarness SackAfterLoss()
    {
        var h = new TwoHostHarness(seed: 3);
        var (c, s, _) = h.Establish();
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, 0.2, null));
        h.Send(c.Id, 40_000);
        h.At(Ms(130));
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, 0.0, null));
        h.At(S(3));
        h.Call("server", SocketCallKind.Recv, s.Id);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(4));
        return h;
    }
}
