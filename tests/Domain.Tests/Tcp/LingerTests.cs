using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// close() with SO_LINGER {1, N}: tcp_close() → sk_stream_wait_close() (net/core/stream.c), a loop of
/// sk_wait_event() sleeps bounded by sk_lingertime (N·HZ jiffies, HZ = 250), each a schedule_timeout() timer
/// on the timer wheel. Client 10.0.0.1 and server 10.0.0.2, 10 ms apart.
/// </summary>
public class LingerTests
{
    static IEnumerable<TimerArmed> LingerArms(TwoHostHarness h, TcpSocket sk) =>
        h.Sim.Journal.OfType<TimerArmed>().Where(e => e.SocketId == sk.Id && e.Timer == TcpTimerKind.Linger);

    /// <summary>
    /// SO_LINGER {1,5} = 1250 jiffies; close() at 200 ms (jiffy 50) sleeps until expire = jiffy 1300, a level-2
    /// wheel timer (delta 1250) in the bucket of jiffy 1336 (5.344 s). The client's FIN never arrives; the server
    /// closes at 5 s and its FIN (not acking ours) arrives at 5.010 s (jiffy 1252): tcp_fin() moves FIN_WAIT1 to
    /// CLOSING and sk_state_change() wakes the sleeper. sk_stream_closing() still holds, so the loop sleeps again
    /// with what schedule_timeout() returned, 1300 − 1252 = 48 jiffies: a level-0 timer, run one jiffy after its
    /// expiry, at jiffy 1301 = 5.204 s, when close() returns 0 — not at the first timer's 5.344 s.
    /// </summary>
    [Fact]
    public void Closing_LingerWokenBySimultaneousFin_SleepsAgainWithTheRemainingJiffies()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 5, lingerOnOff: 1);
        h.At(Ms(200));
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, null, blackhole: true);
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.True(close.Blocked);
        h.At(S(5));
        h.Call("server", SocketCallKind.Close, s.Id);

        h.At(S(5.2035));
        Assert.Equal(TcpState.Closing, c.State);
        Assert.Null(h.Returned(close.CallId));
        h.At(S(6));

        var ret = h.Returned(close.CallId)!;
        Assert.Equal((S(5.204), 0L, (string?)null), (ret.At, ret.Result, ret.Errno));
        Assert.Equal([(Ms(200), Ms(5344)), (Ms(5010), Ms(5204))], LingerArms(h, c).Select(e => (e.At, e.Expires)));
    }

    /// <summary>
    /// An ACK that does not end the close: a MSG_DONTWAIT send ran out of buffer (SOCK_NOSPACE), then close() with
    /// SO_LINGER {1,5} at 200 ms (jiffy 50; expire 1300, run at 5.344 s) queues the FIN behind the data. The peer's
    /// ACKs of all the data but not the FIN, injected at 5.010 s (jiffy 1252), free the buffer: tcp_check_space() →
    /// sk_stream_write_space() wakes the closing task (its socket still has its struct socket), which finds FIN_WAIT1
    /// and sleeps again for the 48 jiffies left — close() returns at 5.204 s.
    /// </summary>
    [Fact]
    public void FinWait1_LingerWokenByAnAckOfTheDataOnly_SleepsAgainWithTheRemainingJiffies()
    {
        var p = InjectedPeer.Connected();
        var (h, c) = (p.H, p.C);
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 3000);
        h.SetOption(c.Id, SocketOption.SO_LINGER, 5, lingerOnOff: 1);
        var send = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 100_000, Flags = MsgFlags.MSG_DONTWAIT });
        Assert.InRange(send.Result, 1, 99_999);
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.True(close.Blocked);
        h.At(S(5.010));
        uint dataEnd = c.Iss + 1 + (uint)send.Result;
        for (int i = 0; i < 40 && c.SndUna != dataEnd; i++)
            h.Deliver(h.Client, From(p.S, TcpFlags.Ack, p.S.Iss + 1, SeqMath.Before(c.SndNxt, dataEnd) ? c.SndNxt : dataEnd));
        Assert.Equal((dataEnd, TcpState.FinWait1), (c.SndUna, c.State));

        h.At(S(6));

        var ret = h.Returned(close.CallId)!;
        Assert.Equal((S(5.204), 0L), (ret.At, ret.Result));
    }

    static string? GetLinger(TwoHostHarness h, TcpSocket sk) => h.GetOption(sk.Id, SocketOption.SO_LINGER).Value;

    /// <summary>
    /// sk_setsockopt(SO_LINGER) — net/core/sock.c: l_onoff 0 only clears SOCK_LINGER ("sock_reset_flag(sk,
    /// SOCK_LINGER)") and leaves sk_lingertime, so sk_getsockopt() reads back {0, 5}; the l_linger of that call is ignored.
    /// </summary>
    [Fact]
    public void Established_SetLingerOffAfterFiveSeconds_KeepsTheLingertime()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 5, lingerOnOff: 1);

        h.SetOption(c.Id, SocketOption.SO_LINGER, 9, lingerOnOff: 0);

        Assert.Equal("{\"onoff\":0,\"linger\":5}", GetLinger(h, c));
    }

    /// <summary>
    /// A negative l_linger becomes a huge unsigned long (t_sec = ling.l_linger), at least MAX_SCHEDULE_TIMEOUT / HZ:
    /// sk_lingertime = MAX_SCHEDULE_TIMEOUT = LONG_MAX. sk_getsockopt() reads back sk_lingertime / HZ =
    /// 36893488147419103 stored in the int l_linger: its low 32 bits, 2542620639, i.e. −1752346657.
    /// </summary>
    [Fact]
    public void Established_SetLingerNegative_SaturatesAndReadsBackTheTruncatedQuotient()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();

        h.SetOption(c.Id, SocketOption.SO_LINGER, -1, lingerOnOff: 1);

        Assert.Equal("{\"onoff\":1,\"linger\":-1752346657}", GetLinger(h, c));
    }

    /// <summary>
    /// INT_MAX seconds is far below MAX_SCHEDULE_TIMEOUT / HZ: sk_lingertime = 2147483647 · 250 jiffies, a finite
    /// wait, and getsockopt() reads back 2147483647.
    /// </summary>
    [Fact]
    public void Established_SetLingerIntMax_StaysFiniteAndReadsBack()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();

        h.SetOption(c.Id, SocketOption.SO_LINGER, int.MaxValue, lingerOnOff: 1);

        Assert.Equal("{\"onoff\":1,\"linger\":2147483647}", GetLinger(h, c));
    }

    /// <summary>
    /// linux-4.4's sock_setsockopt() on a 64-bit kernel: sk_lingertime = (unsigned int)l_linger · HZ, no saturation — an
    /// unsigned int product (HZ is an int constant), so it wraps at 32 bits: −1 is 4294967295 · 250 mod 2^32 =
    /// 4294967046 jiffies, and getsockopt() reads back 4294967046 / 250 = 17179868.
    /// </summary>
    [Fact]
    public void Established_SetLingerNegativeOnLinux44_ProductWrapsIn32Bits()
    {
        var h = new TwoHostHarness(profile: Engine.KernelProfile.Linux44);
        var (c, _, _) = h.Establish();

        h.SetOption(c.Id, SocketOption.SO_LINGER, -1, lingerOnOff: 1);

        Assert.Equal("{\"onoff\":1,\"linger\":17179868}", GetLinger(h, c));
    }

    /// <summary>The inode column of the socket's /proc/net/tcp row (get_tcp4_sock(): sock_i_ino(sk)).</summary>
    static string ProcInode(TwoHostHarness h, TcpSocket sk) =>
        SimService.Domain.Observability.ProcNetTcp.Format(sk.Host).Split('\n').Single(l => l.Contains($":{sk.Local.Port:X4} ")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[9];

    /// <summary>
    /// While close() lingers the socket is not orphaned yet: sock_orphan() (sk_set_socket(sk, NULL), SOCK_DEAD) runs in
    /// __tcp_close() after sk_stream_wait_close(), so /proc/net/tcp still prints the socket's inode (sock_i_ino() reads
    /// sk->sk_socket) and ss does not count it as an orphan; once the 5 s wait ends (level-2 bucket of jiffy 1336
    /// for a close at jiffy 50: 5.344 s) the inode is 0 and the socket an orphan.
    /// </summary>
    [Fact]
    public void FinWait1_WhileCloseLingers_ProcNetTcpStillShowsTheInode()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 5, lingerOnOff: 1);
        h.At(Ms(200));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(1));

        Assert.Equal((TcpState.FinWait1, false, c.Id.ToString()), (c.State, c.IsOrphan, ProcInode(h, c)));

        h.At(S(5.344));
        Assert.Equal(S(5.344), h.Returned(close.CallId)!.At);
        Assert.Equal((true, "0"), (c.IsOrphan, ProcInode(h, c)));
    }
}
