using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Fixtures;

/// <summary>
/// A client connected to the server, then the link cut both ways: the server's data is injected into the
/// client segment by segment (packetdrill-style), 200 ms apart so that each gets exactly one ACK (quick or
/// delayed), and the client's ACKs are read from the journal. Offsets are relative to the server's ISN + 1.
/// </summary>
public sealed class InjectedPeer
{
    readonly TwoHostHarness _h;
    readonly TcpSocket _c, _s;
    /// <summary>The server's TSval clock, moved on 200 ms per injected segment (PAWS wants it non-decreasing).</summary>
    uint _tsVal;

    InjectedPeer(TwoHostHarness h, TcpSocket c, TcpSocket s)
    {
        (_h, _c, _s) = (h, c, s);
        _tsVal = h.Sent("server").Last().Options.TsVal;
    }

    public TwoHostHarness H => _h;
    public TcpSocket C => _c;
    /// <summary>The server's accepted socket (its link is cut: the test speaks for it).</summary>
    public TcpSocket S => _s;
    /// <summary>The next in-order offset the peer would send.</summary>
    public long Next { get; private set; }

    /// <summary>
    /// Listener on server:80, a client socket (<paramref name="beforeSocket"/> may set sysctls tcp_init_sock()
    /// reads, <paramref name="beforeConnect"/> options or sysctls on it), connect() at 1 ms, ESTABLISHED by 200 ms
    /// (links of <paramref name="delayMs"/>; by 1 + 4 · delay ms when that is later), then the link fails both ways.
    /// </summary>
    public static InjectedPeer Connected(Action<TwoHostHarness, int>? beforeConnect = null, Action<TwoHostHarness>? beforeSocket = null,
        KernelProfile profile = KernelProfile.Linux6, double delayMs = 10)
    {
        var h = new TwoHostHarness(profile: profile, delayMs: delayMs);
        beforeSocket?.Invoke(h);
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var cs = h.Call("client", SocketCallKind.Socket);
        beforeConnect?.Invoke(h, cs.SocketId);
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = cs.SocketId, ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(Math.Max(200, 1 + 4 * delayMs)));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Sim.FindSocket(cs.SocketId)!;
        Assert.Equal(TcpState.Established, c.State);
        return new InjectedPeer(h, c, h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!);
    }

    /// <summary>
    /// Injects <paramref name="len"/> bytes of the server's data at offset <paramref name="at"/> (default: the
    /// next in-order byte) with the timestamp option when the connection has it; runs 199 ms and returns the
    /// client's one ACK. <paramref name="fin"/> sets FIN on it (a bare FIN with <paramref name="len"/> 0).
    /// </summary>
    public SegmentSent Data(int len, long? at = null, bool psh = false, bool fin = false)
    {
        int before = _h.Sent("client").Count();
        var lastClient = _h.Sent("client").Last();
        long off = at ?? Next;
        var options = _c.Info.Timestamps ? new TcpOptions(HasTimestamp: true, TsVal: _tsVal += 200, TsEcr: lastClient.Options.TsVal) : TcpOptions.None;
        _h.Deliver(_h.Client, new Segment(_s.Tuple, TcpFlags.Ack | (psh ? TcpFlags.Psh : 0) | (fin ? TcpFlags.Fin : 0), _s.Iss + 1 + (uint)off, _c.SndNxt, 502, len, options));
        if (off + len > Next && off <= Next) Next = off + len;
        _h.At(_h.Sim.Now + SimDuration.FromMilliseconds(199));
        return Assert.Single(_h.Sent("client").Skip(before));
    }

    /// <summary>
    /// Runs to <paramref name="when"/> and injects <paramref name="len"/> bytes at offset <paramref name="at"/> (the
    /// timestamp option as <see cref="Data"/> sends it, TSval one higher each time), without running on: for segments
    /// closer together than <see cref="Data"/>'s 200 ms. <paramref name="win"/> is the window field the server sends.
    /// </summary>
    public void DataAt(SimTime when, int len, long at, ushort win = 502)
    {
        _h.At(when);
        var lastClient = _h.Sent("client").Last();
        var options = _c.Info.Timestamps ? new TcpOptions(HasTimestamp: true, TsVal: ++_tsVal, TsEcr: lastClient.Options.TsVal) : TcpOptions.None;
        _h.Deliver(_h.Client, new Segment(_s.Tuple, TcpFlags.Ack, _s.Iss + 1 + (uint)at, _c.SndNxt, win, len, options));
        if (at + len > Next && at <= Next) Next = at + len;
    }

    /// <summary>An ACK's cumulative ack, relative to the server's ISN + 1.</summary>
    public long Acked(SegmentSent ack) => (long)(uint)(ack.AckNo - (_s.Iss + 1));

    /// <summary>An ACK's SACK blocks, relative to the server's ISN + 1, in wire order.</summary>
    public (long, long)[] Sacks(SegmentSent ack) =>
        [.. ack.Options.Sack.ToArray().Select(b => ((long)(uint)(b.Left - (_s.Iss + 1)), (long)(uint)(b.Right - (_s.Iss + 1))))];

    /// <summary>What is left of the window the client offered last (rcv_wup + rcv_wnd − rcv_nxt), in bytes.</summary>
    public long Left(int wscale)
    {
        var ack = _h.Sent("client").Last();
        return Acked(ack) + ((long)ack.Win << wscale) - Next;
    }
}
