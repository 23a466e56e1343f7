using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The delivery-rate sampler (net/ipv4/tcp_rate.c) and the chronographs (tcp_chrono_start/stop) behind tcp_get_info()'s
/// tcpi_delivery_rate, tcpi_delivery_rate_app_limited, tcpi_busy_time, tcpi_rwnd_limited and tcpi_sndbuf_limited, and
/// `ss -i`'s delivery_rate, app_limited, busy and rwnd_limited.
/// <para>Setup (<see cref="AckedSender"/>): the client is ESTABLISHED at 21 ms (min_rtt 20 ms, mss_cache 1448, cwnd 10,
/// tp->delivered 1 for the SYN); from 200 ms the test injects the server's ACKs. Times are on tp->tcp_mstamp's µs clock;
/// the chronographs count tcp_jiffies32 (HZ 250: 200 ms is jiffy 50, 230 ms jiffy 57, 260 ms jiffy 65, 290 ms jiffy 72).
/// Every send() starts with tcp_rate_check_app_limited(): with the pipe empty, app_limited = delivered + 0 = 1, so the
/// first window is app-limited until an ACK takes tp->delivered past 1.</para>
/// </summary>
public class RateSampleTests
{
    const int Mss = 1448;

    /// <summary>
    /// tcp_init_sock(): app_limited = ~0U and rate_app_limited = 1 ("There's a bubble in the pipe until at least the first
    /// ACK"). The SYN-ACK's tcp_rate_gen() clears app_limited (after(1, ~0U)) but gives no sample: the SYN was counted in
    /// packets_out before it was sent, so tcp_rate_skb_sent() gave it delivered_mstamp 0. Nothing was queued by a send, so
    /// no chrono ran: no delivery_rate, no busy, and ss prints app_limited.
    /// </summary>
    [Fact]
    public void Established_HandshakeOnly_AppLimitedWithoutRateOrBusy()
    {
        var f = new AckedSender();
        var i = f.C.Info;
        Assert.Equal((0UL, true, 0L, 0L, 0L), (i.DeliveryRate, i.DeliveryRateAppLimited, i.BusyTimeUs, i.RwndLimitedUs, i.SndbufLimitedUs));
        Assert.Contains(" delivered:1 app_limited rcv_space:", SsFormatter.InfoText(i));
    }

    /// <summary>
    /// 10 segments at 200 ms into an empty pipe: tcp_rate_skb_sent() sets first_tx_mstamp = delivered_mstamp = 200000 and
    /// records delivered 1, app-limited. Their ACK at 230 ms: the last one (ties by end_seq) gives prior_delivered 1,
    /// prior_mstamp 200000, send phase 0; tcp_rate_gen(): delivered 11 − 1 = 10, ACK phase 230000 − 200000 = 30000 µs
    /// ≥ min_rtt 20000, recorded although app-limited (nothing recorded yet: 10 · 0 ≥ 0 · 30000). Rate: 10 · 1448 · 10^6 /
    /// 30000 = 482666 B/s (u64 division), ss: · 8 = 3861328 bps. Busy from the first skb's tcp_add_write_queue_tail() at
    /// jiffy 50 to the ACK that emptied both queues (tcp_clean_rtx_queue() → tcp_chrono_stop()) at jiffy 57: 7 jiffies =
    /// 28000 µs, and no longer counting at 1 s.
    /// </summary>
    [Fact]
    public void Established_WindowAckedAt230_RateFromAckPhaseAppLimitedBusy28ms()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 10 * Mss);
        f.Ack(Ms(230), 10 * Mss);

        var i = f.C.Info;
        Assert.Equal((482666UL, true, 11L, 28000L), (i.DeliveryRate, i.DeliveryRateAppLimited, i.Delivered, i.BusyTimeUs));
        Assert.Contains(" delivery_rate 3861328bps delivered:11 app_limited busy:28ms rcv_space:", SsFormatter.InfoText(i));
        f.H.At(Ms(1000));
        Assert.Equal(28000L, f.C.Info.BusyTimeUs);
    }

    /// <summary>
    /// 20 segments: 10 at 200 ms (app-limited), and 10 at 230 ms once that ACK has cleared app_limited (after(11, 1)) and
    /// emptied the pipe, so they start a new window (first_tx_mstamp = delivered_mstamp = 230000, delivered 11, not
    /// app-limited). Their ACK at 260 ms: delivered 21 − 11 = 10 over max(0, 30000) µs, recorded as not app-limited: ss
    /// drops app_limited. Busy runs without a break from jiffy 50 (at 230 ms the write queue still held the second window,
    /// so tcp_chrono_stop() only restarted the busy chrono) to jiffy 65: 15 jiffies = 60 ms.
    /// </summary>
    [Fact]
    public void Established_SecondWindowSentAfterFirstAck_SampleNotAppLimited()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 20 * Mss);
        f.Ack(Ms(230), 10 * Mss);
        Assert.Equal(10, f.DataAt(Ms(230)).Length);
        f.Ack(Ms(260), 20 * Mss);

        var i = f.C.Info;
        Assert.Equal((482666UL, false, 21L, 60000L), (i.DeliveryRate, i.DeliveryRateAppLimited, i.Delivered, i.BusyTimeUs));
        Assert.Contains(" delivery_rate 3861328bps delivered:21 busy:60ms rcv_space:", SsFormatter.InfoText(i));
    }

    /// <summary>
    /// ACK compression: A1, A2 at 200 ms; A1's ACK at 230 ms sets first_tx_mstamp to A1's 200000 and delivered_mstamp to
    /// 230000 (sample 1 / 30000 µs, app-limited, recorded). B at 231 ms into a pipe still holding A2 keeps those:
    /// tx.first_tx_mstamp 200000, tx.delivered_mstamp 230000, tx.delivered 2. One ACK of A2 and B at 250 ms: B, sent last,
    /// wins; send phase 231000 − 200000 = 31000 µs beats the ACK phase 250000 − 230000 = 20000 µs, above min_rtt (B's
    /// 19000 µs sample). delivered 4 − 2 = 2; app-limited (B's send() set app_limited = 2 + 1 in flight = 3) but faster
    /// than the recorded one (2 · 30000 ≥ 1 · 31000): 2 · 1448 · 10^6 / 31000 = 93419 B/s.
    /// </summary>
    [Fact]
    public void Established_CompressedAck_SendPhaseLongerThanAckPhase()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 2 * Mss);
        f.Ack(Ms(230), Mss);
        Assert.Equal((1448UL * 1_000_000 / 30000, true), (f.C.Info.DeliveryRate, f.C.Info.DeliveryRateAppLimited));
        f.H.At(Ms(231));
        f.H.Send(f.C.Id, Mss);
        Assert.Single(f.DataAt(Ms(231)));
        f.Ack(Ms(250), 3 * Mss);

        var i = f.C.Info;
        Assert.Equal((19000L, 93419UL, true), (i.MinRttUs, i.DeliveryRate, i.DeliveryRateAppLimited));
        Assert.Contains(" delivery_rate 747352bps delivered:4 app_limited ", SsFormatter.InfoText(i));
    }

    /// <summary>
    /// "Record the last non-app-limited or the highest app-limited bw": after 10 / 30000 µs, one app-limited segment at
    /// 300 ms acknowledged at 400 ms is 1 / 100000 µs — slower (1 · 30000 &lt; 10 · 100000), so the first rate stays.
    /// </summary>
    [Fact]
    public void Established_SlowerAppLimitedSample_KeepsRecordedRate()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 10 * Mss);
        f.Ack(Ms(230), 10 * Mss);
        f.H.At(Ms(300));
        f.H.Send(f.C.Id, Mss);
        f.Ack(Ms(400), 11 * Mss);

        Assert.Equal((482666UL, true, 12L), (f.C.Info.DeliveryRate, f.C.Info.DeliveryRateAppLimited, f.C.Info.Delivered));
    }

    /// <summary>
    /// 20 segments: 10 at 200 ms; the ACK at 230 ms shrinks the window to 7 · 1024 = 7168 bytes past 14480, so
    /// tcp_write_xmit() sends 4 (two TSO chunks of 2) and stops at tcp_snd_wnd_test() — the next chunk's first MSS
    /// does not fit: rwnd-limited from jiffy 57 (busy 50→57 = 7 jiffies). (A window of 8 units would end inside that
    /// chunk's second segment, and tcp_mss_split_point() would send it cut at the window's edge.)
    /// The ACK at 260 ms opens it again: the last 6 go and tcp_chrono_stop(RWND_LIMITED) returns to busy (rwnd 57→65 =
    /// 8 jiffies); the ACK at 290 ms empties the queues (busy 65→72 = 7). tcp_get_info_chrono_stats(): busy_time =
    /// (14 + 8) · 4000 = 88000 µs, rwnd_limited 32000 µs; ss "%.1f%%" of 100 · 32000 / 88000 = 36.36…: 36.4. The last
    /// sample: the 6 sent at 260 ms into an empty pipe, 6 / 30000 µs: 6 · 1448 · 10^6 / 30000 = 289600 B/s.
    /// </summary>
    [Fact]
    public void Established_PeerWindowShrinks_RwndLimitedChrono()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 20 * Mss);
        f.Ack(Ms(230), 10 * Mss, window: 7);
        Assert.Equal(4, f.DataAt(Ms(230)).Length);
        f.Ack(Ms(260), 14 * Mss);
        Assert.Equal(6, f.DataAt(Ms(260)).Length);
        f.Ack(Ms(290), 20 * Mss);

        var i = f.C.Info;
        Assert.Equal((88000L, 32000L, 0L), (i.BusyTimeUs, i.RwndLimitedUs, i.SndbufLimitedUs));
        Assert.Equal((289600UL, false), (i.DeliveryRate, i.DeliveryRateAppLimited));
        Assert.Contains(" delivery_rate 2316800bps delivered:21 busy:88ms rwnd_limited:32ms(36.4%) rcv_space:", SsFormatter.InfoText(i));
    }

    /// <summary>
    /// tcp_reset() → tcp_write_queue_purge() runs tcp_chrono_stop(BUSY) before it frees the queues: they are not empty
    /// yet, so the busy chrono is only restarted and keeps counting on the closed socket: at 1 s, jiffy 250 − 50 = 200
    /// jiffies = 800000 µs.
    /// </summary>
    [Fact]
    public void Established_ResetWithDataInFlight_BusyKeepsCounting()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 10 * Mss);
        f.H.Sim.Schedule(Ms(250), f.H.Client, new Segment(f.S.Tuple, TcpFlags.Rst, f.S.Iss + 1, 0, 0, 0, TcpOptions.None));
        f.H.At(Ms(1000));

        Assert.Equal(TcpState.Close, f.C.State);
        Assert.Equal(800000L, f.C.Info.BusyTimeUs);
    }

    /// <summary>
    /// The server's accepted child inherits the listener's pristine tcp_sock (tcp_create_openreq_child() clears neither
    /// app_limited nor rate_app_limited) and its handshake ACK takes tcp_ack()'s no_queue path (no tcp_rate_gen()): ss
    /// shows app_limited; the listener's line stops before it (tcp_get_info() returns early for TCP_LISTEN).
    /// </summary>
    [Fact]
    public void SynRecvChild_HandshakeAck_InheritsListenersAppLimited()
    {
        var h = new TwoHostHarness();
        var (_, s, l) = h.Establish();
        Assert.True(s.Info.DeliveryRateAppLimited);
        Assert.False(l.Info.DeliveryRateAppLimited);
        Assert.Equal(" cubic cwnd:10", SsFormatter.InfoText(l.Info));
    }

    /// <summary>linux-4.4's struct tcp_info ends before tcpi_delivery_rate (4.9) and the chrono stats (4.10): all 0.</summary>
    [Fact]
    public void Linux44_WindowAcked_NoRateFields()
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 10 * Mss);
        h.At(Ms(300));
        var i = c.Info;
        Assert.Equal((0UL, false, 0L), (i.DeliveryRate, i.DeliveryRateAppLimited, i.BusyTimeUs));
    }

    /// <summary>
    /// ss prints sndbuf_limited, like rwnd_limited, only inside busy, with glibc's "%.1f": the double's exact value
    /// rounded, a tie to even — 100 · 4000 / 1600000 = 0.25 exactly prints 0.2 (.NET's "F1" would say 0.3).
    /// </summary>
    [Fact]
    public void InfoText_SndbufLimitedTie_PrintsAsGlibcPercent()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        var i = c.Info with { BusyTimeUs = 1_600_000, SndbufLimitedUs = 4000 };
        Assert.Contains(" app_limited busy:1600ms sndbuf_limited:4ms(0.2%) rcv_space:", SsFormatter.InfoText(i));
        Assert.DoesNotContain("sndbuf_limited", SsFormatter.InfoText(i with { BusyTimeUs = 0 }));
    }

    [Theory]
    [InlineData(0.25, "0.2")]
    [InlineData(0.75, "0.8")]
    [InlineData(12.25, "12.2")]
    [InlineData(0.35, "0.3")] // 0.34999999999999997779…
    [InlineData(36.36363636363637, "36.4")]
    [InlineData(100.0, "100.0")]
    [InlineData(0.0, "0.0")]
    public void FixedOne_Double_FormatsAsGlibcPercentPointOneF(double value, string text) =>
        Assert.Equal(text, SsFormatter.FixedOne(value));
}
