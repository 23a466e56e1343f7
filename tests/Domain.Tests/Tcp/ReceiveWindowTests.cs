using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The advertised window of every ACK as Linux 6.18 computes it, the server's data injected into the client
/// segment by segment 200 ms apart (<see cref="InjectedPeer"/>: each segment gets one ACK, quick or delayed). Kernel rules: tcp_select_window() / __tcp_select_window()
/// (tcp_output.c), tcp_space() = tcp_win_from_space(sk_rcvbuf − sk_rmem_alloc) with scaling_ratio
/// (include/net/tcp.h), tcp_init_buffer_space(), tcp_measure_rcv_mss(), tcp_grow_window(),
/// tcp_rcv_space_adjust() (tcp_input.c), tcp_set_window_clamp(), __tcp_cleanup_rbuf() (tcp.c). The engine's
/// truesize model: each received segment is one skb of SKB_TRUESIZE(2048 − 320) = 2304 bytes; an in-order
/// segment arriving while the tail skb is unread is coalesced into it and adds 2304 − 256 = 2048 (17 times
/// at most, then a new skb).
/// <para>Most tests here set tcp_rmem[2] to the pre-6.16 default of 6 MB (<see cref="Rmem6Mb"/>), so the window
/// scale is 7 (ilog2(6291456) − 15) and every step of the window shows at 128-byte granularity; with 6.18's 32 MB
/// default the scale is 10 and the same free space moves in 1024-byte units
/// (<see cref="Established_DefaultRmem32Mb_TwelveSegmentsAppNotReading_WindowsInKilobyteUnits"/>).</para>
/// <para>Start (client, timestamps, wscale 7, sk_rcvbuf = tcp_rmem[1] = 131072, scaling_ratio 128): the SYN
/// offered rcv_wnd = 44 · 1460 = 64240; advmss = 1460 − 12 = 1448 (timestamps); tcp_init_buffer_space():
/// maxwin = tcp_full_space() = 65536, window_clamp = 65536 − advmss = 64088 (the segment reserved by
/// tcp_app_win 31), rcv_ssthresh = min(64240, 64088) = 64088, rcv_mss = 536. The handshake ACK: free 65536
/// capped by rcv_ssthresh → ALIGN(64088, 128) = 64128, less than what is left of 64240, so ALIGN(64240, 128)
/// = 64256: win 502.</para>
/// </summary>
public class ReceiveWindowTests
{
    static int[] Wins(InjectedPeer f, int segments) => [.. Enumerable.Range(0, segments).Select(_ => (int)f.Data(1448).Win)];

    /// <summary>tcp_rmem = "4096 131072 6291456": the default before 6.16, or tcp_init()'s value on a host under 4 GiB.</summary>
    static void Rmem6Mb(TwoHostHarness h, int _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_rmem", "4096 131072 6291456");

    [Fact]
    public void Established_HandshakeAckRmem6Mb_Win502AndRcvSsthresh64088()
    {
        var f = InjectedPeer.Connected(Rmem6Mb);
        Assert.Equal(502, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Ack).Win);
        Assert.Contains(" rcv_ssthresh:64088 ", SsFormatter.InfoText(f.C.Info));
    }

    /// <summary>
    /// packetdrill's defaults.sh tcp_rmem "4096 540000 15728640", observed on Linux 6.18.44
    /// (packetdrill/time-wait-ack-keeps-the-last-window.pkt): tcp_select_initial_window() gives rcv_wnd the whole
    /// tcp_full_space() = 540000 · 128 / 256 = 270000, rounded down to 184 · 1460 = 268640 (6.10 dropped the U16_MAX cap
    /// of 4.19–6.9); the SYN's field is min(rcv_wnd, 65535), its scale ilog2(15728640) − 15 = 8. tcp_init_buffer_space():
    /// window_clamp = 270000 − advmss 1448 = 268552 = rcv_ssthresh; the handshake ACK offers ALIGN(268552, 256) = 268800
    /// → 1050 (the engine offered 256 while it kept the cap).
    /// </summary>
    [Fact]
    public void Established_PacketdrillRmem540000_SynFieldCappedHandshakeAckOffersTheWholeSpace()
    {
        var f = InjectedPeer.Connected(beforeSocket: h => h.Sim.SetSysctl("client", "net.ipv4.tcp_rmem", "4096 540000 15728640"));
        var syn = f.H.Sent("client").Single(x => x.Flags == TcpFlags.Syn);
        Assert.Equal((ushort)65535, syn.Win);
        Assert.Equal((byte)8, syn.Options.WindowScale);
        Assert.Equal(1050, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Ack).Win);
        Assert.Contains(" rcv_ssthresh:268552 ", SsFormatter.InfoText(f.C.Info));
    }

    /// <summary>
    /// 6.18's default tcp_rmem[2] = 32 MB (tcp_init(): min(32 MB, 1/128 of the buffer memory), since 6.16):
    /// tcp_select_initial_window() gives wscale ilog2(33554432) − 15 = 10. The free space is the same as with
    /// 6 MB (sk_rcvbuf is still tcp_rmem[1]), but every window is aligned up to 1024 bytes: the handshake ACK
    /// ALIGN(64088, 1024) = 64512 → 63. Segment 1: rcv_ssthresh = max(min(rcv_wnd 64512, 81920), 64088) = 64512,
    /// + 2 · 1448 = 67408 → ALIGN 67584 → 66; then 70304 → 69, 73200 → 72, 76096 → 75 (room 3440). Segment 5:
    /// free 75360 (now below rcv_ssthresh) → ALIGN 75776 → 74; each further segment takes 1280 bytes of free
    /// space (74080 → 74752 → 73, 72800 → 73728 → 72, 71520 → 72704 → 71), and from segment 9 what is left of the
    /// last window (72704 − 1448 = 71256 → ALIGN 71680 → 70), which tcp_select_window() never shrinks, is the larger:
    /// 70, 69, 68, 67 — one unit (1024 bytes) less per 1448-byte segment.
    /// </summary>
    [Fact]
    public void Established_DefaultRmem32Mb_TwelveSegmentsAppNotReading_WindowsInKilobyteUnits()
    {
        var f = InjectedPeer.Connected();
        Assert.Equal(63, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Ack).Win);
        Assert.Equal(new[] { 66, 69, 72, 75, 74, 73, 72, 71, 70, 69, 68, 67 }, Wins(f, 12));
        Assert.Contains(" wscale:10,10 ", SsFormatter.InfoText(f.C.Info));
        Assert.Contains(" rcv_ssthresh:76096 ", SsFormatter.InfoText(f.C.Info));
    }

    /// <summary>
    /// net.ipv4.tcp_shrink_window = 1 (6.5+) with the same twelve segments at scale 10: __tcp_select_window()'s
    /// shrink_window_allowed: path rounds the free space down to the scale first (never up), caps it by rcv_ssthresh
    /// only then (aligned up), and tcp_select_window() offers it even below what is left of the last window. Segments
    /// 1–3 are capped by rcv_ssthresh as before (66, 69, 72); segment 4's free space (131072 − 9216) · 160 / 256 =
    /// 76160 rounds down to 75776, under rcv_ssthresh 76096: 74, not 75; then each 2304-byte skb takes 1440:
    /// 74720 → 72, 73280 → 71, 71840 → 70, 70400 → 68, 68960 → 67, 67520 → 65, 66080 → 64, 64640 → 63 — where
    /// tcp_shrink_window 0 keeps what is left of the last offer, 70 … 67 (<see cref="Established_DefaultRmem32Mb_TwelveSegmentsAppNotReading_WindowsInKilobyteUnits"/>).
    /// The rule observed on Linux 6.18.44: packetdrill/shrink-window-1-offers-the-free-space-fin-carries-it.pkt.
    /// </summary>
    [Fact]
    public void Established_ShrinkWindow1TwelveSegmentsAppNotReading_FreeSpaceRoundedDownEvenBelowTheLastOffer()
    {
        var f = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_shrink_window", "1"));
        Assert.Equal(new[] { 66, 69, 72, 74, 72, 71, 70, 68, 67, 65, 64, 63 }, Wins(f, 12));
    }

    /// <summary>
    /// tcp_shrink_window = 1 without window scaling (tcp_window_scaling 0 on the client, rcv_wscale 0): "Only allow
    /// window shrink if the sysctl is enabled and we have a non-zero scaling factor in effect" — the windows are those
    /// of <see cref="Established_NoWindowScalingAppNotReading_FieldCappedAt65535"/>.
    /// </summary>
    [Fact]
    public void Established_ShrinkWindow1WithoutScaling_NeverShrinks()
    {
        var f = InjectedPeer.Connected((h, _) =>
        {
            h.Sim.SetSysctl("client", "net.ipv4.tcp_window_scaling", "0");
            h.Sim.SetSysctl("client", "net.ipv4.tcp_shrink_window", "1");
        });
        Assert.Equal(new[] { 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65160, 63712 }, Wins(f, 12));
    }

    /// <summary>
    /// Segment 1: tcp_measure_rcv_mss(): len 1448 ≠ rcv_mss 536 → scaling_ratio = 1448 · 256 / 2304 = 160,
    /// tcp_set_window_clamp(tcp_win_from_space(131072) = 81920) raises rcv_ssthresh to min(rcv_wnd 64256, 81920)
    /// = 64256; rcv_mss = 1448. tcp_grow_window(): tcp_space() = (131072 − 2304) · 160 / 256 = 80480, room =
    /// 80480 − 64256 = 16224, tcp_win_from_space(2304) = 1440 ≤ 1448 → rcv_ssthresh += 2 · advmss = 67152;
    /// window = ALIGN(min(80480, 67152), 128) = 67200 → 525. Each further segment stays an skb of its own (a TUN
    /// device's skb: its kmalloc'd head holds no 1448 more bytes and cannot be stolen — <see cref="TcpSocket"/>'s
    /// TailCoalesceCharge; observed on Linux 6.18.44, packetdrill/unread-segments-each-own-tun-skb-window-and-rmem.pkt).
    /// Segment 2 (rmem 4608): rcv_ssthresh 70048 → ALIGN 70144 → 548. Segment 3: rmem 6912, rcv_ssthresh 72944 →
    /// 72960 → 570. Segment 4: rmem 9216, room 3216 ≥ 1440 → rcv_ssthresh 75840 → 75904 → 593. From segment 5 the
    /// free space (131072 − 11520) · 160 / 256 = 74720 is below rcv_ssthresh: ALIGN(74720) = 74752 → 584, and every
    /// further segment takes 2304 · 160 / 256 = 1440 more: 573, 562, 551, 540, 529, 518, 507.
    /// </summary>
    [Fact]
    public void Established_TwelveSegmentsAppNotReadingRmem6Mb_WindowGrowsThenFollowsFreeSpace()
    {
        var f = InjectedPeer.Connected(Rmem6Mb);
        Assert.Equal(new[] { 525, 548, 570, 593, 584, 573, 562, 551, 540, 529, 518, 507 }, Wins(f, 12));
        Assert.Contains(" rcv_ssthresh:75840 ", SsFormatter.InfoText(f.C.Info));
    }

    /// <summary>
    /// tcp_window_scaling = 0 on the client: no wscale in its SYN, so rcv_wscale = 0 and window_clamp =
    /// min(window_clamp, 65535); tcp_init_buffer_space() → 64088 again. Handshake ACK: __tcp_select_window()
    /// without scaling keeps rcv_wnd unless it is more than one rcv_mss (536) below the free space (64088) or
    /// above it: 64240 &gt; 64088 → rounddown(64088, 536) = 63784, less than what is left of 64240 → 64240.
    /// Segment 1: as with scaling, rcv_ssthresh 67152 (the clamp is now 81920, above 65535); rcv_wnd 64240 ≤
    /// 67152 − 1448 → rounddown(67152, 1448) = 66608, advertised as min(66608, 65535) = 65535 (tcp_select_window()
    /// caps the field, rcv_wnd keeps 66608). Segments 2–10: the kept or rounded window stays above 65535 (each
    /// segment an skb of 2304 of its own, 1440 of free space); segment 11: free 66080 → rounddown(66080, 1448) = 65160,
    /// segment 12: 64640 → 63712.
    /// </summary>
    [Fact]
    public void Established_NoWindowScalingAppNotReading_FieldCappedAt65535()
    {
        var f = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_window_scaling", "0"));
        Assert.Equal(64240, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Ack).Win);
        Assert.Equal(new[] { 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65160, 63712 }, Wins(f, 12));
    }

    /// <summary>
    /// tcp_workaround_signed_windows = 1 and tcp_window_scaling = 0 on the client: tcp_select_initial_window() makes
    /// rcv_wnd min(64240, MAX_TCP_WINDOW) = 32767, the SYN's field; rcv_ssthresh starts there. tcp_select_window() then
    /// cuts every unscaled field to 32767 ("if (!tp->rx_opt.rcv_wscale && sysctl_tcp_workaround_signed_windows)
    /// new_win = min(new_win, MAX_TCP_WINDOW)") — where 0 offers 65535 and, from segment 11, 65160 and 63712
    /// (<see cref="Established_NoWindowScalingAppNotReading_FieldCappedAt65535"/>): rcv_wnd grows past the field. Observed
    /// on Linux 6.18.44: packetdrill/workaround-signed-windows-1-unscaled-peer-every-window-at-most-32767.pkt.
    /// </summary>
    [Fact]
    public void Established_WorkaroundSignedWindows1WithoutScaling_EveryFieldAtMost32767()
    {
        var f = InjectedPeer.Connected((h, _) =>
        {
            h.Sim.SetSysctl("client", "net.ipv4.tcp_window_scaling", "0");
            h.Sim.SetSysctl("client", "net.ipv4.tcp_workaround_signed_windows", "1");
        });
        Assert.Equal(32767, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Syn).Win);
        Assert.Equal(32767, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Ack).Win);
        Assert.Equal(Enumerable.Repeat(32767, 12), Wins(f, 12));
    }

    /// <summary>
    /// tcp_workaround_signed_windows = 1 with scaling (scale 10): the SYN still offers 32767 (tcp_select_initial_window()
    /// caps rcv_wnd whatever the scale) and rcv_ssthresh = min(32767, window_clamp 64088) = 32767: the handshake ACK
    /// offers ALIGN(32767, 1024) = 32768 → 32. Segment 1: tcp_set_window_clamp(81920) raises rcv_ssthresh to
    /// min(rcv_wnd 32768, 81920) = 32768, tcp_grow_window() adds 2 · 1448: 35664 → ALIGN 35840 → 35; then 2896 more a
    /// segment while tcp_space() = 81920 − 1440 k stays above it: 38560 → 38, 41456 → 41, 44352 → 44, 47248 → 47,
    /// 50144 → 49, 53040 → 52, 55936 → 55, 58832 → 58, 61728 → 61, 64624 → 64; segment 12 the room 64640 − 64624 = 16:
    /// 64640 → 64. tcp_select_window() does not cap a scaled field at 32767. Where 0 offers 63, then 66, 69 …
    /// (<see cref="Established_DefaultRmem32Mb_TwelveSegmentsAppNotReading_WindowsInKilobyteUnits"/>). Observed on
    /// Linux 6.18.44 at scale 8: packetdrill/workaround-signed-windows-1-scaled-peer-initial-window-32767-then-grows.pkt.
    /// </summary>
    [Fact]
    public void Established_WorkaroundSignedWindows1Scaled_InitialWindow32767ThenGrowsPastIt()
    {
        var f = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_workaround_signed_windows", "1"));
        Assert.Equal(32767, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Syn).Win);
        Assert.Equal(32, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Ack).Win);
        Assert.Equal(new[] { 35, 38, 41, 44, 47, 49, 52, 55, 58, 61, 64, 64 }, Wins(f, 12));
    }

    /// <summary>
    /// SO_RCVBUF 32768 before connect(): sk_rcvbuf = 65536 locked, tcp_full_space() = 32768. The SYN:
    /// tcp_select_initial_window() with window_clamp = the full space: 22 · 1460 = 32120, window scale
    /// ilog2(min(max(32120, tcp_rmem[2], rmem_max), 32768)) − 15 = 0. tcp_init_buffer_space(): window_clamp =
    /// 32768 − 1448 = 31320 = rcv_ssthresh; handshake ACK keeps 32120. Segment 1: scaling_ratio 160,
    /// tcp_set_window_clamp(65536 · 160 / 256 = 40960) (SO_RCVBUF does not stop it in 6.18): rcv_ssthresh =
    /// min(rcv_wnd 32120, 40960) = 32120; tcp_space() = (65536 − 2304) · 160 / 256 = 39520, room 7400 →
    /// rcv_ssthresh 35016; 32120 ≤ 35016 − 1448 → rounddown(35016, 1448) = 34752. Segment 2: space 38240, room
    /// 3224 → 37912 (full), rounddown 37648. Segment 3: space 36960 &lt; 37912 → the kept 37648 is above the free
    /// space → rounddown(36960, 1448) = 36200; then 1440 less per segment (each its own 2304-byte skb), rounded down
    /// to 1448 multiples.
    /// </summary>
    [Fact]
    public void Established_SoRcvbufLockedAppNotReading_NoScalingAndWindowsFromTheLockedBuffer()
    {
        var f = InjectedPeer.Connected((h, id) => h.SetOption(id, SocketOption.SO_RCVBUF, 32768));
        var syn = f.H.Sent("client").Single(x => x.Flags == TcpFlags.Syn);
        Assert.Equal((ushort)32120, syn.Win);
        Assert.Equal((byte)0, syn.Options.WindowScale);
        Assert.Equal(32120, f.H.Sent("client").Single(x => x.Flags == TcpFlags.Ack).Win);
        Assert.Equal(new[] { 34752, 37648, 36200, 34752, 33304, 31856, 30408, 28960, 27512, 26064, 24616, 23168 }, Wins(f, 12));
        Assert.Equal(65536, f.H.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = f.C.Id, Option = SocketOption.SO_RCVBUF }).Result);
    }

    /// <summary>
    /// The application reads nothing and the peer sends full segments while they fit the offered window:
    /// 58 segments (the windows of the first 12 as above, then 1440 bytes less per segment, each an skb of 2304 of
    /// its own), the last ACK leaving 128 bytes. The peer's
    /// tcp_write_wakeup() then sends those 128 bytes: sk_rmem_alloc 132096 &gt; sk_rcvbuf, tcp_space() &lt; 0, so
    /// __tcp_select_window() returns 0 and the (delayed) ACK says win 0. A zero-window probe (seq = rcv_nxt − 1)
    /// is answered at once with win 0. The application then reads all 84112 bytes, held in 59 skbs (58 of 1448
    /// bytes, one of 128). tcp_recvmsg_locked() calls tcp_rcv_space_adjust() after each skb: the first measure starts
    /// at tcp_mstamp (the probe's arrival); after the others no receiver RTT has passed since that stamp (the read does
    /// not refresh it). sk_rcvbuf stays tcp_rmem[1] = 131072. __tcp_cleanup_rbuf(): 2 · 0 ≤ window_clamp (81920) and
    /// __tcp_select_window() = ALIGN(min(81920, rcv_ssthresh 75840), 128) = 75904 ≥ 0 → a window update of 593.
    /// </summary>
    [Fact]
    public void Established_AppNotReadingUntilWindowZeroRmem6Mb_ZeroWindowProbeAnsweredThenReadOpensIt()
    {
        var f = InjectedPeer.Connected(Rmem6Mb);
        var wins = new List<int>();
        while (f.Left(7) >= 1448) wins.Add(f.Data(1448).Win);
        Assert.Equal(new[]
        {
            525, 548, 570, 593, 584, 573, 562, 551, 540, 529, 518, 507, 496, 485, 474, 463, 452, 441, 430, 419, 408,
            397, 386, 375, 364, 353, 342, 331, 320, 309, 298, 287, 276, 265, 254, 243, 232, 221, 210, 199, 188, 177,
            166, 155, 144, 133, 122, 111, 100, 89, 78, 67, 56, 45, 34, 23, 12, 1,
        }, wins);
        Assert.Equal(128, f.Left(7));
        Assert.Equal(0, f.Data(128, psh: true).Win);
        var probeAck = f.Data(0, at: f.Next - 1);
        Assert.Equal((0, f.C.Irs + 1 + (uint)f.Next), ((int)probeAck.Win, probeAck.AckNo));

        int before = f.H.Sent("client").Count();
        Assert.Equal(f.Next, f.H.Call("client", SocketCallKind.Recv, f.C.Id).Result);
        var update = Assert.Single(f.H.Sent("client").Skip(before));
        Assert.Equal((ushort)593, update.Win);
        Assert.Equal("tcp_cleanup_rbuf", update.Reason);
        Assert.Equal(131072, f.H.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = f.C.Id, Option = SocketOption.SO_RCVBUF }).Result);
    }

    /// <summary>
    /// tcp_data_queue() with tcp_receive_window() == 0 drops text at rcv_nxt (TCPZeroWindowDrop) and goes out_of_window:
    /// quick-ACK mode and an ACK scheduled, which tcp_ack_snd_check() sends at once. 6.17+'s tcp_sequence() refuses such a segment earlier (BeyondWindow)
    /// while the receive queue holds data, so the drop needs a zero window over an empty queue: here the app shut
    /// reading down (SHUT_RD) and then read everything — __tcp_cleanup_rbuf() sends no window update under
    /// RCV_SHUTDOWN, so rcv_wnd stays 0. The ACK offers the freed space, so the same text sent again is queued. The
    /// drop is not a duplicate (DelayedACKLost stays 0) and tcp_sequence() let it through (BeyondWindow stays 0).
    /// </summary>
    [Fact]
    public void Established_TextIntoZeroWindowOverAnEmptyQueue_DroppedWithTCPZeroWindowDropAndAcked()
    {
        var f = InjectedPeer.Connected(Rmem6Mb);
        while (f.Left(7) >= 1448) f.Data(1448);
        Assert.Equal(0, f.Data(128, psh: true).Win);
        long rcvNxt = f.Next;
        uint ackNo = f.C.Irs + 1 + (uint)rcvNxt;
        f.H.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = f.C.Id, How = ShutdownHow.SHUT_RD });
        int before = f.H.Sent("client").Count();
        Assert.Equal(rcvNxt, f.H.Call("client", SocketCallKind.Recv, f.C.Id).Result);
        Assert.Empty(f.H.Sent("client").Skip(before));

        var inOrder = f.Data(100);
        Assert.Equal((ackNo, "__tcp_ack_snd_check"), (inOrder.AckNo, inOrder.Reason)); // quick-ACK mode: at once
        Assert.Equal(1, f.H.Client.Mib[MibCounter.TcpExtTCPZeroWindowDrop]);

        Assert.Equal((ushort)593, inOrder.Win); // the ACK offers the space the read freed (tcp_select_window())
        var resent = f.Data(100, at: rcvNxt);
        Assert.Equal(ackNo + 100, resent.AckNo);
        Assert.Equal(1, f.H.Client.Mib[MibCounter.TcpExtTCPZeroWindowDrop]);
        Assert.Equal((0, 0), (f.H.Client.Mib[MibCounter.TcpExtDelayedACKLost], f.H.Client.Mib[MibCounter.TcpExtBeyondWindow]));
    }

    /// <summary>
    /// The zero-window drop only schedules its ACK (out_of_window: tcp_enter_quickack_mode(), inet_csk_schedule_ack());
    /// tcp_rcv_established() sends it from tcp_ack_snd_check(), after tcp_data_snd_check(). Here the server had closed
    /// its window (a pure ACK with win 0) while the client's 1000 bytes waited; the dropped text's segment opens it
    /// again (tcp_ack() → tcp_ack_update_window()), so tcp_data_snd_check() sends the 1000 bytes, and that segment
    /// carries the ACK of rcv_nxt (tcp_event_ack_sent() clears the scheduled ACK): one segment, no pure ACK. Same on
    /// linux-4.4 (its tcp_data_queue() "goto out_of_window" without a counter).
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 1)]
    [InlineData(KernelProfile.Linux44, 0)]
    public void Established_TextIntoZeroWindowOpeningOurSendWindow_QueuedDataCarriesTheAckNoPureAck(KernelProfile profile, long drops)
    {
        var f = InjectedPeer.Connected(Rmem6Mb, profile: profile);
        while (f.Left(7) > 0) f.Data((int)Math.Min(1448, f.Left(7)), psh: true);
        Assert.Equal(0, f.H.Sent("client").Last().Win);
        long rcvNxt = f.Next;
        uint ackNo = f.C.Irs + 1 + (uint)rcvNxt;
        f.DataAt(f.H.Sim.Now, 0, rcvNxt, win: 0);
        f.H.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = f.C.Id, How = ShutdownHow.SHUT_RD });
        Assert.Equal(rcvNxt, f.H.Call("client", SocketCallKind.Recv, f.C.Id).Result);
        f.H.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = f.C.Id, Bytes = 1000, Flags = MsgFlags.MSG_DONTWAIT });
        uint sndNxt = f.C.SndNxt;
        int before = f.H.Sent("client").Count();

        f.DataAt(f.H.Sim.Now + SimDuration.FromMilliseconds(1), 100, rcvNxt);
        f.H.At(f.H.Sim.Now + SimDuration.FromMilliseconds(1));

        var seg = Assert.Single(f.H.Sent("client").Skip(before));
        Assert.Equal((TcpFlags.Ack | TcpFlags.Psh, sndNxt, ackNo, 1000), (seg.Flags, seg.SeqNo, seg.AckNo, seg.Len));
        Assert.Equal(drops, f.H.Client.Mib[MibCounter.TcpExtTCPZeroWindowDrop]);
    }

    /// <summary>
    /// tcp_data_queue(): "Out of window. F.e. zero window probe." — text beyond rcv_nxt that starts at (or past) the
    /// right edge of the receive window, rcv_nxt + tcp_receive_window(), is not queued out of order: it goes to
    /// out_of_window (quick-ACK mode, the ACK scheduled, SKB_DROP_REASON_TCP_OVERWINDOW, no counter), so the ACK goes at
    /// once with rcv_nxt and no SACK block, and TCPOFOQueue stays 0. tcp_sequence() let it in: it starts no later than
    /// the edge and, with the receive queue read empty, 6.17+'s end-of-window test does not apply. Same on linux-4.4.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6)]
    [InlineData(KernelProfile.Linux44)]
    public void Established_TextStartingAtTheWindowEdge_DroppedAndAckedWithoutSack(KernelProfile profile)
    {
        var f = InjectedPeer.Connected(Rmem6Mb, profile: profile);
        f.Data(1448);
        f.H.Call("client", SocketCallKind.Recv, f.C.Id);
        long edge = f.Next + f.Left(7);

        var ack = f.Data(100, at: edge);

        Assert.Equal((f.C.Irs + 1 + (uint)f.Next, "__tcp_ack_snd_check"), (ack.AckNo, ack.Reason));
        Assert.Empty(f.Sacks(ack));
        Assert.Equal(0, f.H.Client.Mib[MibCounter.TcpExtTCPOFOQueue]);
        Assert.Equal(0, f.C.RecvQueue);
    }

    /// <summary>
    /// tcp_data_queue_ofo() grows the window for every out-of-order segment with SACK (tcp_grow_window(sk, skb,
    /// false)), however short — the 128-byte floor is tcp_event_data_recv()'s, for in-order data. Segment 1 (1448
    /// bytes) gives win 525 as above (rcv_ssthresh 67152, rcv_mss 1448, scaling_ratio 160, window_clamp 81920).
    /// Then 100 bytes one MSS beyond rcv_nxt: tcp_data_queue_ofo() grows the window before skb_set_owner_r() charges
    /// the new skb, so sk_rmem_alloc is segment 1's 2304: tcp_space = (131072 − 2304) · 160 / 256 = 80480,
    /// room = min(81920, 80480) − 67152 = 13328; tcp_win_from_space(2304) / 2 = 720 halves to 90 ≤ 100 → incr =
    /// max(2 · rcv_mss, 200) = 2896, rcv_ssthresh 70048. The immediate (SACK) ACK: free space capped by it →
    /// ALIGN(70048, 128) = 70144 → win 548 (525 without the growth: what is left of the last window).
    /// </summary>
    [Fact]
    public void Established_ShortOutOfOrderSegmentRmem6Mb_WindowGrowsAsForAnyOutOfOrderSegment()
    {
        var f = InjectedPeer.Connected(Rmem6Mb);
        Assert.Equal(525, f.Data(1448).Win);

        var ack = f.Data(100, at: 2896);

        Assert.Equal(((ushort)548, "__tcp_ack_snd_check"), (ack.Win, ack.Reason));
    }

    /// <summary>
    /// tcp_data_queue_ofo() ends with "if (skb) { tcp_grow_window(sk, skb, false); skb_condense(skb);
    /// skb_set_owner_r(skb, sk); }": the window grows before the segment's own skb is in sk_rmem_alloc. Five 1448-byte
    /// segments beyond a hole (tcp_rmem[1] 131072, timestamps; scaling_ratio 160, window_clamp 81920): segments 1–4
    /// raise rcv_ssthresh by 2 · advmss each, 64512 → 76096. For segment 5 sk_rmem_alloc holds the four queued skbs:
    /// tcp_space = (131072 − 4 · 2304) · 160 / 256 = 76160, room 64 → rcv_ssthresh 76160 and icsk_ack.quick |= 1
    /// (with the fifth skb counted, the room was none). Segment 6 finds none. Observed on Linux 6.18.44: tcpi_rcv_ssthresh
    /// 76096, then 76160 (fuzz --profile loss seed 18 case 1, whose extra quick ACK this was).
    /// </summary>
    [Fact]
    public void Established_FifthOutOfOrderSegment_GrowsRcvSsthreshBeforeItsSkbIsCharged()
    {
        var f = InjectedPeer.Connected();
        for (int k = 1; k <= 4; k++) f.Data(1448, at: 1448L * k);
        Assert.Contains(" rcv_ssthresh:76096 ", SsFormatter.InfoText(f.C.Info));

        f.Data(1448, at: 1448L * 5);
        Assert.Contains(" rcv_ssthresh:76160 ", SsFormatter.InfoText(f.C.Info));

        f.Data(1448, at: 1448L * 6);
        Assert.Contains(" rcv_ssthresh:76160 ", SsFormatter.InfoText(f.C.Info));
    }

    /// <summary>
    /// A segment whose every byte is queued out of order already is dropped ("All the bits are present. Drop.":
    /// TCPOFOMerge, skb = NULL) and D-SACKed; tcp_data_queue_ofo()'s end grows the window only for an skb it still
    /// holds. Three segments beyond a hole raise rcv_ssthresh to 64512 + 3 · 2896 = 73200; segment 2 again leaves it
    /// there (76096 before the engine followed the rule), and the D-SACK's ACK offers what the last one did. Observed on
    /// Linux 6.18.44 (packetdrill/ofo-duplicate-segment-dropped-grows-no-window.pkt, MSS 1460: 73272 kept, win 72).
    /// </summary>
    [Fact]
    public void Established_OutOfOrderDuplicateDropped_WindowDoesNotGrow()
    {
        var f = InjectedPeer.Connected();
        ushort win = 0;
        for (int k = 1; k <= 3; k++) win = f.Data(1448, at: 1448L * k).Win;
        Assert.Contains(" rcv_ssthresh:73200 ", SsFormatter.InfoText(f.C.Info));

        var dsack = f.Data(1448, at: 1448L * 2);

        Assert.Equal(win, dsack.Win);
        Assert.Equal(new[] { (2896L, 4344L), (1448L, 5792L) }, f.Sacks(dsack));
        Assert.Contains(" rcv_ssthresh:73200 ", SsFormatter.InfoText(f.C.Info));
        Assert.Equal(1, f.H.Client.Mib[MibCounter.TcpExtTCPOFOMerge]);
    }

    /// <summary>
    /// A bare FIN at the end of the last out-of-order skb is coalesced into it (coalesce_done), and coalesce_done grows the
    /// window too: tcp_grow_window(sk, skb, true), the FIN skb's truesize adjusted to 0 (no payload: all of it is head), so
    /// the increment is 2 · advmss — 64512 + 2896 = 67408 after the segment, 70304 after the FIN — and the FIN's ACK offers
    /// the larger window (rcv_wscale 10: 66 → 69). Observed on Linux 6.18.44 (MSS 1460: 67432 → 70352, win 66 → 69).
    /// </summary>
    [Fact]
    public void Established_BareFinCoalescedOutOfOrder_GrowsRcvSsthreshByTwoAdvmss()
    {
        var f = InjectedPeer.Connected();
        var sack = f.Data(1448, at: 1448);
        Assert.Contains(" rcv_ssthresh:67408 ", SsFormatter.InfoText(f.C.Info));

        var finAck = f.Data(0, at: 2896, fin: true);

        Assert.Equal(new[] { (1448L, 2897L) }, f.Sacks(finAck));
        Assert.Contains(" rcv_ssthresh:70304 ", SsFormatter.InfoText(f.C.Info));
        Assert.Equal(66, sack.Win);
        Assert.Equal(69, finAck.Win);
        Assert.Equal(1, f.H.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce]);
    }

    /// <summary>
    /// The coalesced bare FIN takes only the room left: after four segments beyond a hole (76096), tcp_space() with the four
    /// skbs charged (the FIN adds nothing: skb_try_coalesce() copies its 0 bytes, delta 0) is (131072 − 4 · 2304) · 160 /
    /// 256 = 76160, so rcv_ssthresh becomes 76160 — and a fifth segment then finds no room. Observed on Linux 6.18.44
    /// (MSS 1460: 76192 → 77112).
    /// </summary>
    [Fact]
    public void Established_BareFinCoalescedOutOfOrder_TakesTheRoomLeft()
    {
        var f = InjectedPeer.Connected();
        for (int k = 1; k <= 4; k++) f.Data(1448, at: 1448L * k);
        Assert.Contains(" rcv_ssthresh:76096 ", SsFormatter.InfoText(f.C.Info));

        f.Data(0, at: 1448L * 5, fin: true);
        Assert.Contains(" rcv_ssthresh:76160 ", SsFormatter.InfoText(f.C.Info));

        f.Data(1448, at: 0);
        Assert.Contains(" rcv_ssthresh:76160 ", SsFormatter.InfoText(f.C.Info));
    }

    /// <summary>
    /// A segment longer than the head's 2 KB buffer takes 2048 bytes of truesize per further buffer, so tcp_measure_rcv_mss()'s
    /// u8 scaling_ratio = len · 256 / truesize stays under 256 (the engine's fixed 2304 gave 3000 bytes a ratio of 333).
    /// Timestamps, tcp_rmem[1] 131072: 3000 bytes are a 3052-byte packet, 1388 beyond the head's 1664, one more buffer:
    /// truesize 4352, ratio 176, window_clamp 131072 · 176 / 256 = 90112 (grown: rcv_ssthresh = rcv_wnd 64256);
    /// tcp_grow_window(): tcp_win_from_space(4352) = 2992 ≤ 3000, so max(2 · 1448, 2 · 3000) = 6000 → rcv_ssthresh
    /// 70256, ALIGN(70256, 128) → win 549. The read empties the queue. 2000 bytes (2052-byte packet): truesize 4352
    /// again, ratio 2000 · 256 / 4352 = 117, window_clamp 59904 (shrunk: rcv_ssthresh 59904); no room to grow, and
    /// tcp_select_window() keeps what is left of the last window. With a fixed 2304 the ratios were 333 and 222 (the
    /// second clamp 113664, so no cut). Observed on Linux 6.18.44 over TUN (whose kmalloc'd skb is 4352 too):
    /// packetdrill/jumbo-segment-scaling-ratio-from-its-truesize.pkt, tcpi_rcv_ssthresh 70512 then 59904 without timestamps.
    /// </summary>
    [Fact]
    public void Established_SegmentsLongerThanOneBuffer_TruesizeGrowsAndScalingRatioStaysUnder256()
    {
        var f = InjectedPeer.Connected(Rmem6Mb);
        Assert.Equal(549, f.Data(3000, psh: true).Win);
        Assert.Contains(" rcv_ssthresh:70256 ", SsFormatter.InfoText(f.C.Info));
        Assert.Equal(3000, f.H.Call("client", SocketCallKind.Recv, f.C.Id).Result);

        var ack = f.Data(2000, psh: true);

        Assert.Contains(" rcv_ssthresh:59904 ", SsFormatter.InfoText(f.C.Info));
        Assert.Equal(534, ack.Win); // ALIGN(70272 − 2000, 128)
    }
}
