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

    private static SockDiag.Row Socket(int state, ushort port) => new(state, 0xC0000201, port, 0, 0, 0, 0, 0);

    /// <summary>
    /// review34b N4: a SYN to a port nobody listens on is answered with a RST (tcp_v4_rcv(): no socket), so it makes no ISN
    /// due — the ACK after it waited 100 ms for one (kernel --record of SYN, ACK before listen(): the RST recorded at 120 ms,
    /// the engine's at 20 ms). Only a listener on the SYN's own port answers with a SYN-ACK.
    /// </summary>
    [Theory]
    [InlineData(Syn, 8080, true)]       // TCP_LISTEN (10) on the SYN's port
    [InlineData(Syn, 8081, false)]      // a listener on another port
    [InlineData(Ack, 8080, false)]      // not a SYN
    public void SynAckDue_OnlyAListenerOnTheSynsPortAnswersWithASynAck(byte flags, ushort port, bool due) =>
        Assert.Equal(due, KernelScriptRunner.SynAckDue(flags, port, () => [Socket(10, 8080), Socket(1, 8081)]));

    [Fact]
    public void SynAckDue_SynToAPortWithNoListener_NoIsnComes() =>
        Assert.False(KernelScriptRunner.SynAckDue(Syn, 8080, () => [Socket(7, 8080)])); // a socket bound there, TCP_CLOSE

    [Theory]
    [InlineData("connect", true)]
    [InlineData("sendto", true)]        // MSG_FASTOPEN
    [InlineData("listen", false)]
    [InlineData("accept", false)]
    public void SendsSyn_Call(string call, bool sendsSyn) => Assert.Equal(sendsSyn, KernelScriptRunner.SendsSyn(call));
}
