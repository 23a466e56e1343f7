using static SimService.Domain.Tests.Packetdrill.ScriptSegments;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Where the kernel cuts a send skb, and what the cut leaves behind. Each case observed on Linux 6.18.44 (its packetdrill
/// script passes on `simservice kernel` too).
/// </summary>
public sealed class SkbCutTests
{
    /// <summary>
    /// tcp_mss_split_point()'s Nagle cut: a 1500-byte send head skb that is not the write queue's tail, max_len (2 · 1460)
    /// past the window and a small segment in flight (snd_sml 3751 above snd_una 1501): the chunk is needed − partial =
    /// 1460 bytes, and the 40-byte rest, grown from the next skb to 790 bytes, waits for the window (6001 &gt; 5501). The
    /// engine sent 5211:5251 before (--fuzz-teardown seed 10955).
    /// </summary>
    [Fact]
    public void NonTailSkbPastTheWindowsMaxLen_SmallSegmentInFlight_PartialSegmentCutOffUntilTheWindowOpens() =>
        AssertData("nagle-cuts-partial-of-skb-when-tso-chunk-passes-window.pkt",
        [
            (50_000_000, Ack, 1, 750), (50_000_000, Psh, 751, 750), // mss_now 750: half the SYN-ACK's 1500-byte window
            (60_000_000, Ack, 1501, 1460), (60_000_000, Psh, 2961, 790), // max_len 2920 inside the window 4000: whole
            (60_000_000, Ack, 3751, 1460), // window 1750 < max_len: needed 1500, the partial 40 bytes cut off
            (80_000_000, Psh, 5211, 790), // the rest grown from the next skb, sent once the window takes it
        ]);

    /// <summary>
    /// tcp_send_loss_probe() cuts the last skb at (pcount − 1) · mss (tcp_fragment()) before __tcp_retransmit_skb() tests
    /// the window: when a shrunk window then refuses the probe, the cut stays. A 2000-byte skb trimmed to 101:2001 by
    /// `ack 101 win 500`: cut at 1101, no probe; the RTO after `ack 501 win 4000` resends 501:1101 (600 bytes), where the
    /// engine, whose send skb stayed whole, resent 501:1501 (--fuzz-teardown seed 11472).
    /// </summary>
    [Fact]
    public void LossProbeRefusedByShrunkWindow_RtoResendsTheHeadSkbUpToTheProbesCut() =>
        AssertData("loss-probe-refused-by-shrunk-window-keeps-its-cut.pkt",
        [
            (50_000_000, Ack, 1, 1000), (50_000_000, Psh, 1001, 1000),
            (308_000_000, Ack, 501, 600), // the RTO: the head skb 501:1101, cut by the refused loss probe at 156 ms
            (318_000_000, Psh, 1101, 900), // after the ACK of 1101: the rest of the lost skb, its PSH mark with it
        ]);
}
