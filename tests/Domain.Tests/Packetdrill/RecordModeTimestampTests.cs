using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Packetdrill;

/// <summary>
/// Record mode's TS ecr: a script's ecr N is the host's TS clock at script time 0 + N, the clock taken from the TS vals
/// of the segments it sent less the whole ms each left after 0 (--fuzz-pkt seed 14009: the kernel's first SYN-ACK left
/// 4.2 ms late, so an ecr counted from that first TS val echoed 4 ms beyond a later request's SYN-ACK and
/// tcp_check_req() rejected the handshake ACK).
/// </summary>
public sealed class RecordModeTimestampTests
{
    static readonly ScriptPosition At = new(1, 1);

    static uint Ecr(LiveTimestamps timestamps, uint scriptEcr)
    {
        Assert.True(timestamps.TryLiveEcr(scriptEcr, ack: true, ecrScaled: true, out uint live));
        return live;
    }

    static void Sent(ScriptRecorder recorder, LiveTimestamps timestamps, long atNs, uint tsVal) =>
        recorder.Segment(atNs, "S.", 5000, 5000, 1001, 0, 65160, [new TimestampOption(At, tsVal, 700)], timestamps);

    [Fact]
    public void FirstSegmentLate_EcrOfALaterSynAck_IsTheTsValThatSynAckCarried()
    {
        var (recorder, timestamps) = (new ScriptRecorder(), new LiveTimestamps());
        Sent(recorder, timestamps, 4_208_000, 1_000_004);
        Sent(recorder, timestamps, 1_812_556_000, 1_001_812);

        Assert.Equal(1_000_004u, Ecr(timestamps, 0));
        Assert.Equal(1_001_812u, Ecr(timestamps, 1812));
        Assert.Equal(1_005_000u, Ecr(timestamps, 5000));
        Assert.Equal([0L, 1808L], recorder.Events.Select(e => e.TsVal!.Value));
    }

    [Fact]
    public void SegmentTakenLate_DoesNotLowerTheClock_OneShowingItHigherRaisesIt()
    {
        var (recorder, timestamps) = (new ScriptRecorder(), new LiveTimestamps());
        Sent(recorder, timestamps, 4_900_000, 1_000_003);
        Sent(recorder, timestamps, 52_900_000, 1_000_050);
        Assert.Equal(1_001_811u, Ecr(timestamps, 1812));
        Assert.Equal(1_000_050u, Ecr(timestamps, 45));

        Sent(recorder, timestamps, 100_200_000, 1_000_101);
        Assert.Equal(1_001_813u, Ecr(timestamps, 1812));
        Assert.Equal(1_000_050u, Ecr(timestamps, 49));
        Assert.Equal(1_000_051u, Ecr(timestamps, 50));
    }

    [Fact]
    public void FirstSegmentLaterThanTheSlack_EcrBeforeIt_IsItsTsVal()
    {
        var (recorder, timestamps) = (new ScriptRecorder(), new LiveTimestamps());
        Sent(recorder, timestamps, 12_400_000, 7_000_012);

        Assert.Equal(7_000_012u, Ecr(timestamps, 0));
        Assert.Equal(7_000_012u, Ecr(timestamps, 1));
        Assert.Equal(7_000_012u, Ecr(timestamps, 2));
        Assert.Equal(7_000_013u, Ecr(timestamps, 13));
    }

    [Fact]
    public void FirstSegmentAtZero_EcrsAreTheFirstTsValPlusN()
    {
        var (recorder, timestamps) = (new ScriptRecorder(), new LiveTimestamps());
        Sent(recorder, timestamps, 0, 4_294_967_000);
        Sent(recorder, timestamps, 50_500_000, 4_294_967_050);

        Assert.Equal(4_294_967_000u, Ecr(timestamps, 0));
        Assert.Equal(4_294_967_050u, Ecr(timestamps, 50));
        Assert.Equal(204u, Ecr(timestamps, 500));
    }
}
