using SimService.Domain.Commands;
using SimService.Domain.Network;
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

/// <summary>
/// Several recv() calls asleep on one socket (threads of a process sharing the descriptor): sk_wait_data() puts each on
/// the socket's wait queue with add_wait_queue(), non-exclusive, so sk_data_ready() and sk_state_change() wake every one
/// of them (__wake_up_common() stops early only at exclusive waiters). A FIN ends them all with 0; data goes to the one
/// that runs first, and the others sleep again. Client 10.0.0.1 and server 10.0.0.2, 10 ms apart.
/// </summary>
public class SleepingReadersTests
{
    static CallHandle Recv(TwoHostHarness h, TcpSocket s, long bytes = -1) =>
        h.Call(new SocketCallRequest(s.Host.Name, "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = bytes });

    [Fact]
    public void ThreeRecvsAsleep_PeerFin_EachReturnsZeroAndTheCloseSendsAFin()
    {
        // Observed on Linux 6.18.44 (simservice kernel --diff): all three recv() calls return 0 when the FIN arrives at
        // 1.010 s, so the close() at 1.1 s is the last reference and sends the client's FIN (LAST-ACK, then CLOSED).
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        var r1 = Recv(h, c, 1000);
        h.At(Ms(200));
        var r2 = Recv(h, c, 1000);
        h.At(Ms(300));
        var r3 = Recv(h, c, 1000);
        h.At(Ms(1000));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1100));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(1500));

        var returned = new[] { r1, r2, r3 }.Select(r => h.Returned(r.CallId)).Select(r => (r?.At, r?.Result)).ToArray();
        Assert.Equal([(Ms(1010), 0L), (Ms(1010), 0L), (Ms(1010), 0L)], returned);
        Assert.Contains(h.Sent("client"), e => e.At == Ms(1100) && e.Flags == (TcpFlags.Fin | TcpFlags.Ack));
        Assert.Equal(TcpState.Close, h.StateOf(c));
    }

    [Fact]
    public void TwoRecvsAsleep_Data_TheLastSleeperCopiesItAndTheOtherSleepsAgain()
    {
        // The engine's model: the woken readers run newest first (the wait queue's order), so the recv() that slept last
        // copies the 500 bytes arriving at 1.010 s and the first sleeps again and copies the 300 arriving at 1.510 s. On
        // Linux which woken thread takes the socket lock first is the scheduler's: two kernel runs went this way, one of
        // nine runs of a three-reader scenario (load ≈ 50) did not (docs/kernel-check.md D127).
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        var first = Recv(h, c, 1000);
        h.At(Ms(200));
        var last = Recv(h, c, 1000);
        h.At(Ms(1000));
        h.Send(s.Id, 500);
        h.At(Ms(1500));
        h.Send(s.Id, 300);
        h.At(Ms(2000));

        Assert.Equal((Ms(1010), 500L), (h.Returned(last.CallId)?.At, h.Returned(last.CallId)?.Result));
        Assert.Equal((Ms(1510), 300L), (h.Returned(first.CallId)?.At, h.Returned(first.CallId)?.Result));
    }
}
