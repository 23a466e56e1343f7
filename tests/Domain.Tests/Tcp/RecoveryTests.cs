using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Loss recovery as tcp_fastretrans_alert() drives it (net/ipv4/tcp_input.c, tcp_recovery.c, tcp_output.c): RACK marks
/// each lost segment, PRR (tcp_cwnd_reduction()) paces the retransmissions, NewReno without SACK, F-RTO in CA_Loss and
/// the undo paths. The timelines are in the project's packetdrill scripts; these tests read the counters they leave.
/// </summary>
public class RecoveryTests
{
    static Mib Run(string name)
    {
        var result = PacketdrillRunner.Run(ProjectScripts.Read(name), new PacketdrillOptions { ScriptName = name });
        Assert.True(result.Passed, result.Output);
        return result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
    }

    [Fact]
    public void Disorder_TwoHolesThreeSacked_OneRecoveryTwoFastRetransmitsUnderPrr()
    {
        var mib = Run("prr-two-holes-sack-recovery.pkt");
        // One tcp_enter_recovery(), each hole resent once by tcp_xmit_retransmit_queue() outside CA_Loss.
        Assert.Equal((1L, 2L, 2L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans], mib[MibCounter.TcpRetransSegs]));
        Assert.Equal((0L, 0L, 0L), (mib[MibCounter.TcpExtTCPLostRetransmit], mib[MibCounter.TcpExtTCPFullUndo], mib[MibCounter.TcpExtTCPSlowStartRetrans]));
        // Ten segments delivered, each counted once: eight SACKed or cumulatively acknowledged originals, two retransmissions.
        Assert.Equal(10L, mib[MibCounter.TcpExtTCPDelivered] - 1); // the SYN-ACK acknowledged our SYN
    }
}
