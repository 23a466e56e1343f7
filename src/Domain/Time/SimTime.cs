namespace SimService.Domain.Time;

/// <summary>A point on the simulation's virtual clock: integer nanoseconds since the simulation started.</summary>
public readonly record struct SimTime(long Ns) : IComparable<SimTime>
{
    public static readonly SimTime Zero = new(0);
    public static readonly SimTime MaxValue = new(long.MaxValue);

    /// <summary>
    /// The latest time a simulation's clock may reach: 100 years of virtual time (3,155,760,000 s).
    /// An advance past it is refused. It leaves ~190 years of headroom below <see cref="long.MaxValue"/>,
    /// so every timer the engine can arm from a clock at or before it is representable.
    /// </summary>
    public static readonly SimTime MaxClock = new(3_155_760_000L * 1_000_000_000L);

    /// <summary>Saturates at <see cref="long.MaxValue"/> (or MinValue): virtual-time arithmetic never overflows.</summary>
    public static SimTime operator +(SimTime t, SimDuration d) => new(SimDuration.SaturatingAdd(t.Ns, d.Ns));
    public static SimTime operator -(SimTime t, SimDuration d) => new(SimDuration.SaturatingAdd(t.Ns, SimDuration.SaturatingNegate(d.Ns)));
    public static SimDuration operator -(SimTime a, SimTime b) => new(a.Ns - b.Ns);
    public static bool operator <(SimTime a, SimTime b) => a.Ns < b.Ns;
    public static bool operator >(SimTime a, SimTime b) => a.Ns > b.Ns;
    public static bool operator <=(SimTime a, SimTime b) => a.Ns <= b.Ns;
    public static bool operator >=(SimTime a, SimTime b) => a.Ns >= b.Ns;

    public int CompareTo(SimTime other) => Ns.CompareTo(other.Ns);

    /// <summary>Milliseconds since start, truncated (the kernel's tcp_clock_ms analogue).</summary>
    public long Ms => Ns / 1_000_000;

    public override string ToString() => SimDuration.Format(Ns);
}
