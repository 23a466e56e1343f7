using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// A recv() asleep in sk_wait_data() is woken by sk_data_ready() (sock_def_readable() → wake_up_interruptible_sync_poll()),
/// which only makes the task runnable: it runs after the softirq that received the segment — by then every segment of a
/// burst that arrived with it has been received — so it copies the whole burst. Client 10.0.0.1 and server 10.0.0.2,
/// 10 ms apart; the server's sends at 150 ms arrive at 160 ms (MSS 1448).
/// </summary>
public class WokenReaderTests
{
    static CallHandle Recv(TwoHostHarness h, TcpSocket s, MsgFlags flags = MsgFlags.None) =>
        h.Call(new SocketCallRequest(s.Host.Name, "app", SocketCallKind.Recv) { SocketId = s.Id, Flags = flags });

    [Fact]
    public void Established_BlockedRecvWokenByABurst_CopiesTheWholeBurst()
    {
        // 5279 bytes leave as 1448 + 1448 + 1448 + 935 at 150 ms and arrive together: the first segment's
        // tcp_data_ready() wakes the reader, which runs after the other three are received (each ACKed at once in
        // quick-ACK mode, the window growing as the queue does) and copies all 5279 bytes.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var recv = Recv(h, c);
        h.At(Ms(150));
        h.Send(s.Id, 5279);
        h.At(Ms(1000));

        var r = h.Returned(recv.CallId)!;
        uint isn = h.Sent("server").First().SeqNo;
        var acks = h.Sent("client").Where(e => e.At == Ms(160)).Select(e => (e.AckNo - isn - 1, e.Win)).ToArray();
        Assert.Equal((Ms(160), 5279L), (r.At, r.Result));
        Assert.Equal([(1448u, (ushort)66), (2896u, (ushort)69), (4344u, (ushort)72), (5279u, (ushort)75)], acks);
        Assert.Equal((-1L, "EAGAIN"), (Recv(h, c, MsgFlags.MSG_DONTWAIT).Result, Recv(h, c, MsgFlags.MSG_DONTWAIT).Errno));
    }

    [Fact]
    public void Established_BlockedRecvWokenByDataAndFinTogether_CopiesTheDataThenEof()
    {
        // 2000 bytes and the FIN (on the last segment) arrive together: the reader copies both segments; the next
        // recv() reads the end of file.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var recv = Recv(h, c);
        h.At(Ms(150));
        h.Send(s.Id, 2000);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = s.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));

        var r = h.Returned(recv.CallId)!;
        var eof = Recv(h, c);
        Assert.Equal((Ms(160), 2000L), (r.At, r.Result));
        Assert.Equal((false, 0L), (eof.Blocked, eof.Result));
    }

    [Fact]
    public void Established_BlockedRecvWokenBySegmentsApart_ReturnsTheFirst()
    {
        // Segments half a millisecond apart are two softirqs: the reader woken by the first runs before the second.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var recv = Recv(h, c);
        h.At(Ms(150));
        h.Send(s.Id, 1000);
        h.At(Ms(150.5));
        h.Send(s.Id, 1000);
        h.At(Ms(1000));

        var r = h.Returned(recv.CallId)!;
        Assert.Equal((Ms(160), 1000L), (r.At, r.Result));
        Assert.Equal(1000L, Recv(h, c).Result);
    }
}
