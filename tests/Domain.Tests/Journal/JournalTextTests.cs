using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Journal;

/// <summary>The journal's one text form: the API's and ss's words, never a record's C# ToString().</summary>
public class JournalTextTests
{
    static readonly FourTuple Tuple = new(new Endpoint(IPv4.Parse("10.0.0.2"), 80), new Endpoint(IPv4.Parse("10.0.0.1"), 40314));

    [Fact]
    public void Events_Described_InKernelStateNamesTcpdumpFlagsAndOptionsAndKebabNames()
    {
        var at = new SimTime(11_000_000);
        var synAck = new SegmentSent(at, 7, "server", Tuple, TcpFlags.Syn | TcpFlags.Ack, 2772807593, 1470747434, 0, 65160,
            new TcpOptions(Mss: 1460, WindowScale: 7, SackPermitted: true, HasTimestamp: true, TsVal: 5, TsEcr: 9), "tcp_conn_request", "client");
        Assert.Equal("server 10.0.0.2.80 > 10.0.0.1.40314: Flags [S.], seq 2772807593, ack 1470747434, length 0, win 65160, "
            + "options [mss 1460,sackOK,TS val 5 ecr 9,wscale 7] (tcp_conn_request) → client", JournalText.Describe(synAck));
        Assert.Equal("client received 10.0.0.2.80 > 10.0.0.1.40314: Flags [F.], seq 1, ack 2, length 0",
            JournalText.Describe(new SegmentDelivered(at, 8, "client", Tuple, TcpFlags.Fin | TcpFlags.Ack, 1, 2, 0)));
        Assert.Equal("server socket 1: CLOSED → LISTEN (inet_csk_listen_start)",
            JournalText.Describe(new StateChanged(at, 1, "server", 1, TcpState.Close, TcpState.Listen, "inet_csk_listen_start")));
        Assert.Equal("client socket 2: timer fin-wait2 armed, runs at 60.384s",
            JournalText.Describe(new TimerArmed(at, 9, "client", 2, TcpTimerKind.FinWait2, new SimTime(60_384_000_000))));
        Assert.Equal("client socket 2: timer fin-wait2 cancelled", JournalText.Describe(new TimerCancelled(at, 10, "client", 2, TcpTimerKind.FinWait2)));
        Assert.Equal("client socket 2: timer time-wait fired", JournalText.Describe(new TimerFired(at, 11, "client", 2, TcpTimerKind.TimeWait)));
        Assert.Equal("server app: recv(3) = -1 ECONNRESET after 900ms call 5",
            JournalText.Describe(new CallReturned(at, 12, "server", "app", 5, SocketCallKind.Recv, 3, -1, "ECONNRESET", SimDuration.FromMilliseconds(900))));
        Assert.Equal("client 10.0.0.2.80 > 10.0.0.1.40314: Flags [R], seq 1, length 0, win 0 (tcp_v4_send_reset) → server",
            JournalText.Describe(new SegmentSent(at, 13, "client", Tuple, TcpFlags.Rst, 1, 0, 0, 0, TcpOptions.None, "tcp_v4_send_reset", "server")));
    }
}
