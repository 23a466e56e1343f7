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

    [Fact]
    public void SynSent_SecondConnectWhileTheFirstSleeps_BothReturnZeroAtTheSynAck()
    {
        // The SYN leaves at 0, the SYN-ACK is back at 20 ms: tcp_finish_connect() wakes both sleepers, each finds
        // ESTABLISHED and returns 0 (sock->state SS_CONNECTED). Observed on 6.18.44; the engine gave the second
        // -EALREADY at once.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var s = h.Call("client", SocketCallKind.Socket);

        var first = Connect(h, s.SocketId, 80);
        h.At(Ms(2));
        var second = Connect(h, s.SocketId, 80);
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
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var s = h.Call("client", SocketCallKind.Socket);

        var first = Connect(h, s.SocketId, 81);
        h.At(Ms(2));
        var second = Connect(h, s.SocketId, 81);
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
