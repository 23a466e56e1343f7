using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_snd_wnd_test() — net/ipv4/tcp_output.c: an skb is tested by its end_seq, the FIN's sequence byte included,
/// unless it is longer than one MSS (then only seq + mss). Established by 100 ms (10 ms links, RTO 220 ms, MSS
/// 1448), window scaling off on the server so its window field is the window; then the link is cut and the test
/// speaks for the server.
/// </summary>
public class FinWindowTests
{
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) EstablishedUnscaled()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("server", "net.ipv4.tcp_window_scaling", "0");
        var (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        return (h, c, s);
    }

    /// <summary>An ACK from the server at <paramref name="ms"/>, of <paramref name="acked"/> bytes past the client's ISN + 1.</summary>
    static void AckAt(TwoHostHarness h, TcpSocket c, TcpSocket s, double ms, uint acked, ushort window)
    {
        h.At(Ms(ms));
        h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Ack, s.SndNxt, c.Iss + 1 + acked, window, 0, TcpOptions.None));
    }

    /// <summary>The server's window becomes <paramref name="window"/> at 105 ms; the client writes <paramref name="bytes"/> and closes.</summary>
    static void WriteAndCloseBehindWindow(TwoHostHarness h, TcpSocket c, TcpSocket s, ushort window, long bytes)
    {
        AckAt(h, c, s, 105, 0, window);
        h.Send(c.Id, bytes);
        h.Call("client", SocketCallKind.Close, c.Id);
    }

    static List<(SimTime At, string Flags, uint Seq, int Len, string Reason)> ClientSentAfter(TwoHostHarness h, TcpSocket c, double ms) =>
        [.. h.Sent("client").Where(x => x.At > Ms(ms)).Select(x => (x.At, x.Flags.ToLetters(), x.SeqNo - c.Iss, x.Len, x.Reason))];

    [Fact]
    public void FinWait1_DataAndFinBehindWindowOf1000_DataByProbeThenLoneFinAfterTheAck()
    {
        var (h, c, s) = EstablishedUnscaled();
        WriteAndCloseBehindWindow(h, c, s, 1000, 2000);
        Assert.Equal(TcpState.FinWait1, c.State);
        // The 2000-byte skb + FIN: its first MSS (1448) does not fit 1000 — nothing; tcp_check_probe_timer():
        // tcp_probe0_base() = 220 ms = 55 jiffies from jiffy 26 → 81, run at 82 (328 ms). tcp_write_wakeup() cuts
        // the window's 1000 bytes off with PSH.
        AckAt(h, c, s, 338, 1000, 1000);
        // The rest is 1000 bytes + FIN, one MSS or less: end_seq 2001 is past the window's end 2000, so nothing is
        // sent (the engine used to send the 1000 bytes here and the FIN on the next ACK). Probe again from jiffy 84:
        // 84 + 55 → run at 140 (560 ms); tcp_write_wakeup() sends the data, the FIN stays behind with the PSH
        // tcp_fragment() moved onto it.
        AckAt(h, c, s, 570, 2000, 1000);
        AckAt(h, c, s, 580, 2001, 1000);
        Assert.Equal(
            [(Ms(328), "P.", 1u, 1000, "tcp_write_wakeup"), (Ms(560), "P.", 1001u, 1000, "tcp_write_wakeup"),
             (Ms(570), "FP.", 2001u, 0, "tcp_data_snd_check")],
            ClientSentAfter(h, c, 100));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c)); // an orphan: the timewait socket in its FIN-WAIT-2 substate
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPWinProbe]);
    }

    /// <summary>
    /// tcp_write_wakeup() compares the window with the skb's end_seq, FIN included, and tcp_fragment() cuts the 1000
    /// bytes off the 1000 + FIN skb: the FIN becomes an skb of its own (two send skbs, its head queued). The
    /// data's ACK frees the data skb whole, so the FIN's ACK finds a head skb that starts at the prior snd_una — no
    /// "non-retransmitted hole got filled" in tcp_clean_rtx_queue(). The engine kept data and FIN one skb and counted
    /// TCPSACKReorder 1 at the FIN's ACK; Linux 6.18.44 counts none (both ends of a loopback connection shutting down
    /// behind zero windows, their last data sent by a window probe: TCPSACKReorder 0 on the kernel, 2 on the engine).
    /// </summary>
    [Fact]
    public void FinWait1_WindowProbeCutsTheFinOff_ItsAckCountsNoReordering()
    {
        var (h, c, s) = EstablishedUnscaled();
        WriteAndCloseBehindWindow(h, c, s, 1000, 2000);
        AckAt(h, c, s, 338, 1000, 1000);
        long before = c.WmemQueued;
        h.At(Ms(561));
        Assert.Equal((2, before + 832), (c.SendSkbCount, c.WmemQueued)); // the FIN skb's head, as tcp_stream_alloc_skb() charges it
        AckAt(h, c, s, 570, 2000, 1000);
        AckAt(h, c, s, 580, 2001, 1000);
        Assert.Equal((0L, 0L), (h.Client.Mib[MibCounter.TcpExtTCPSACKReorder], h.Client.Mib[MibCounter.TcpExtTCPTSReorder]));
    }

    [Fact]
    public void FinWait1_DataAndFinFitOnlyWithoutTheFinByte_NothingSentUntilTheWindowTakesTheFin()
    {
        var (h, c, s) = EstablishedUnscaled();
        AckAt(h, c, s, 105, 0, 1000);
        h.Send(c.Id, 1000);
        AckAt(h, c, s, 115, 1000, 0);
        h.Send(c.Id, 1000);
        h.Call("client", SocketCallKind.Close, c.Id);
        // A window update of exactly 1000: the tail skb (1000 + FIN) needs 1001.
        AckAt(h, c, s, 120, 1000, 1000);
        Assert.Equal([(Ms(105), "P.", 1u, 1000, "tcp_sendmsg")], ClientSentAfter(h, c, 100));
        // One more byte of window and data and FIN leave together.
        AckAt(h, c, s, 125, 1000, 1001);
        Assert.Equal((Ms(125), "FP.", 1001u, 1000), ClientSentAfter(h, c, 100).Select(x => (x.At, x.Flags, x.Seq, x.Len)).Last());
    }

    [Fact]
    public void FinWait1_MultiMssSkbWithFinAndWindowEqualToItsData_SentWholeFinOnePastTheWindow()
    {
        var (h, c, s) = EstablishedUnscaled();
        WriteAndCloseBehindWindow(h, c, s, 0, 2000);
        Assert.Empty(ClientSentAfter(h, c, 100));
        // 2000 bytes + FIN is longer than one MSS: tcp_snd_wnd_test() checks seq + 1448 only, and
        // tcp_mss_split_point() takes min(skb->len, window) = the whole skb — its FIN ends one past the window.
        AckAt(h, c, s, 150, 0, 2000);
        Assert.Equal([(Ms(150), ".", 1u, 1448), (Ms(150), "FP.", 1449u, 552)],
            ClientSentAfter(h, c, 100).Select(x => (x.At, x.Flags, x.Seq, x.Len)));
    }

    /// <summary>
    /// tcp_mss_split_point(): inside a multi-MSS skb (here a two-segment TSO chunk: tcp_tso_autosize() gives 2 at a
    /// 20 ms RTT) the window's edge cuts the skb where it falls — needed = min(skb->len, window), and the partial last
    /// segment goes unless tcp_nagle_check() holds it (nothing in flight here) — and tso_fragment() moves PSH and the
    /// FIN onto the rest. The engine used to stop at the last whole MSS, leaving 552 bytes of window unused.
    /// </summary>
    [Fact]
    public void FinWait1_WindowEdgeInsideTheSecondSegment_CutThereAndTheFinStaysOnTheRest()
    {
        var (h, c, s) = EstablishedUnscaled();
        WriteAndCloseBehindWindow(h, c, s, 0, 5000);
        AckAt(h, c, s, 150, 0, 2000);
        AckAt(h, c, s, 170, 2000, 2000);
        AckAt(h, c, s, 190, 4000, 2000);
        Assert.Equal(
            [(Ms(150), ".", 1u, 1448), (Ms(150), "P.", 1449u, 552), (Ms(170), ".", 2001u, 1448), (Ms(170), "P.", 3449u, 552),
             (Ms(190), "FP.", 4001u, 1000)],
            ClientSentAfter(h, c, 100).Select(x => (x.At, x.Flags, x.Seq, x.Len)));
    }

    /// <summary>
    /// tcp_mss_split_point() asks tcp_nagle_check(partial, tp, nonagle) before cutting at the window's edge: with Nagle
    /// on, packets in flight and an unacknowledged small segment (Minshall: snd_una &lt; snd_sml ≤ snd_nxt — the 552 bytes
    /// cut at 150 ms) it splits at the last whole MSS instead; TCP_NODELAY (nonagle TCP_NAGLE_OFF) cuts at the edge.
    /// The ACK at 170 ms takes only the first segment and opens the window to 3949: 1948 bytes from 2001.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FinWait1_WindowEdgeInsideASegmentWhileASmallOneIsUnacked_NagleCutsAtTheMssNoDelayAtTheEdge(bool noDelay)
    {
        var (h, c, s) = EstablishedUnscaled();
        if (noDelay) h.SetOption(c.Id, SocketOption.TCP_NODELAY, 1);
        WriteAndCloseBehindWindow(h, c, s, 0, 5000);
        AckAt(h, c, s, 150, 0, 2000);
        AckAt(h, c, s, 170, 1448, 2500);
        (SimTime, string, uint, int)[] at170 = noDelay
            ? [(Ms(170), ".", 2001u, 1448), (Ms(170), "P.", 3449u, 500)]
            : [(Ms(170), ".", 2001u, 1448)];
        Assert.Equal(at170, ClientSentAfter(h, c, 160).Where(x => x.At == Ms(170)).Select(x => (x.At, x.Flags, x.Seq, x.Len)));
    }

    /// <summary>
    /// tcp_write_wakeup() sends the window's piece with tcp_transmit_skb() and tcp_event_new_data_sent() alone — not
    /// through tcp_write_xmit(), so no loss probe is scheduled (tcp_schedule_loss_probe()) and snd_sml stays:
    /// tcp_rearm_rto() arms the RTO (nothing was in flight). Unacknowledged, the piece is resent by the RTO at
    /// 328 ms + 220 ms (55 jiffies from jiffy 82, run at 138: 552 ms), then after the doubled 440 ms (110 jiffies to 248, a
    /// level-1 wheel timer run at 256: 1.024 s) — not by a loss probe at 552 ms and an RTO 220 ms later, as the engine did.
    /// </summary>
    [Fact]
    public void FinWait1_WindowProbeDataNeverAcked_ResentByTheRtoNotALossProbe()
    {
        var (h, c, s) = EstablishedUnscaled();
        WriteAndCloseBehindWindow(h, c, s, 1000, 2000);
        h.At(Ms(1200));
        Assert.Equal(
            [(Ms(328), "P.", 1u, 1000, "tcp_write_wakeup"), (Ms(552), "P.", 1u, 1000, "tcp_retransmit_timer"),
             (Ms(1024), "P.", 1u, 1000, "tcp_retransmit_timer")],
            ClientSentAfter(h, c, 100));
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPLossProbes]);
    }

    /// <summary>
    /// __tcp_retransmit_skb() limits a retransmission to what is left of the window: avail_wnd = tcp_wnd_end() − seq,
    /// len = rounddown(avail_wnd, mss) or avail_wnd below one MSS, the skb cut there (tcp_fragment(): PSH and FIN stay
    /// on the rest); one that starts past the window and is not at snd_una is not resent (-EAGAIN). Corked, 3000 bytes
    /// and close() at 100 ms: two full segments, then "FP." 2897:3001 at close. At 110 ms the peer acknowledges the
    /// first segment and shrinks its window to 1000 (right edge 2449, below snd_nxt). The loss probe would resend the
    /// tail at 152 ms, but it starts past the window: nothing is sent and the RTO is re-armed from the head's send time
    /// (100 ms + 220 ms, run at 324 ms), when it resends the 1000 bytes of the head segment that fit. The engine used to
    /// resend the tail by a loss probe at 152 ms and the whole head segment at 376 ms.
    /// </summary>
    [Fact]
    public void FinWait1_PeerShrinksItsWindowBelowWhatIsInFlight_NoLossProbeAndTheRtoResendsOnlyWhatFits()
    {
        var (h, c, s) = EstablishedUnscaled();
        h.SetOption(c.Id, SocketOption.TCP_CORK, 1);
        h.Send(c.Id, 3000);
        h.Call("client", SocketCallKind.Close, c.Id);
        AckAt(h, c, s, 110, 1448, 1000);
        h.At(Ms(1000));
        Assert.Equal(
            [(Ms(100), ".", 1u, 1448, "tcp_sendmsg"), (Ms(100), "P.", 1449u, 1448, "tcp_sendmsg"), (Ms(100), "FP.", 2897u, 104, "tcp_send_fin"),
             (Ms(324), ".", 1449u, 1000, "tcp_retransmit_timer")],
            ClientSentAfter(h, c, 90).Where(x => x.At < Ms(500)));
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPLossProbes]);
    }
}
