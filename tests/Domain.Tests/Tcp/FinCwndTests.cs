using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_cwnd_test() — net/ipv4/tcp_output.c — and the FIN (session 34's send-path audit). linux-4.4 (up to 6.9):
/// "Don't be strict about the congestion window for the final FIN" — a send head skb carrying the FIN with
/// tcp_skb_pcount() 1 has a quota of 1 whatever is in flight, so close() sends it behind a full cwnd. 6.10 removed the
/// test ("tcp: remove dubious FIN exception from tcp_cwnd_test()"): the FIN waits for an ACK to open cwnd (observed on
/// Linux 6.18.44, packetdrill/close-cwnd-full-bare-fin-waits-for-an-ack.pkt).
/// </summary>
public class FinCwndTests
{
    /// <summary>
    /// IW10 sends the 10000 bytes whole; cwnd is full. <paramref name="tail"/> bytes written then stay unsent behind it,
    /// and close() puts the FIN on them (a bare FIN skb when none). linux-4.4 sends that one-segment FIN skb at once;
    /// linux-6 sends it on the ACK of 2000 bytes.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 0, true)]
    [InlineData(KernelProfile.Linux44, 500, true)]
    [InlineData(KernelProfile.Linux6, 0, false)]
    [InlineData(KernelProfile.Linux6, 500, false)]
    public void Close_CwndFull_OneSegmentFinSkbIgnoresCwndOnlyOnLinux44(KernelProfile profile, int tail, bool atClose)
    {
        string fin = tail == 0 ? "F. 10001:10001(0) ack 1" : $"FP. 10001:{10001 + tail}({tail}) ack 1";
        string script = "`./defaults.sh`\n" +
            "    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
            "   +0...0.010 connect(3, ..., ...) = 0\n" +
            "   +0 > S 0:0(0) <...>\n" +
            " +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,wscale 7,nop,nop,sackOK>\n" +
            "   +0 > . 1:1(0) ack 1\n" +
            "   +0 write(3, ..., 10000) = 10000\n" +
            string.Concat(Enumerable.Range(0, 10).Select(i => $"   +0 > {Flags(profile, i)} {1 + i * 1000}:{1001 + i * 1000}(1000) ack 1\n")) +
            (tail > 0 ? $"   +0 write(3, ..., {tail}) = {tail}\n" : "") +
            " +.001 close(3) = 0\n" +
            (atClose ? $"   +0 > {fin}\n" : "") +
            " +.009 < . 1:1(0) ack 2001 win 257\n" +
            (atClose ? "" : $"   +0 > {fin}\n") +
            $" +.01 < . 1:1(0) ack {10002 + tail} win 257\n";

        var result = PacketdrillRunner.Run(script, new PacketdrillOptions { ScriptName = "t.pkt", Profile = profile });

        Assert.True(result.Passed, result.Output);
    }

    /// <summary>
    /// The IW10 burst's flags: linux-6 sends it as two-segment TSO chunks, each ending with __tcp_transmit_skb()'s GSO
    /// PSH (5.4+); linux-4.4 marks only the write's last segment (tcp_mark_push()).
    /// </summary>
    static string Flags(KernelProfile profile, int segment) =>
        profile == KernelProfile.Linux44 ? (segment == 9 ? "P." : ".") : (segment % 2 == 1 ? "P." : ".");
}
