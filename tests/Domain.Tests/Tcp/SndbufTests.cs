using SimService.Domain.Time;
using SimService.Domain.Observability;
using SimService.Domain.Journal;
using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// sk_sndbuf as getsockopt(SO_SNDBUF) reports it: tcp_wmem[1] from tcp_init_sock(), then
/// tcp_init_buffer_space() → tcp_sndbuf_expand() when the connection becomes ESTABLISHED
/// (net/ipv4/tcp_input.c): 2 · max(TCP_INIT_CWND, cwnd, reordering + 1) ·
/// (roundup_pow_of_two(max(mss_clamp, mss_cache) + MAX_TCP_HEADER + skb_shared_info 320) + sk_buff 256), with
/// MAX_TCP_HEADER 192 on linux-6 (the judged 6.18.44's config) and 320 on linux-4.4.
/// </summary>
public class SndbufTests
{
    static long SndBuf(TwoHostHarness h, string host, int socketId) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Getsockopt) { SocketId = socketId, Option = SocketOption.SO_SNDBUF }).Result;

    [Fact]
    public void Close_NewSocket_SndbufIsTcpWmemDefault16384()
    {
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);
        Assert.Equal(16384, SndBuf(h, "client", s.SocketId));
    }

    [Fact]
    public void Established_AfterTheHandshake_SndbufIs46080OnBothSides()
    {
        // MSS 1460 (mss_clamp; mss_cache 1448 with timestamps): 1460 + 192 + 320 = 1972 → 2048, + 256 = 2304;
        // 2 · 10 · 2304 = 46080: observed on Linux 6.18.44 (lo MTU 1500, cubic) on both sides, `ss -tm` tb46080.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Assert.Equal(46080, SndBuf(h, "client", c.Id));
        Assert.Equal(46080, SndBuf(h, "server", s.Id));
    }

    [Fact]
    public void Established_Linux44_SndbufIs87040OnBothSides()
    {
        // linux-4.4 keeps MAX_TCP_HEADER 320: 1460 + 320 + 320 = 2100 → 4096, + 256 = 4352; 2 · 10 · 4352 = 87040.
        var h = new TwoHostHarness(profile: SimService.Domain.Engine.KernelProfile.Linux44);
        var (c, s, _) = h.Establish();
        Assert.Equal(87040, SndBuf(h, "client", c.Id));
        Assert.Equal(87040, SndBuf(h, "server", s.Id));
    }

    /// <summary>
    /// tcp_init_transfer() sets snd_cwnd = tcp_init_cwnd() = 10 after the handshake's ACK was processed (the
    /// SYN's ACK is no slow-start growth), so the first write of 100,000 bytes goes out as 10 full segments of
    /// mss_cache 1448 at once; the 11th waits for the first ACK one 20 ms round trip later.
    /// </summary>
    [Fact]
    public void Established_FirstWrite_FirstFlightIsTenSegments()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        var sentAt = h.Sim.Now;
        h.Send(c.Id, 100_000);
        h.At(sentAt + SimDuration.FromMilliseconds(19));

        var flight = h.Sim.Journal.OfType<SegmentSent>().Where(s => s.Host == "client" && s.Len > 0).ToList();
        Assert.Equal(10, flight.Count);
        Assert.All(flight, s => Assert.Equal(sentAt, s.At));
        Assert.All(flight, s => Assert.Equal(1448, s.Len));
        Assert.Contains(" cwnd:10 ", SsFormatter.InfoText(c.Info));
    }

    [Fact]
    public void Established_PeerOffersMss1000_SndbufIs46080()
    {
        // mss_clamp 1000: 1000 + 192 + 320 = 1512 → 2048, + 256 = 2304; 2 · 10 · 2304 = 46080.
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var cc = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var c = h.Sim.FindSocket(cc.SocketId)!;
        h.At(Ms(10));
        Assert.Equal(16384, SndBuf(h, "client", c.Id));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn | TcpFlags.Ack, 7000, c.Iss + 1, 29200, 0,
            new TcpOptions(Mss: 1000, WindowScale: 7, SackPermitted: true)));
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(46080, SndBuf(h, "client", c.Id));
    }

    [Fact]
    public void Established_SoSndbufSetBeforeConnect_LockedAtTwiceTheValue()
    {
        // SOCK_SNDBUF_LOCK: tcp_init_buffer_space() leaves it alone.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var s = h.Call("client", SocketCallKind.Socket);
        h.SetOption(s.SocketId, SocketOption.SO_SNDBUF, 10_000);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s.SocketId, ToHost = "server", ToPort = 80 });
        h.At(Ms(100));
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(s.SocketId)!.State);
        Assert.Equal(20_000, SndBuf(h, "client", s.SocketId));
    }

    [Fact]
    public void Established_TcpWmemMax40000_SndbufCappedAtTcpWmem2()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_wmem", "4096 16384 40000");
        var (c, _, _) = h.Establish();
        Assert.Equal(40_000, SndBuf(h, "client", c.Id));
    }
}
