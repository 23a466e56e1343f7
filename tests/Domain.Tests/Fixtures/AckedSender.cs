using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Fixtures;

/// <summary>
/// A client ESTABLISHED with the server at 21 ms whose link is then cut both ways at 200 ms
/// (<see cref="InjectedPeer.Connected"/>): the test injects the server's ACKs (window 64 &lt;&lt; 10 = 65536) with timestamps.
/// </summary>
public sealed class AckedSender
{
    public TwoHostHarness H { get; }
    public TcpSocket C { get; }
    public TcpSocket S { get; }
    uint _tsVal;
    /// <summary>Bytes of data the server's injected segments carried so far.</summary>
    uint _dataSent;

    public AckedSender(Action<TwoHostHarness, int>? beforeConnect = null, Action<TwoHostHarness>? beforeSocket = null,
        KernelProfile profile = KernelProfile.Linux6)
    {
        var connected = InjectedPeer.Connected(beforeConnect, beforeSocket, profile);
        (H, C, S) = (connected.H, connected.C, connected.S);
        _tsVal = H.Sent("server").Last().Options.TsVal;
    }

    /// <summary>
    /// At <paramref name="at"/>, the server's ACK of the first <paramref name="acked"/> bytes arrives (an event of
    /// the simulation, so that sleeping poll() calls are re-run after it as after any other), with
    /// <paramref name="data"/> bytes of the server's own data (PSH) when not 0, advertising <paramref name="window"/>
    /// (in units of 1024: the server's window scale is 10).
    /// </summary>
    public void Ack(SimTime at, long acked, int data = 0, ushort window = 64)
    {
        var options = new TcpOptions(HasTimestamp: true, TsVal: _tsVal += 10, TsEcr: H.Sent("client").Last().Options.TsVal);
        var flags = TcpFlags.Ack | (data > 0 ? TcpFlags.Psh : 0);
        H.Sim.Schedule(at, H.Client, new Segment(S.Tuple, flags, S.Iss + 1 + _dataSent, C.Iss + 1 + (uint)acked, window, data, options));
        _dataSent += (uint)data;
        H.At(at);
    }

    /// <summary>The TSval of the last injected ACK.</summary>
    public uint TsVal => _tsVal;

    public long SndBuf => H.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = C.Id, Option = SocketOption.SO_SNDBUF }).Result;

    public CallHandle Poll(int events, int timeoutMs) =>
        H.Call(new SocketCallRequest("client", "app", SocketCallKind.Poll) { SocketId = C.Id, Events = events, TimeoutMs = timeoutMs });

    public void NonBlock() => H.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = C.Id, NonBlock = true });

    /// <summary>Data segments the client sent at <paramref name="at"/>, as (offset, length).</summary>
    public (long Off, int Len)[] DataAt(SimTime at) =>
        [.. H.Sent("client").Where(s => s.At == at && s.Len > 0).Select(s => ((long)(s.SeqNo - (C.Iss + 1)), s.Len))];
}
