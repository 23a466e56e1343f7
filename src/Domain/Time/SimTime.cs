namespace SimService.Domain.Time;

/// <summary>A point on the simulation's virtual clock: integer nanoseconds since the simulation started.</summary>
public readonly record struct SimTime(long Ns) : IComparable<SimTime>
{
    public static readonly SimTime Zero = new(0);
    public static readonly SimTime MaxValue = new(long.MaxValue);

    public static SimTime operator +(SimTime t, SimDuration d) => new(checked(t.Ns + d.Ns));
    public static SimTime operator -(SimTime t, SimDuration d) => new(t.Ns - d.Ns);
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
