using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_tso_acked() — net/ipv4/tcp_input.c: an ACK inside a multi-segment skb trims it to snd_una (tcp_trim_head()) and
/// counts its packets again at tcp_skb_mss(); the packets the count drops by are acknowledged. Values observed on Linux
/// 6.18.44 (packetdrill/tso-acked-trimmed-skb-counts-fewer-packets.pkt passes on both; --fuzz-pkt seed 13306).
/// </summary>
public sealed class TsoAckedTests
{
    const string Script = "tso-acked-trimmed-skb-counts-fewer-packets.pkt";

    /// <summary>
    /// 1:1501 sent as 1:1001 + 1001:1501 (one skb, MSS 1000), then `ack 601`: the 900 bytes left are one packet, so
    /// packets_out drops to 1 and delivered grows by 1 (the SYN's 1 before), though no segment was acknowledged whole —
    /// the engine before kept two packets out and delivered nothing.
    /// </summary>
    [Fact]
    public void AckInsideFirstSegmentOfTwoSegmentSkb_RestIsOnePacket_OneAcknowledged()
    {
        // The script up to its first tcp_info block, which asserts the same on both.
        string text = ProjectScripts.Read(Script);
        text = text[..text.IndexOf("   +0 %{", StringComparison.Ordinal)];
        var result = PacketdrillRunner.Run(text, new PacketdrillOptions { ScriptName = Script });
        Assert.True(result.Passed, result.Output);
        var sim = result.Simulation!;
        var sk = sim.FindHost(PacketdrillRunner.LocalHost)!.AllSockets.Single(s => s.Info.State == TcpState.Established);
        Assert.Equal((1, 2L), (sk.Info.Unacked, sk.Info.Delivered));
    }

    /// <summary>The whole script: its tcp_info blocks (1 and 2 after `ack 601`, 0 and 3 after `ack 1501`) pass.</summary>
    [Fact]
    public void WholeScript_PassesWithTheKernelsCounts()
    {
        var result = PacketdrillRunner.Run(ProjectScripts.Read(Script), new PacketdrillOptions { ScriptName = Script });
        Assert.True(result.Passed, result.Output);
    }
}
