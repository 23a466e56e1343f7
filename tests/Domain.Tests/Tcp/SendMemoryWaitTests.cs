using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// sk_stream_wait_memory() — net/core/stream.c — entered with sk_stream_memory_free() true (tcp_sendmsg_locked()'s
/// tcp_push() before the wait merged unsent skbs at a zero window's edge and freed their truesize below sk_sndbuf):
/// the writer sleeps vm_wait = get_random_u32_below(HZ / 5) + 2 jiffies and then, memory still free, copies one more
/// skb without any ACK. Observed on Linux 6.18.44
/// (scenarios/observed-2host-blocked-send-memory-free-after-push-sleeps-vm-wait-then-copies.json, 2 kernel runs).
/// </summary>
public class SendMemoryWaitTests
{
    [Fact]
    public void BlockedSend_MemoryFreeAfterItsPush_CopiesOneSkbAfterVmWaitWithoutAnAck()
    {
        var (h, _, client) = WriterInVmWait(sndTimeoSec: 0);

        // 344.1 ms: the last ACK (window 0) wakes the writer; it copies two skbs (9736 queued) and its push merges them
        // into the zero window's head, freeing 2 · 832: the wait is entered with 8072 < 8192.
        h.At(Ms(345));
        Assert.Equal(8072, client.WmemQueued);
        Assert.Equal(17376, (long)(client.WriteSeq - client.Iss - 1));
        var lastAck = h.Sent("server").Last(seg => seg.At <= Ms(345));
        Assert.Equal(Ms(344), lastAck.At);
        Assert.Equal(0, lastAck.Win);

        // Seed 1's vm_wait ends the sleep at 400 ms (the kernel's lands anywhere 8–204 ms after 344.1 ms): its timer
        // (SendTimeout) fires with no segment in between, and the send copies 1448 bytes into a new skb (832 + 1448 =
        // 2280): 10352 queued, beyond sk_sndbuf, so it sleeps for good.
        h.At(Ms(600));
        var vmWaitEnd = h.Sim.Journal.OfType<TimerFired>().Single(t => t.Host == "client" && t.Timer == TcpTimerKind.SendTimeout);
        Assert.Equal(Ms(400), vmWaitEnd.At);
        Assert.DoesNotContain(h.Segments(), seg => seg.At > Ms(345) && seg.At < vmWaitEnd.At);
        Assert.Equal(10352, client.WmemQueued);
        Assert.Equal(18824, (long)(client.WriteSeq - client.Iss - 1));
    }

    /// <summary>
    /// The same vm_wait (344.1 ms → 400 ms) of send() A, which has SO_SNDTIMEO 1 s; at 345 ms a second send() B of the
    /// same socket finds memory free, copies 1448 bytes (10352 queued) and sleeps at the head of the wait queue. A's
    /// timer wakes A alone (process_timeout()): its loop accounts the vm_wait, finds no memory free and sleeps the
    /// rest of its own timeo, returning what it copied at 1.024 s (jiffy 1010 on the wheel's 64-jiffy level); B returns
    /// its 1448 bytes at its own expiry, 1.376 s (345 + 1000 jiffies, rounded up the same way).
    /// </summary>
    [Fact]
    public void VmWaitTimerOfASenderBehindTheHead_RunsThatSendersLoop()
    {
        var (h, id, client) = WriterInVmWait(sndTimeoSec: 1);
        h.At(Ms(345));
        var second = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = id, Bytes = 5000 });
        Assert.Null(h.Returned(second.CallId));
        Assert.Equal(10352, client.WmemQueued);

        h.At(Ms(3000));
        var sends = h.Sim.Journal.OfType<CallReturned>().Where(r => r.Host == "client" && r.Call == SocketCallKind.Send)
            .Select(r => (r.At, r.Result)).ToList();
        Assert.Equal([(Ms(1024), 17376L), (Ms(1376), 1448L)], sends);
    }

    /// <summary>
    /// A 4096-byte SO_SNDBUF and SO_RCVBUF pair: a 100,000-byte send() at 10 ms fills the peer's window, the server
    /// reads 3000 bytes at 100 ms and 300 ms, and the ACK of 344.1 ms puts the writer into its vm_wait sleep.
    /// </summary>
    static (TwoHostHarness H, int Client, TcpSocket Socket) WriterInVmWait(int sndTimeoSec)
    {
        var h = new TwoHostHarness(delayMs: 0.1);
        var l = h.ListenWithOption(SocketOption.SO_RCVBUF, 4096);
        h.At(Ms(1));
        var c = h.Call("client", SocketCallKind.Socket);
        h.SetOption(c.SocketId, SocketOption.SO_SNDBUF, 4096);
        if (sndTimeoSec > 0)
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.SocketId, Option = SocketOption.SO_SNDTIMEO, TvSec = sndTimeoSec });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = c.SocketId, ToHost = "server", ToPort = 80 });
        h.At(Ms(5));
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(10));
        int s = h.Returned(a.CallId)!.SocketId;
        h.Send(c.SocketId, 100_000);
        h.At(Ms(100));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s, Bytes = 3000 });
        h.At(Ms(300));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s, Bytes = 3000 });
        return (h, c.SocketId, h.Sim.FindSocket(c.SocketId)!);
    }
}
