using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The tcp_metrics RTT cache (net/ipv4/tcp_metrics.c): tcp_update_metrics() when a connection ends well,
/// tcp_init_metrics() seeding the next connection's first RTO between the same addresses.
/// <para>First connection: handshake at 1 ms (10 ms links), srtt 20 ms on both ends (srtt_us 160000). At 200 ms the
/// links slow to 50 ms. The client closes at 500 ms (FIN). The server gets it at 550 (jiffy 137): tcp_fin() enters
/// ping-pong, and with no data ever received its ato is 0, so the delayed ACK runs at the next tick, 552 ms; the
/// client's FIN sample is 602 − 500 = 102 ms: srtt_us = 160000 + (102000 − 20000) = 242000. The server closes at 570
/// (FIN); the client, in FIN-WAIT-2, gets it at 620 and enters TIME-WAIT: tcp_time_wait() → tcp_update_metrics()
/// caches 242000 (nothing cached yet). Its ACK reaches the server at 670: the FIN sample is 100 ms, srtt_us =
/// 160000 + 80000 = 240000, cached on LAST-ACK → CLOSE.</para>
/// <para>Second connection at <c>secondAt</c>, links back to 10 ms: each end's handshake srtt is again 160000, below the
/// cache, so tcp_init_metrics() sets the first RTO from it: crtt / (8 · USEC_PER_SEC / HZ) = 242000 / 32000 = 7
/// jiffies on the client (240000 / 32000 = 7 on the server's child), 7 + max(14, 50) = 57 jiffies = 228 ms. Without
/// the cache both are the handshake's 220 ms.</para>
/// </summary>
public class TcpMetricsTests
{
    static (long Client, long Server) SecondConnectionRtoUs(SimTime secondAt, Action<TwoHostHarness>? setup = null)
    {
        var (_, client, child) = SecondConnection(secondAt, setup);
        return (client.Info.RtoUs, child.Info.RtoUs);
    }

    static (TwoHostHarness H, TcpSocket Client, TcpSocket Child) SecondConnection(SimTime secondAt, Action<TwoHostHarness>? setup = null)
    {
        var h = new TwoHostHarness();
        setup?.Invoke(h);
        var (c, s, l) = h.Establish();
        h.At(Ms(200));
        h.Sim.ChangeLink("client", "server", oneDirection: false, SimDuration.FromMilliseconds(50), null, null);
        h.At(Ms(500));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(570));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(800));
        Assert.Equal((TcpState.TimeWait, TcpState.Close), (h.StateOf(c), s.State));
        Assert.Equal((30_250L, 30_000L), (c.Info.RttUs, s.Info.RttUs)); // srtt_us >> 3: 242000 / 8, 240000 / 8
        h.Sim.ChangeLink("client", "server", oneDirection: false, SimDuration.FromMilliseconds(10), null, null);
        h.At(secondAt);
        var c2 = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a2 = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.Id });
        h.At(secondAt + SimDuration.FromMilliseconds(99));
        var client = h.Sim.FindSocket(c2.SocketId)!;
        var child = h.Sim.FindSocket(h.Returned(a2.CallId)!.SocketId)!;
        Assert.Equal((TcpState.Established, TcpState.Established), (client.State, child.State));
        Assert.Equal((20_000L, 20_000L), (client.Info.RttUs, child.Info.RttUs)); // the cache leaves srtt alone
        return (h, client, child);
    }

    [Fact]
    public void SynSentAndSynRecv_CachedRttAboveHandshakeSrtt_FirstRtoFromTheCache()
    {
        Assert.Equal((228_000L, 228_000L), SecondConnectionRtoUs(S(1)));
    }

    [Fact]
    public void SynSentAndSynRecv_NoMetricsSave_FirstRtoFromTheHandshake()
    {
        Assert.Equal((220_000L, 220_000L), SecondConnectionRtoUs(S(1), h =>
        {
            h.Sim.SetSysctl("client", "net.ipv4.tcp_no_metrics_save", "1");
            h.Sim.SetSysctl("server", "net.ipv4.tcp_no_metrics_save", "1");
        }));
    }

    /// <summary>TCP_METRICS_TIMEOUT: an entry last updated at jiffy 155 (client, 620 ms) / 167 (server, 670 ms) is
    /// reset by a lookup after jiffy 155 + 900000 / 167 + 900000 — at 3601 s (jiffy 900250) both are.</summary>
    [Fact]
    public void SynSentAndSynRecv_CacheOlderThanAnHour_FirstRtoFromTheHandshake()
    {
        Assert.Equal((220_000L, 220_000L), SecondConnectionRtoUs(S(3601)));
    }

    /// <summary>
    /// A thin stream (tcp_thin_linear_timeouts, one segment out, sent on jiffy 275) whose RTO came from the cache
    /// (228 ms = 57 jiffies; every level-0 timer fires one jiffy after its expiry, calc_index()). The loss probe:
    /// min(srtt/4 + TCP_RTO_MIN = 60, rto 57) jiffies → +232 ms; it re-arms the RTO from then: +464. From there
    /// tcp_retransmit_timer()'s linear branch recomputes the RTO from the estimator, clamp(__tcp_set_rto(), rto_min,
    /// rto_max) = 20 + 200 = 220 ms (55 jiffies, fires after 56: 224 ms) while icsk_retransmits ≤ 6
    /// (TCP_THIN_LINEAR_RETRIES); the 7th RTO (at +1808) doubles it: 440 ms = 110 jiffies, a level-1 timer whose
    /// bucket is the next multiple of 8 after jiffy 837: 840, +2260. Keeping the cached 228 ms would space every
    /// retransmission 232 ms apart.
    /// </summary>
    [Fact]
    public void Established_ThinStreamWithCachedRto_LinearTimeoutsRecomputeTheRto()
    {
        var (h, client, _) = SecondConnection(S(1), h => h.Sim.SetSysctl("client", "net.ipv4.tcp_thin_linear_timeouts", "1"));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var sentAt = S(1) + SimDuration.FromMilliseconds(100); // jiffy 275
        h.At(sentAt);
        h.Send(client.Id, 100);
        h.At(sentAt + SimDuration.FromSeconds(3));
        var gaps = h.Sent("client").Where(s => s.Len == 100).Select(s => (s.At - sentAt).TotalMilliseconds).ToArray();
        Assert.Equal(new long[] { 0, 232, 464, 688, 912, 1136, 1360, 1584, 1808, 2260 }, gaps);
    }
}
