using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// Rule 8 of issue 14: a timer fires when the kernel's timer wheel runs it (kernel/time/timer.c,
/// calc_wheel_index() and calc_index(), since 4.8). At HZ=250 (4 ms jiffies) the level is chosen by
/// <c>delta = expires − clk</c> — below LVL_START(1) = 63 jiffies level 0, below 504 level 1, below
/// 4032 level 2, below 32256 level 3 — and the bucket expires at the next multiple of the level's
/// granule (1, 8, 64, 512 jiffies) strictly after <c>expires</c>, on the absolute jiffies count that
/// starts at INITIAL_JIFFIES = 2³² − 300·HZ. INITIAL_JIFFIES ≡ 0 (mod 8), ≡ 8 (mod 64) and ≡ 264
/// (mod 512), so in jiffies since the simulation began level-1 buckets end on multiples of 8,
/// level-2 buckets on jiffies ≡ 56 (mod 64) and level-3 buckets on jiffies ≡ 248 (mod 512). Every
/// expected time below is worked out by hand from that rule.
/// </summary>
public class TimerWheelTests
{
    static SimTime Jiffy(long j) => new(j * 4_000_000);

    /// <summary>When a timer armed at jiffy <paramref name="armJiffy"/> for <paramref name="timeoutJiffies"/> runs on linux-6.</summary>
    static SimTime Fires(long armJiffy, long timeoutJiffies) =>
        Jiffies.WheelFires(Jiffy(armJiffy), Jiffy(armJiffy + timeoutJiffies), KernelProfile.Linux6);

    [Fact]
    public void Jiffies_Origin_IsInitialJiffiesFiveMinutesBeforeThe32BitWrapForEverySimulation()
    {
        // include/linux/jiffies.h: INITIAL_JIFFIES ((unsigned long)(unsigned int) (-300*HZ)), HZ = 250.
        Assert.Equal(4_294_892_296L, Jiffies.Initial);
        Assert.Equal(Jiffies.Initial, Jiffies.Absolute(SimTime.Zero));
        Assert.Equal(Jiffies.Initial + 250, Jiffies.Absolute(new SimTime(1_003_999_999)));
    }

    [Theory]
    [InlineData(0, 1, 2)]     // expires 1 → 2
    [InlineData(25, 10, 36)]  // a 40 ms delayed ACK: expires 35 → 36
    [InlineData(25, 55, 81)]  // a 220 ms RTO: expires 80 → 81
    [InlineData(1, 62, 64)]   // delta 62 < 63: level 0, expires 63 → 64
    public void Level0_TimerArmed_RunsOneJiffyAfterItsExpiry(long armJiffy, long timeoutJiffies, long firesJiffy)
    {
        Assert.Equal(Jiffy(firesJiffy), Fires(armJiffy, timeoutJiffies));
    }

    [Theory]
    [InlineData(1, 63, 72)]     // delta 63 = LVL_START(1): level 1, expires 64 → 72 (strictly after)
    [InlineData(0, 503, 504)]   // delta 503: level 1, expires 503 → 504
    [InlineData(0, 504, 568)]   // delta 504 = LVL_START(2): level 2, expires 504 (≡ 56 mod 64) → 568
    [InlineData(0, 4031, 4088)] // level 2: 4031 → 4088 (63·64 + 56)
    [InlineData(0, 4032, 4344)] // delta 4032 = LVL_START(3): level 3, 4032 → 4344 (8·512 + 248)
    public void LevelBoundary_DeltaAtLvlStart_GoesToTheCoarserLevel(long armJiffy, long timeoutJiffies, long firesJiffy)
    {
        Assert.Equal(Jiffy(firesJiffy), Fires(armJiffy, timeoutJiffies));
    }

    [Theory]
    [InlineData(0, 1024)] // a 1 s timer (250 jiffies, level 1): expires 250 → 256
    [InlineData(5, 1024)] // 255 → 256
    [InlineData(6, 1056)] // 256 → 264: a bucket boundary is never the bucket, the next one is
    [InlineData(7, 1056)] // 257 → 264
    public void Level1_OneSecondTimerArmedAtDifferentJiffies_RunsOnTheNextEightJiffyBoundary(long armJiffy, long firesMs)
    {
        Assert.Equal(new SimTime(firesMs * 1_000_000), Fires(armJiffy, 250));
    }

    [Theory]
    [InlineData(0, 60_384)] // TCP_TIMEWAIT_LEN = 15000 jiffies, level 3: 15000 → 15096 (29·512 + 248)
    [InlineData(95, 60_004)] // 15095 → 15096: the earliest, 1 jiffy after the 60 s
    [InlineData(96, 62_048)] // 15096 → 15608: the latest, one whole 512-jiffy granule late
    [InlineData(97, 62_044)] // 15097 → 15608
    public void TimeWait_EnteredAtDifferentJiffies_EndsBetween60And62048MsLater(long enterJiffy, long lastsMs)
    {
        var enter = Jiffy(enterJiffy);
        var ends = Jiffies.WheelFires(enter, Jiffies.Expiry(enter, TcpConstants.TimeWaitLen), KernelProfile.Linux6);
        Assert.Equal(lastsMs, (ends - enter).TotalMilliseconds);
    }

    [Theory]
    [InlineData(1_000, 500, 1_008)]     // delta 500: level 1, ((1000 >> 3) + 1) << 3 = 1008
    [InlineData(5_000, 0, 5_120)]       // delta 5000 ≥ 4032: level 3, ((5000 >> 9) + 1) << 9 = 5120
    [InlineData(100, 200, 200)]         // already due (delta < 0): the base clock's own bucket
    [InlineData(2_000_000_000, 0, 1_056_964_608)] // beyond WHEEL_TIMEOUT_CUTOFF: clk + WHEEL_TIMEOUT_MAX, level 8
    public void BucketExpiry_AbsoluteJiffies_AsCalcWheelIndexComputesIt(long expires, long clk, long bucket)
    {
        Assert.Equal(bucket, Jiffies.BucketExpiry(expires, clk));
    }

    [Theory]
    [InlineData(750, 250, 751)]     // delta 500: limit 751; absolute …0110 vs …0111 differ in bit 0 → 751
    [InlineData(1_751, 751, 1_752)] // delta 1000: limit 1754; absolute ≡ 31 vs 34 (mod 64) differ from bit 5 → 1754 & ~31 → 1752
    [InlineData(505, 300, 505)]     // delta 205 < 256: no slack
    public void ApplySlack_Linux44ModTimer_MovesTheExpiryToAPowerOfTwoBoundaryWithinDeltaOver256(long expires, long now, long slacked)
    {
        // apply_slack() — kernel/timer.c (linux-4.4), on absolute jiffies.
        Assert.Equal(Jiffies.Initial + slacked, Jiffies.ApplySlack(Jiffies.Initial + expires, Jiffies.Initial + now));
    }

    static List<SimTime> KeepaliveProbes(KernelProfile profile, out SimTime rstAt)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_KEEPALIVE, 1);
        h.SetOption(c.Id, SocketOption.TCP_KEEPIDLE, 2);
        h.SetOption(c.Id, SocketOption.TCP_KEEPINTVL, 1);
        h.SetOption(c.Id, SocketOption.TCP_KEEPCNT, 5);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(20));
        rstAt = h.Sent("client").Single(x => x.Flags.HasFlag(TcpFlags.Rst)).At;
        return h.Sent("client").Where(x => x.Flags == TcpFlags.Ack && x.SeqNo == c.Iss).Select(x => x.At).ToList();
    }

    [Fact]
    public void Established_KeepaliveInterval1sOnLinux6_ProbesRun1024MsApart()
    {
        // tcp_keepalive_timer() re-arms keepalive_intvl_when() = 250 jiffies from the probe's bucket
        // (a multiple of 8): level 1 runs it 256 jiffies later, as measured on 6.18. The first probe:
        // TCP_KEEPIDLE at jiffy 25, 20 jiffies after the SYN-ACK (jiffy 5): 480 jiffies → 505 → 512.
        var probes = KeepaliveProbes(KernelProfile.Linux6, out var rst);
        Assert.Equal([Ms(2048), Ms(3072), Ms(4096), Ms(5120), Ms(6144)], probes);
        Assert.Equal(Ms(7168), rst);
    }

    [Fact]
    public void Established_KeepaliveInterval1sOnLinux44_ProbesRun1000MsApartAfterASlackedFirstProbe()
    {
        // linux-4.4: the cascading wheel runs a timer on its expiry tick. sk_reset_timer() → mod_timer() →
        // apply_slack(): the first arming (480 jiffies ≥ 256) may move by 480/256 = 1 jiffy; absolute
        // INITIAL_JIFFIES + 505 ≡ …0001 and + 506 ≡ …0010 (mod 16) differ from bit 1 → 506 (2.024 s).
        // 250 jiffies is below 256: no slack, so the probes are exactly 1 s apart.
        var probes = KeepaliveProbes(KernelProfile.Linux44, out var rst);
        Assert.Equal([Ms(2024), Ms(3024), Ms(4024), Ms(5024), Ms(6024)], probes);
        Assert.Equal(Ms(7024), rst);
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 62_432)]  // the FIN at jiffy 102: 15102 → 15608 (30·512 + 248), 62.022 s later
    [InlineData(KernelProfile.Linux44, 60_408)] // mod_timer_pinned(): no slack, the expiry tick 15102
    public void TimeWait_EnteredAt410Ms_EndsWhenTheProfilesWheelRunsTheTimer(KernelProfile profile, long endsMs)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1000));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        // ss counts down to timer_list->expires, jiffy 15102 on both.
        Assert.Equal(Ms(60_408), h.TimeWaitOf(c)!.Expires);
        h.At(Ms(endsMs - 1));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        h.At(Ms(endsMs));
        Assert.Equal(TcpState.Close, h.StateOf(c));
    }

    [Fact]
    public void Established_DelayedAckAfterQuickAcksRunOut_SentOneJiffyAfterAtoExpires()
    {
        // tcp_send_delayed_ack(): ato = TCP_ATO_MIN (HZ/25 = 10 jiffies) → expiry 10 jiffies after the
        // data's arrival jiffy; level 0 of the wheel runs it one jiffy later.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        for (int i = 0; i < 20; i++)
        {
            h.Send(c.Id, 100);
            h.At(h.Sim.Now + SimDuration.FromMilliseconds(50));
        }
        var delayed = h.Sent("server").Where(x => x.Reason == "tcp_delack_timer").ToList();
        Assert.NotEmpty(delayed);
        foreach (var ack in delayed)
        {
            var data = h.Sent("client").Single(x => x.Len > 0 && x.SeqNo + (uint)x.Len == ack.AckNo);
            long arrivalJiffy = (data.At.Ns + 10_000_000) / 4_000_000;
            Assert.Equal(Jiffy(arrivalJiffy + 10 + 1), ack.At);
        }
    }

    [Fact]
    public void DeadPeer_SameSeedTwiceAndAnotherSeed_TimersFireAtTheSameTimes()
    {
        // The jiffies origin is INITIAL_JIFFIES at virtual time 0 for every simulation, seed and
        // replay: when the wheel runs a timer depends on the commands only, never on the seed.
        static List<SimEvent> Timers(long seed)
        {
            var h = new TwoHostHarness(seed);
            var (c, _, _) = h.Establish();
            h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
            h.Call("client", SocketCallKind.Close, c.Id);
            h.At(S(200));
            return h.Sim.Journal.Where(e => e is TimerArmed or TimerFired).ToList();
        }
        var a = Timers(7);
        Assert.Equal(a, Timers(7));
        Assert.Equal(a.Select(e => e.ToString()), Timers(8).Select(e => e.ToString()));
        Assert.Contains(a, e => e is TimerFired { Timer: TcpTimerKind.Retransmit } f && f.At == Ms(115_680));
    }

    // __run_timers() (kernel/time/timer.c) sets base->clk one past the bucket it collects before it calls the
    // callbacks, and __forward_timer_base() never moves a clk back: a timer armed on that base in the same jiffy is
    // placed by calc_wheel_index() with delta = expires − (jiffies + 1). Only a delta of exactly LVL_START(n)
    // (63, 504, 4032 … jiffies) changes level: one finer, so the bucket is rounded to a smaller granule. Observed on
    // Linux 6.18.44 with the timer_start tracepoint: a 504-jiffy RTO re-armed by tcp_retransmit_timer() got
    // bucket_expiry = expires rounded up to 8 (level 1), not to 64 (level 2), in 7 of 7 re-arms.
    [Theory]
    [InlineData(1, 63, false, 72)]     // delta 63 = LVL_START(1): level 1, expires 64 → 72
    [InlineData(1, 63, true, 65)]      // clk 2: delta 62, level 0 → 65
    [InlineData(0, 504, false, 568)]   // delta 504 = LVL_START(2): level 2, 504 → 568 (≡ 56 mod 64)
    [InlineData(0, 504, true, 512)]    // clk 1: delta 503, level 1 → 512
    [InlineData(0, 4032, false, 4344)] // level 3: 4032 → 4344 (≡ 248 mod 512)
    [InlineData(0, 4032, true, 4088)]  // clk 1: delta 4031, level 2 → 4088
    [InlineData(0, 250, true, 256)]    // off a boundary the level and so the bucket are the same: 250 → 256
    [InlineData(3, 0, true, 4)]        // expires = jiffies < clk: delta < 0, the bucket is clk itself, 4 as without
    public void WheelFires_BaseClockOneAheadOfJiffies_DeltaAtLvlStartGoesOneLevelFiner(long armJiffy, long timeoutJiffies, bool ahead, long firesJiffy)
    {
        Assert.Equal(Jiffy(firesJiffy), Jiffies.WheelFires(Jiffy(armJiffy), Jiffy(armJiffy + timeoutJiffies), KernelProfile.Linux6, ahead));
    }

    [Fact]
    public void WheelFires_Linux44_BaseClockIgnored()
    {
        // The cascading wheel runs a timer on the tick of its expiry whichever tv it was put in.
        Assert.Equal(Jiffy(504), Jiffies.WheelFires(Jiffy(0), Jiffy(504), KernelProfile.Linux44, baseClockAhead: true));
    }

    /// <summary>The client's retransmissions of 100 bytes sent at 100 ms into a black hole, over a 50 ms RTT.</summary>
    static List<SimTime> Retransmissions(out List<SimEvent> timers)
    {
        var h = new TwoHostHarness(delayMs: 25);
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 100);
        h.At(S(34));
        timers = h.Sim.Journal.Where(e => e is TimerArmed { Host: "client", Timer: TcpTimerKind.Retransmit }).ToList();
        return h.Sent("client").Where(x => x.Len == 100).Select(x => x.At).ToList();
    }

    [Fact]
    public void Established_Rto63JiffiesBackedOffInto504And4032_RearmedFromTheCallbackOnTheFinerLevel()
    {
        // Handshake RTT 50 ms: RTO = 50 + 200 ms = 250 ms, usecs_to_jiffies() → 63 jiffies. Sent at jiffy 25; the loss
        // probe and the RTO both run at 96 (384 ms: 25 + 63 = 88, level 1 → 96); the probe's re-arm from its callback
        // (clk 97): 96 + 63 = 159, delta 62, level 0 → 160 (640 ms). Then tcp_retransmit_timer() re-arms the backed-off
        // RTO from its own callback, the base's clk one past the bucket: 126 from 160 → 286 → 288 (1.152 s); 252 from
        // 288 → 540 → 544 (2.176 s); 504 from 544 → 1048, delta 503, level 1 → 1056 (4.224 s; with clk = jiffies it
        // would be level 2, ≡ 56 mod 64: 1080, 4.320 s); 1008 from 1056 → 2064 → 2104 (8.416 s); 2016 from 2104 →
        // 4120 → 4152 (16.608 s); 4032 from 4152 → 8184, delta 4031, level 2 → 8248 (32.992 s; level 3 would be 8440).
        var sent = Retransmissions(out _);
        Assert.Equal([Ms(100), Ms(384), Ms(640), Ms(1152), Ms(2176), Ms(4224), Ms(8416), Ms(16_608), Ms(32_992)], sent);
    }

    [Fact]
    public void Established_RtoRearmedInTheJiffyOfItsCallback_JournalsTheFinerBucket()
    {
        // The journal's TimerArmed carries when the wheel runs the timer: the 504-jiffy re-arm at 2.176 s says 4.224 s.
        Retransmissions(out var timers);
        Assert.Contains(timers, e => e is TimerArmed t && t.At == Ms(2176) && t.Expires == Ms(4224));
    }
}
