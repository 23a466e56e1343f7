using SimService.Domain.Network;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// write(3000) + close() behind the 8-byte window of a SYN-ACK (98 ms RTT), then a window of 1024: the kernel queues
/// 48-byte skbs (mss_now = tcp_bound_to_half_wnd() = 48) and each tcp_write_xmit() pass grows the send head from the
/// next skb only (tcp_grow_skb(), before tcp_snd_wnd_test()), so the segments are 136 then 96 bytes, not 512. Observed on
/// Linux 6.18.44 (packetdrill/close-behind-tiny-window-sends-small-skbs-one-grow-each.pkt on `simservice kernel`).
/// </summary>
public sealed class TinyWindowSkbTests
{
    [Fact]
    public void CloseBehindTinyWindow_WindowOpens_OneSkbGrowPerSegment()
    {
        var sent = ScriptSegments.Sent("close-behind-tiny-window-sends-small-skbs-one-grow-each.pkt", withoutData: true);
        var data = sent.Where(e => e.Len > 0).ToList();
        var psh = TcpFlags.Ack | TcpFlags.Psh;
        (long, TcpFlags, uint, int)[] expected =
        [
            (416_000_000, psh, 1, 8), // tcp_write_wakeup(): the 8 bytes the window holds
            (514_000_000, psh, 9, 136), // 88 left of the head skb (1:97, grown at write time) + the next 48
            (514_000_000, psh, 145, 96), (514_000_000, psh, 241, 96), (514_000_000, psh, 337, 96),
            (514_000_000, psh, 433, 96), (514_000_000, psh, 529, 96), (514_000_000, psh, 625, 96),
            (514_000_000, psh, 721, 96), (514_000_000, psh, 817, 96), (514_000_000, psh, 913, 96), // cwnd 10
            (716_000_000, psh, 913, 96), // loss probe: the last skb
            (1_024_000_000, psh, 9, 424), // RTO: tcp_retrans_try_collapse() of the head skbs up to mss_now 512
        ];
        Assert.Equal(expected, data);
        Assert.DoesNotContain(sent, e => e.Flags.HasFlag(TcpFlags.Fin));
    }
}
