using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Where the linux-4.4 profile's receive side follows 4.4's code instead of a later kernel's (session 34, fix34e). Each
/// runs on linux-6 too, whose answer is unchanged.
/// </summary>
public class Linux44ReceiveTests
{
    const string CrossedSynAckPrologue = """
        `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
           +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S 0:0(0) win 1000 <mss 1000>
           +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 110 ecr 0,nop,wscale 8>
         +.01 < S. 0:0(0) ack 1 win 1000
           +0 > . 1:1(0) ack 1

        """;

    /// <summary>
    /// The peer's SYN-ACK crossing ours in SYN_RECV (the 6.11 commit's own packetdrill, 23e89e8ee7be "tcp: Don't drop
    /// SYN+ACK for simultaneous connect()"). 4.4's tcp_validate_incoming() step 4 answers any SYN with a challenge ACK
    /// (TCPSYNChallenge, TCPChallengeACK; syn_inerr 0 from tcp_rcv_state_process(): no InErrs) and discards it, so the
    /// socket stays in SYN_RECV and a non-blocking write() is EAGAIN (sk_stream_wait_connect()). linux-6 passes it to
    /// tcp_ack(): ESTABLISHED, the SYN-ACK's sequence a duplicate (DelayedACKLost), and the write() sends. The ACK is
    /// the same segment either way.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, "TCP_SYN_RECV", "-1 EAGAIN (Resource temporarily unavailable)", 1, 0)]
    [InlineData(KernelProfile.Linux6, "TCP_ESTABLISHED", "100", 0, 1)]
    public void CrossedSynAck_Linux44ChallengesItAndStaysInSynRecv(KernelProfile profile, string state, string write, int challenges, int delayedAckLost)
    {
        string script = CrossedSynAckPrologue +
            $"   +0 %{{ assert tcpi_state == {state} }}%\n" +
            $"   +0 write(3, ..., 100) = {write}\n";

        var result = PacketdrillRunner.Run(script, new PacketdrillOptions { ScriptName = "t.pkt", Profile = profile });

        Assert.True(result.Passed, result.Output);
        var mib = result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
        Assert.Equal(challenges, mib[MibCounter.TcpExtTCPSYNChallenge]);
        Assert.Equal(challenges, mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal(0, mib[MibCounter.TcpInErrs]);
        Assert.Equal(delayedAckLost, mib[MibCounter.TcpExtDelayedACKLost]);
    }

    /// <summary>
    /// LowatTests' receiver in ping-pong mode with sk_rcvbuf 32768 and nothing read, so the window __tcp_select_window()
    /// offers falls below rcv_wnd; SO_RCVLOWAT 16000; eight segments arrive at 110 ms. linux-6's __tcp_ack_snd_check()
    /// ACKs more than rcv_mss unacknowledged while rcv_nxt − copied_seq &lt; sk_rcvlowat: every second segment at once.
    /// 4.4's has no such clause ("More than one full frame received... and right edge of window advances far enough"):
    /// one ACK, the delayed-ACK timer's, at 148 ms (the client's loss probe, answered at 150 ms, comes after).
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, new[] { 148 }, new[] { 11584u })]
    [InlineData(KernelProfile.Linux6, new[] { 110, 110, 110, 110 }, new[] { 2896u, 5792u, 8688u, 11584u })]
    public void UnreadBelowRcvLowat_Linux44AcksByTheWindowTestAlone(KernelProfile profile, int[] atMs, uint[] acked)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.TCP_QUICKACK, 0);
        h.SetOption(s.Id, SocketOption.SO_RCVBUF, 16_384);
        h.SetOption(s.Id, SocketOption.SO_RCVLOWAT, 16_000);
        h.Send(c.Id, 8 * 1448);
        h.At(Ms(149));

        uint isn = h.Sent("client").First().SeqNo + 1;
        var acks = h.Sent("server").Where(x => x.At > Ms(100)).Select(x => (x.At, x.AckNo - isn)).ToList();
        Assert.Equal(atMs.Zip(acked, (t, a) => (Ms(t), a)), acks);
    }

    /// <summary>
    /// A receiver with SO_RCVBUF 2048 (sk_rcvbuf 4096, locked) and SO_RCVLOWAT 10000 gets 1000 bytes at 110 ms and 1000 at
    /// 210 ms; poll(POLLIN, 0) at 300 ms. linux-6's tcp_poll() → tcp_epollin_ready(): 2000 bytes are below the mark
    /// (capped at half the locked buffer, 2048) but the receive memory is above 7/8 of sk_rcvbuf (tcp_rmem_pressure()),
    /// so POLLIN. 4.4's tcp_poll() tests rcv_nxt − copied_seq &gt;= target alone (its mark 10000, not capped): nothing.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 0L, "\"0\"", 10_000L)]
    [InlineData(KernelProfile.Linux6, 1L, "\"POLLIN\"", 2048L)]
    public void PollBelowRcvLowatUnderMemoryPressure_Linux44NotReadable(KernelProfile profile, long result, string events, long lowat)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.SO_RCVBUF, 2048);
        h.SetOption(s.Id, SocketOption.SO_RCVLOWAT, 10_000);
        h.Send(c.Id, 1000);
        h.At(Ms(200));
        h.Send(c.Id, 1000);
        h.At(Ms(300));

        var poll = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Poll) { SocketId = s.Id, Events = PollEvents.POLLIN, TimeoutMs = 0 });
        Assert.Equal((result, events), (poll.Result, poll.Value));
        Assert.Equal(lowat, h.GetOption(s.Id, SocketOption.SO_RCVLOWAT).Result);
        Assert.Equal((2000L, 4096L), (s.Unread, (long)s.SkRcvbuf));
    }

    /// <summary>
    /// 4.4's tcp_init_buffer_space() starts the receive-space measure at "tp-&gt;rcvq_space.space = tp-&gt;rcv_wnd;": the
    /// window the handshake offered — the client's SYN 29200, the server child's SYN-ACK 28960. linux-6 takes
    /// min(rcv_ssthresh, rcv_wnd, TCP_INIT_CWND · advmss): 10 × 1448 on both ends (tcpi_rcv_space, ss's rcv_space).
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 29200L, 28960L)]
    [InlineData(KernelProfile.Linux6, 14480L, 14480L)]
    public void RcvSpaceAtEstablished_Linux44IsTheFirstWindow(KernelProfile profile, long client, long server)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();

        Assert.Equal((client, server), (c.Info.RcvSpace, s.Info.RcvSpace));
    }
}
