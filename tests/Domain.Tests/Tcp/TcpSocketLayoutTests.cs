using System.Runtime.CompilerServices;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// A socket's cold part (<c>CallSide</c>: what calls, set-up and teardown touch and no segment does) is the object's last
/// field, after every group a segment or timer reads and writes, so those stay in one run of cache lines. The runtime
/// chooses a class's layout (references, then primitives by size, then struct fields in declaration order), so this pins
/// what the declarations' places give.
/// </summary>
public class TcpSocketLayoutTests
{
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_calls")] static extern ref CallSide Calls(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_snd")] static extern ref SendSequence Snd(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_rcv")] static extern ref ReceiveSequence Rcv(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_rxOpt")] static extern ref ReceivedOptions RxOpt(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_rtt")] static extern ref RttEstimator Rtt(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_icsk")] static extern ref ConnectionTimers Icsk(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_ca")] static extern ref CongestionState Ca(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_rack")] static extern ref RackState Rack(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_xmitTimer")] static extern ref TimerState XmitTimer(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_mstamp")] static extern ref SimTime Mstamp(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_sampledRead")] static extern ref (long, long) SampledRead(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<Host>k__BackingField")] static extern ref Host HostField(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_rtx")] static extern ref List<TcpSocket.InFlight> Rtx(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_delivered")] static extern ref long Delivered(TcpSocket s);
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_mss")] static extern ref int Mss(TcpSocket s);

    [Fact]
    public void CallSide_IsTheLastField_AfterEveryPerSegmentGroup()
    {
        var socket = new TwoHostHarness().Sim.FindHost("client")!.NewSocket();
        ref byte calls = ref Unsafe.As<CallSide, byte>(ref Calls(socket));
        nint[] before =
        [
            Unsafe.ByteOffset(ref Unsafe.As<Host, byte>(ref HostField(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<List<TcpSocket.InFlight>, byte>(ref Rtx(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<long, byte>(ref Delivered(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<int, byte>(ref Mss(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<SendSequence, byte>(ref Snd(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<ReceiveSequence, byte>(ref Rcv(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<ReceivedOptions, byte>(ref RxOpt(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<RttEstimator, byte>(ref Rtt(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<ConnectionTimers, byte>(ref Icsk(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<CongestionState, byte>(ref Ca(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<RackState, byte>(ref Rack(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<TimerState, byte>(ref XmitTimer(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<SimTime, byte>(ref Mstamp(socket)), ref calls),
            Unsafe.ByteOffset(ref Unsafe.As<(long, long), byte>(ref SampledRead(socket)), ref calls),
        ];
        Assert.All(before, distance => Assert.True(distance > 0, $"a per-segment field lies {-distance} B after the cold part"));
        // The last group before it (the sampled read, 16 B) ends where the cold part starts: nothing between them.
        Assert.Equal(Unsafe.SizeOf<(long, long)>(), before[^1]);
    }
}
