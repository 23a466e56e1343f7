using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Tests.Packetdrill;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Classic ECN negotiation (TcpSocket.Ecn.cs): tcp_ecn_send_syn() asks with ECE|CWR at net.ipv4.tcp_ecn 1 only (cubic is not
/// tcp_ca_needs_ecn()); tcp_ecn_create_request() agrees, ECE on the SYN-ACK, when the listener's tcp_ecn is 1 or 2;
/// tcp_ecn_rcv_synack() keeps TCP_ECN_OK on ECE without CWR; tcp_get_info() reports TCPI_OPT_ECN. On Linux 6.18.44:
/// packetdrill/ecn-*.pkt and scenarios/observed-2host-ecn-1-client-negotiates-cwr-on-new-data-after-rto.json.
/// </summary>
public class EcnTests
{
    [Theory]
    [InlineData(KernelProfile.Linux6, "1", "2", "SEW", "S.E", true)]
    [InlineData(KernelProfile.Linux6, "1", "1", "SEW", "S.E", true)]
    [InlineData(KernelProfile.Linux6, "1", "0", "SEW", "S.", false)]
    [InlineData(KernelProfile.Linux6, "2", "2", "S", "S.", false)]
    [InlineData(KernelProfile.Linux6, "0", "1", "S", "S.", false)]
    [InlineData(KernelProfile.Linux44, "1", "2", "SEW", "S.E", true)]
    public void Handshake_TcpEcnOnEachSide_SynAndSynAckFlagsAndTcpInfo(KernelProfile profile, string client, string server,
        string syn, string synAck, bool ecn)
    {
        var h = new TwoHostHarness(profile: profile);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_ecn", client));
        Assert.Null(h.Sim.SetSysctl("server", "net.ipv4.tcp_ecn", server));
        var (c, s, _) = h.Establish();

        Assert.Equal(syn, h.Sent("client").First().Flags.ToLetters());
        Assert.Equal(synAck, h.Sent("server").First().Flags.ToLetters());
        Assert.Equal(".", h.Sent("client").ElementAt(1).Flags.ToLetters());
        Assert.Equal(ecn, c.Info.Ecn);
        Assert.Equal(ecn, s.Info.Ecn);
    }

    /// <summary>
    /// tcp_conn_request() with want_cookie (tcp_syncookies 2): without a usable timestamp (tmp_opt.tstamp_ok) ecn_ok is
    /// cleared, as only the cookie's TSval could carry ECN to cookie_ecn_ok() — the SYN-ACK is a plain S. and neither side
    /// has ECN; with timestamps the cookie SYN-ACK agrees (S.E) and the TSval's ECN bit gives the child ECN. On Linux 6.18.44:
    /// scenarios/observed-2host-ecn-syncookie-without-timestamps-plain-synack.json.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, "1", "S.E", true)]
    [InlineData(KernelProfile.Linux6, "0", "S.", false)]
    [InlineData(KernelProfile.Linux44, "0", "S.", false)]
    public void Handshake_SynCookie_EcnOnlyWithTimestamps(KernelProfile profile, string timestamps, string synAck, bool ecn)
    {
        var h = new TwoHostHarness(profile: profile);
        foreach (var host in new[] { "client", "server" }) Assert.Null(h.Sim.SetSysctl(host, "net.ipv4.tcp_ecn", "1"));
        Assert.Null(h.Sim.SetSysctl("server", "net.ipv4.tcp_syncookies", "2"));
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", timestamps));
        var (c, s, _) = h.Establish();

        Assert.Equal("SEW", h.Sent("client").First().Flags.ToLetters());
        var cookie = h.Sent("server").First();
        Assert.Equal("tcp_conn_request (TCP_SYNACK_COOKIE)", cookie.Reason);
        Assert.Equal(synAck, cookie.Flags.ToLetters());
        Assert.Equal(ecn, c.Info.Ecn);
        Assert.Equal(ecn, s.Info.Ecn);
    }

    /// <summary>
    /// tcp_ecn_accept_cwr(): data with CWR on a connection with ECN is ACKed at once (ICSK_ACK_NOW) — the listener's
    /// script without W is ACKed by the delayed-ACK timer 42 ms later (observed on Linux 6.18.44 too).
    /// </summary>
    [Fact]
    public void CwrData_InPingPong_AckedAtOnce_WithoutCwr_Delayed()
    {
        var text = ProjectScripts.Read("ecn-2-listener-agrees-with-ece-and-acks-cwr-data-at-once.pkt").Replace("< P.W 101:201", "< P. 101:201");
        var result = PacketdrillRunner.Run(text, new PacketdrillOptions { ScriptName = "t.pkt" });
        Assert.False(result.Passed);
        Assert.Contains("timing error: expected outbound packet at 0.110000 sec but happened at 0.152000 sec", result.Output);
    }
}
