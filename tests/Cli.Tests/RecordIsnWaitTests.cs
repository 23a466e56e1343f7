extern alias cli;

using cli::SimService.Cli.Kernel;

namespace SimService.Cli.Tests;

/// <summary>
/// Record mode's wait for the kernel's SYN before an inbound segment whose ack the kernel's ISN moves: only when a SYN is
/// due. A listener's first inbound ACK has none to wait for — the wait wrote it 100 ms late and the kernel's RST with it,
/// a false difference (tester34 LOW-1, ack-before-isn.pkt, Linux 6.18.44).
/// </summary>
public sealed class RecordIsnWaitTests
{
    private const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Ack = 0x10;

    [Fact]
    public void WaitsForIsn_AckToAListenerThatSentNothing_DoesNotWait() =>
        Assert.False(KernelScriptRunner.WaitsForIsn(Ack, isnKnown: false, synDue: false));

    [Fact]
    public void WaitsForIsn_SynAckAfterConnect_WaitsForTheSyn() =>
        Assert.True(KernelScriptRunner.WaitsForIsn(Syn | Ack, isnKnown: false, synDue: KernelScriptRunner.SendsSyn("connect")));

    [Fact]
    public void WaitsForIsn_AckAfterTheListenersSynAckWasCaptured_DoesNotWait() =>
        Assert.False(KernelScriptRunner.WaitsForIsn(Ack, isnKnown: true, synDue: true));

    [Fact]
    public void WaitsForIsn_AListenersIncomingSyn_HasNoAckToMove() =>
        Assert.False(KernelScriptRunner.WaitsForIsn(Syn, isnKnown: false, synDue: true));

    [Theory]
    [InlineData(Syn, true)]             // the listener answers with its SYN-ACK
    [InlineData(Syn | Ack, false)]      // tcp_rcv_state_process(), LISTEN: an ACK returns 1 (a RST)
    [InlineData(Syn | Rst, false)]      // discarded
    [InlineData(Syn | Fin, false)]      // discarded
    [InlineData(Ack, false)]
    public void SendsSyn_InboundSegment_OnlyAPlainSynIsAnsweredWithASyn(byte flags, bool sendsSyn) =>
        Assert.Equal(sendsSyn, KernelScriptRunner.SendsSyn(flags));

    [Theory]
    [InlineData("connect", true)]
    [InlineData("sendto", true)]        // MSG_FASTOPEN
    [InlineData("listen", false)]
    [InlineData("accept", false)]
    public void SendsSyn_Call(string call, bool sendsSyn) => Assert.Equal(sendsSyn, KernelScriptRunner.SendsSyn(call));
}
