using System.Runtime.InteropServices;
using SimService.Domain.Engine;

namespace SimService.Domain.Tcp;

/// <summary>
/// struct bictcp — net/ipv4/tcp_cubic.c: CUBIC's private state (inet_csk_ca(sk)), with the arithmetic that
/// only touches it (bictcp_update(), cubic_root(), cubictcp_recalc_ssthresh()'s Wmax). Every field is the
/// kernel's u32 (u8 for the HyStart sample count) and every operation wraps as the C does. Times:
/// <see cref="LastTime"/> and <see cref="EpochStart"/> are tcp_jiffies32; <see cref="DelayMin"/>,
/// <see cref="RoundStart"/>, <see cref="LastAck"/> and <see cref="CurrRtt"/> are microseconds (bictcp_clock_us(),
/// the low 32 bits of tp->tcp_mstamp). linux-4.4 keeps <see cref="DelayMin"/> and <see cref="CurrRtt"/> in
/// milliseconds · 8 and the HyStart clocks in milliseconds (bictcp_clock()).
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct Bictcp
{
    /// <summary>
    /// The cubic curve's state (cnt, Wmax, the epoch, the Reno-friendly estimate, linux-4.4's loss_cwnd): written only by
    /// bictcp_update(), cubictcp_recalc_ssthresh() and an epoch's TX_START shift — a connection whose cwnd never limited
    /// it and that never lost has none, and each reads 0. Made by the first write of a value other than 0.
    /// </summary>
    CubicCurve? _curve;

    /// <summary>The curve state to write to: made for a value other than 0, else only if it exists.</summary>
    CubicCurve? Curve(bool nonZero) => _curve ?? (nonZero ? _curve = new CubicCurve() : null);

    /// <summary>Whether the curve state was made (tests: a connection that was never cwnd-limited makes none).</summary>
    public readonly bool HasCurve => _curve is not null;

    /// <summary>cnt: increase cwnd by 1 after this many ACKed packets.</summary>
    public uint Cnt
    {
        readonly get => _curve?.Cnt ?? 0;
        set { if (Curve(value != 0) is { } c) c.Cnt = value; }
    }
    /// <summary>last_max_cwnd: Wmax, the cwnd at the last loss (less by fast convergence).</summary>
    public uint LastMaxCwnd
    {
        readonly get => _curve?.LastMaxCwnd ?? 0;
        set { if (Curve(value != 0) is { } c) c.LastMaxCwnd = value; }
    }
    /// <summary>last_cwnd: the cwnd bictcp_update() last computed <see cref="Cnt"/> for.</summary>
    public uint LastCwnd
    {
        readonly get => _curve?.LastCwnd ?? 0;
        set { if (Curve(value != 0) is { } c) c.LastCwnd = value; }
    }
    /// <summary>last_time: when (jiffies) it did.</summary>
    public uint LastTime
    {
        readonly get => _curve?.LastTime ?? 0;
        set { if (Curve(value != 0) is { } c) c.LastTime = value; }
    }
    /// <summary>bic_origin_point: the cubic curve's plateau, Wmax or the cwnd the epoch began with.</summary>
    public uint BicOriginPoint
    {
        readonly get => _curve?.BicOriginPoint ?? 0;
        set { if (Curve(value != 0) is { } c) c.BicOriginPoint = value; }
    }
    /// <summary>bic_K: time from the epoch's start to the plateau, in 1/1024 s (BICTCP_HZ).</summary>
    public uint BicK
    {
        readonly get => _curve?.BicK ?? 0;
        set { if (Curve(value != 0) is { } c) c.BicK = value; }
    }
    /// <summary>epoch_start: when (jiffies) the current growth epoch began; 0 = none.</summary>
    public uint EpochStart
    {
        readonly get => _curve?.EpochStart ?? 0;
        set { if (Curve(value != 0) is { } c) c.EpochStart = value; }
    }
    /// <summary>ack_cnt: packets ACKed in this epoch, spent by the Reno-friendly estimate.</summary>
    public uint AckCnt
    {
        readonly get => _curve?.AckCnt ?? 0;
        set { if (Curve(value != 0) is { } c) c.AckCnt = value; }
    }
    /// <summary>tcp_cwnd: the cwnd Reno would have by now (tcp_friendliness).</summary>
    public uint TcpCwnd
    {
        readonly get => _curve?.TcpCwnd ?? 0;
        set { if (Curve(value != 0) is { } c) c.TcpCwnd = value; }
    }
    /// <summary>linux-4.4's loss_cwnd: cwnd at the last loss, what bictcp_undo_cwnd() restores.</summary>
    public uint LossCwnd
    {
        readonly get => _curve?.LossCwnd ?? 0;
        set { if (Curve(value != 0) is { } c) c.LossCwnd = value; }
    }
    /// <summary>delay_min: the smallest RTT sample (µs; linux-4.4: ms · 8).</summary>
    public uint DelayMin;
    /// <summary>sample_cnt: HyStart delay samples taken this round.</summary>
    public byte SampleCnt;
    /// <summary>found: HyStart found the exit point (linux-4.4: a bit mask of the detectors that did).</summary>
    public byte Found;
    /// <summary>round_start: when this round began.</summary>
    public uint RoundStart;
    /// <summary>end_seq: snd_nxt when this round began; the round ends once it is acknowledged.</summary>
    public uint EndSeq;
    /// <summary>last_ack: when the last ACK of the current train came.</summary>
    public uint LastAck;
    /// <summary>curr_rtt: the smallest delay of this round (~0U unset; linux-4.4: 0 unset).</summary>
    public uint CurrRtt;

    /// <summary>BICTCP_BETA_SCALE: β is a fraction of 1024.</summary>
    public const uint BetaScale = 1024;
    /// <summary>beta (module parameter, 717/1024 ≈ 0.7).</summary>
    public const uint Beta = 717;
    /// <summary>bic_scale (module parameter, 41/1024 ≈ C = 0.04 of the 100 ms-normalised curve).</summary>
    public const uint BicScale = 41;
    /// <summary>BICTCP_HZ: time on the cubic curve is counted in 2^10 units per second.</summary>
    public const int BictcpHz = 10;
    /// <summary>cubictcp_register(): beta_scale = 8·(1024 + β) / 3 / (1024 − β) = 15.</summary>
    public const uint BetaScaleFactor = 8 * (BetaScale + Beta) / 3 / (BetaScale - Beta);
    /// <summary>cubictcp_register(): cube_rtt_scale = bic_scale · 10 = 410 (1024 · C / rtt at 100 ms).</summary>
    public const uint CubeRttScale = BicScale * 10;
    /// <summary>cubictcp_register(): cube_factor = 2^(10 + 3·BICTCP_HZ) / (bic_scale · 10) = 2^40 / 410.</summary>
    public const ulong CubeFactor = (1UL << (10 + 3 * BictcpHz)) / (BicScale * 10);

    /// <summary>
    /// bictcp_reset(): memset(ca, 0, offsetof(struct bictcp, unused)) — everything up to the HyStart fields —
    /// then found = 0. sample_cnt and the round (round_start, end_seq, last_ack, curr_rtt) are left to
    /// bictcp_hystart_reset().
    /// </summary>
    public void Reset()
    {
        Cnt = LastMaxCwnd = LastCwnd = LastTime = BicOriginPoint = BicK = DelayMin = EpochStart = AckCnt = TcpCwnd = LossCwnd = 0;
        Found = 0;
    }

    /// <summary>
    /// Models bictcp_update() — net/ipv4/tcp_cubic.c: how many ACKed packets (<see cref="Cnt"/>) each +1 of cwnd
    /// costs, from the cubic curve W(t) = C·(t − K)³ + Wmax (t in 1/1024 s since the epoch began, plus the
    /// minimum RTT) and the Reno-friendly estimate. Recomputed at most once a jiffy, and not within HZ/32
    /// jiffies while cwnd is unchanged. <paramref name="jiffies"/> is tcp_jiffies32.
    /// </summary>
    public void Update(uint cwnd, uint acked, uint jiffies, KernelProfile profile)
    {
        unchecked
        {
            AckCnt += acked; // count the number of ACKed packets
            if (LastCwnd == cwnd && (int)(jiffies - LastTime) <= Jiffies.Hz / 32) return;
            // "The CUBIC function can update ca->cnt at most once per jiffy."
            if (EpochStart == 0 || jiffies != LastTime)
            {
                LastCwnd = cwnd;
                LastTime = jiffies;
                if (EpochStart == 0)
                {
                    EpochStart = jiffies; // record beginning
                    AckCnt = acked;       // start counting
                    TcpCwnd = cwnd;       // syn with cubic
                    if (LastMaxCwnd <= cwnd)
                    {
                        BicK = 0;
                        BicOriginPoint = cwnd;
                    }
                    else
                    {
                        // K = cubic_root((Wmax − cwnd) · rtt / C), in BICTCP_HZ units.
                        BicK = CubicRoot(CubeFactor * (LastMaxCwnd - cwnd));
                        BicOriginPoint = LastMaxCwnd;
                    }
                }
                // t = (s32)(jiffies − epoch_start) + usecs_to_jiffies(delay_min), in 1/1024 s. linux-4.4:
                // msecs_to_jiffies(delay_min >> 3).
                ulong t = (ulong)(long)(int)(jiffies - EpochStart);
                t += (ulong)(profile == KernelProfile.Linux44
                    ? Jiffies.FromDuration(Time.SimDuration.FromMilliseconds(DelayMin >> 3))
                    : Jiffies.FromDuration(Time.SimDuration.FromMicroseconds(DelayMin)));
                t <<= BictcpHz;
                t /= Jiffies.Hz;
                ulong offs = t < BicK ? BicK - t : t - BicK;
                // c/rtt · (t − K)³
                uint delta = (uint)((CubeRttScale * offs * offs * offs) >> (10 + 3 * BictcpHz));
                uint bicTarget = t < BicK ? BicOriginPoint - delta : BicOriginPoint + delta;
                Cnt = bicTarget > cwnd ? cwnd / (bicTarget - cwnd) : 100 * cwnd; // else a very small increment
                // "The initial growth of cubic function may be too conservative when the available bandwidth is
                // still unknown": at most 20 (5 % per RTT) before the first loss.
                if (LastMaxCwnd == 0 && Cnt > 20) Cnt = 20;
            }
            // tcp_friendliness: the cwnd Reno would have grown to with the same ACKs (3β/(2 − β) per RTT).
            uint renoDelta = (cwnd * BetaScaleFactor) >> 3;
            while (AckCnt > renoDelta)
            {
                AckCnt -= renoDelta;
                TcpCwnd++;
            }
            if (TcpCwnd > cwnd)
            {
                uint maxCnt = cwnd / (TcpCwnd - cwnd); // bic is slower than tcp
                if (Cnt > maxCnt) Cnt = maxCnt;
            }
            // "The maximum rate of cwnd increase CUBIC allows is 1 packet per 2 packets ACKed."
            Cnt = Math.Max(Cnt, 2U);
        }
    }

    /// <summary>
    /// Models cubictcp_recalc_ssthresh() — net/ipv4/tcp_cubic.c: the epoch ends; Wmax is the cwnd at this loss,
    /// or (fast convergence) (1 + β)/2 of it when it fell short of the last Wmax; the new ssthresh is
    /// max(cwnd · β / 1024, 2). linux-4.4 also keeps loss_cwnd for bictcp_undo_cwnd().
    /// </summary>
    public uint RecalcSsthresh(uint cwnd)
    {
        unchecked
        {
            EpochStart = 0; // end of epoch
            LastMaxCwnd = cwnd < LastMaxCwnd ? cwnd * (BetaScale + Beta) / (2 * BetaScale) : cwnd;
            LossCwnd = cwnd;
            return Math.Max(cwnd * Beta / BetaScale, 2U);
        }
    }

    /// <summary>
    /// Models cubictcp_cwnd_event(CA_EVENT_TX_START) — net/ipv4/tcp_cubic.c: the first send after the pipe ran
    /// empty shifts epoch_start by the idle time (now − lsndtime, jiffies), never past now, so the cubic curve
    /// resumes where it stopped instead of jumping ahead.
    /// </summary>
    public void TxStart(uint jiffies, uint lsndtime)
    {
        unchecked
        {
            int delta = (int)(jiffies - lsndtime);
            if (EpochStart == 0 || delta <= 0) return;
            EpochStart += (uint)delta;
            if ((int)(EpochStart - jiffies) > 0) EpochStart = jiffies; // after(epoch_start, now)
        }
    }

    // cubic_root()'s table: v[x] = cbrt(x << 18) − 1, refined by hand, for x in 0..63.
    static ReadOnlySpan<byte> CubeRootTable =>
    [
        0, 54, 54, 54, 118, 118, 118, 118,
        123, 129, 134, 138, 143, 147, 151, 156,
        157, 161, 164, 168, 170, 173, 176, 179,
        181, 185, 187, 190, 192, 194, 197, 199,
        200, 202, 204, 206, 209, 211, 213, 215,
        217, 219, 221, 222, 224, 225, 227, 229,
        231, 232, 234, 236, 237, 239, 240, 242,
        244, 245, 246, 248, 250, 251, 252, 254,
    ];

    /// <summary>
    /// Models cubic_root() — net/ipv4/tcp_cubic.c: a table lookup on the top bits, then one Newton-Raphson step
    /// x = (2x + a / (x·(x − 1))) · 341 / 1024 (≈ /3), all in the kernel's u32/u64 integers (average error ≈ 0.2 %).
    /// </summary>
    public static uint CubicRoot(ulong a)
    {
        unchecked
        {
            uint b = a == 0 ? 0 : (uint)(64 - ulong.LeadingZeroCount(a)); // fls64()
            if (b < 7) return ((uint)CubeRootTable[(int)a] + 35) >> 6; // a in [0..63]
            b = ((b * 84) >> 8) - 1;
            uint shift = (uint)(a >> (int)(b * 3));
            uint x = ((uint)(((uint)CubeRootTable[(int)shift] + 10) << (int)b)) >> 6;
            x = 2 * x + (uint)(a / ((ulong)x * (ulong)(x - 1)));
            return (x * 341) >> 10;
        }
    }
}

/// <summary>
/// The part of struct bictcp that only the cubic curve itself uses (<see cref="Bictcp"/>'s properties of the same names read
/// and write it): in the kernel these are the first fields of struct bictcp, the ones bictcp_reset() clears.
/// </summary>
internal sealed class CubicCurve
{
    /// <summary>cnt: increase cwnd by 1 after this many ACKed packets.</summary>
    public uint Cnt;
    /// <summary>last_max_cwnd: Wmax, the cwnd at the last loss (less by fast convergence).</summary>
    public uint LastMaxCwnd;
    /// <summary>last_cwnd: the cwnd bictcp_update() last computed <see cref="Cnt"/> for.</summary>
    public uint LastCwnd;
    /// <summary>last_time: when (jiffies) it did.</summary>
    public uint LastTime;
    /// <summary>bic_origin_point: the cubic curve's plateau, Wmax or the cwnd the epoch began with.</summary>
    public uint BicOriginPoint;
    /// <summary>bic_K: time from the epoch's start to the plateau, in 1/1024 s (BICTCP_HZ).</summary>
    public uint BicK;
    /// <summary>epoch_start: when (jiffies) the current growth epoch began; 0 = none.</summary>
    public uint EpochStart;
    /// <summary>ack_cnt: packets ACKed in this epoch, spent by the Reno-friendly estimate.</summary>
    public uint AckCnt;
    /// <summary>tcp_cwnd: the cwnd Reno would have by now (tcp_friendliness).</summary>
    public uint TcpCwnd;
    /// <summary>linux-4.4's loss_cwnd: cwnd at the last loss, what bictcp_undo_cwnd() restores.</summary>
    public uint LossCwnd;
}
