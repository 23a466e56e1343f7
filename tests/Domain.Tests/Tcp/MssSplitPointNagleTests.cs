using SimService.Domain.Network;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_mss_split_point()'s Nagle cut: a 1500-byte send head skb that is not the write queue's tail, max_len (2 · 1460)
/// past the window and a small segment in flight (snd_sml 3751 above snd_una 1501): the chunk is needed − partial =
/// 1460 bytes, and the 40-byte rest, grown from the next skb to 790 bytes, waits for the window (6001 &gt; 5501). The
/// engine sent 5211:5251 before. Observed on Linux 6.18.44
/// (packetdrill/nagle-cuts-partial-of-skb-when-tso-chunk-passes-window.pkt on `simservice kernel`; --fuzz-teardown seed 10955).
/// </summary>
public sealed class MssSplitPointNagleTests
{
    [Fact]
    public void NonTailSkbPastTheWindowsMaxLen_SmallSegmentInFlight_PartialSegmentCutOffUntilTheWindowOpens()
    {
        var data = ScriptSegments.Sent("nagle-cuts-partial-of-skb-when-tso-chunk-passes-window.pkt");
        var ack = TcpFlags.Ack;
        var psh = TcpFlags.Ack | TcpFlags.Psh;
        (long, TcpFlags, uint, int)[] expected =
        [
            (50_000_000, ack, 1, 750), (50_000_000, psh, 751, 750), // mss_now 750: half the SYN-ACK's 1500-byte window
            (60_000_000, ack, 1501, 1460), (60_000_000, psh, 2961, 790), // max_len 2920 inside the window 4000: whole
            (60_000_000, ack, 3751, 1460), // window 1750 < max_len: needed 1500, the partial 40 bytes cut off
            (80_000_000, psh, 5211, 790), // the rest grown from the next skb, sent once the window takes it
        ];
        Assert.Equal(expected, data);
    }
}
