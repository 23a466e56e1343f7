using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Several threads in connect() on one socket — __inet_stream_connect() (net/ipv4/af_inet.c): a call that finds
/// SS_CONNECTING sets -EALREADY and then, blocking and still SYN_SENT, sleeps in inet_wait_for_connect() like the first
/// (the socket lock is released while it sleeps). sk_state_change() wakes them all; each goes on under the lock. Client
/// 10.0.0.1 and server 10.0.0.2, 10 ms apart.
/// </summary>
public class ConnectWaitersTests
{
    static CallHandle Connect(TwoHostHarness h, int socket, ushort port) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socket, ToHost = "server", ToPort = port });

    static (SimTime At, long Result, string? Errno, SimDuration Blocked) Outcome(TwoHostHarness h, long callId)
    {
        var r = h.Returned(callId);
        Assert.NotNull(r);
        return (r!.At, r.Result, r.Errno, r.Blocked);
    }

    /// <summary>A listener on server:80; a client socket's connect() to <paramref name="port"/> at 0 and another at 2 ms.</summary>
    static (TwoHostHarness H, CallHandle Socket, CallHandle First, CallHandle Second) TwoConnects(ushort port)
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var s = h.Call("client", SocketCallKind.Socket);
        var first = Connect(h, s.SocketId, port);
        h.At(Ms(2));
        return (h, s, first, Connect(h, s.SocketId, port));
    }

    [Fact]
    public void SynSent_SecondConnectWhileTheFirstSleeps_BothReturnZeroAtTheSynAck()
    {
        // The SYN leaves at 0, the SYN-ACK is back at 20 ms: tcp_finish_connect() wakes both sleepers, each finds
        // ESTABLISHED and returns 0 (sock->state SS_CONNECTED). Observed on 6.18.44; the engine gave the second
        // -EALREADY at once.
        var (h, s, first, second) = TwoConnects(80);
        h.At(Ms(100));

        Assert.True(second.Blocked);
        Assert.Equal((Ms(20), 0L, (string?)null, SimDuration.FromMilliseconds(20)), Outcome(h, first.CallId));
        Assert.Equal((Ms(20), 0L, (string?)null, SimDuration.FromMilliseconds(18)), Outcome(h, second.CallId));
        Assert.Single(h.Sent("client"), x => x.Flags == Network.TcpFlags.Syn);
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(s.SocketId)!.State);
    }

    [Fact]
    public void SynSent_TwoConnectsToAClosedPort_OneTakesTheRefusalTheOtherEpipe()
    {
        // The RST at 20 ms: the first to run takes sock_error() (ECONNREFUSED), sk_disconnects++ and tcp_disconnect();
        // the other finds "dis != sk->sk_disconnects" and returns -EPIPE. SO_ERROR is then 0 and the socket may connect
        // again. (On 6.18.44 either thread may take the refusal; the engine gives it to the first caller.)
        var (h, s, first, second) = TwoConnects(81);
        h.At(Ms(50));
        var error = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = s.SocketId, Option = SocketOption.SO_ERROR });
        var again = Connect(h, s.SocketId, 80);
        h.At(Ms(100));

        Assert.Equal((Ms(20), -1L, Errno.ECONNREFUSED, SimDuration.FromMilliseconds(20)), Outcome(h, first.CallId));
        Assert.Equal((Ms(20), -1L, Errno.EPIPE, SimDuration.FromMilliseconds(18)), Outcome(h, second.CallId));
        Assert.Equal(0L, error.Result);
        Assert.Equal((Ms(70), 0L, (string?)null, SimDuration.FromMilliseconds(20)), Outcome(h, again.CallId));
    }
}

/// <summary>
/// Several threads in send() on one socket — tcp_sendmsg_locked() (net/ipv4/tcp.c): sk_stream_wait_memory() releases the
/// socket lock while it sleeps, so a second send() copies what fits and sleeps beside the first. Each wakeup reaches
/// both; the engine lets the first caller copy first.
/// </summary>
public class SendWaitersTests
{
    [Fact]
    public void Established_SecondSendWhileTheFirstSleeps_BothDeliverEverything()
    {
        // 300,000 bytes fill the send buffer and the first send() sleeps; a second send() of 1,000 bytes at 35 ms sleeps
        // too, at the head of the wait queue. From the wakeup that frees room the newest sleeper copies first: the second
        // returns 1,000 at 140 ms, and the first goes on and returns 300,000 at 182 ms; the server reads all 301,000
        // bytes. Until session 41 the second took the first's place: the first never returned and its unsent rest was never
        // copied.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var first = h.Send(c.Id, 300_000);
        h.At(Ms(35));
        var second = h.Send(c.Id, 1_000);
        h.At(Ms(1000));
        var reads = new List<CallHandle>();
        for (int i = 0; i < 40; i++)
        {
            reads.Add(h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = 1_000_000 }));
            h.At(Ms(1000 + 100 * (i + 1)));
        }

        var r1 = h.Returned(first.CallId);
        var r2 = h.Returned(second.CallId);
        Assert.True(first.Blocked);
        Assert.True(second.Blocked);
        Assert.NotNull(r1);
        Assert.NotNull(r2);
        Assert.Equal((300_000L, (string?)null), (r1!.Result, r1.Errno));
        Assert.Equal((1_000L, (string?)null), (r2!.Result, r2.Errno));
        Assert.Equal((Ms(182), Ms(140)), (r1.At, r2.At));
        Assert.Equal(301_000L, reads.Select(r => h.Returned(r.CallId)).Where(r => r is { Result: > 0 }).Sum(r => r!.Result));
    }
}
