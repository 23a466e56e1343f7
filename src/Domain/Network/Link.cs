using SimService.Domain.Time;

namespace SimService.Domain.Network;

/// <summary>One direction of a link: one-way delay, loss probability and a blackhole switch.</summary>
public sealed class LinkDirection
{
    public SimDuration Delay { get; internal set; }
    public double Loss { get; internal set; }
    public bool Blackhole { get; internal set; }

    /// <summary>The link's loss drawn from what each segment is (<c>lossBySegment</c>), shared by its two directions; null draws from the generator.</summary>
    public SegmentLoss? BySegment { get; internal set; }

    /// <summary>
    /// Whether the loss takes a segment going this way (Simulation.Transmit): loss 1 always, 0 never draws; else a draw
    /// below the loss — from <see cref="BySegment"/> when the link has one, else the next of <paramref name="random"/>.
    /// </summary>
    public bool Loses(Engine.IRandomSource random, Endpoint source, Endpoint destination, TcpFlags flags, uint seq, uint ack, int length) =>
        (Loss > 0 && (Loss >= 1 || (BySegment?.Draw(source, destination, flags, seq, ack, length) ?? random.NextDouble()) < Loss));
}

/// <summary>A symmetric network path between two hosts; each direction can be changed on its own.</summary>
public sealed class Link
{
    public string A { get; }
    public string B { get; }
    public LinkDirection AtoB { get; } = new();
    public LinkDirection BtoA { get; } = new();

    public Link(string a, string b, SimDuration delay, double loss)
    {
        A = a;
        B = b;
        foreach (var d in (LinkDirection[])[AtoB, BtoA])
        {
            d.Delay = delay;
            d.Loss = loss;
        }
    }

    /// <summary>Loss drawn from what each segment is, with <paramref name="seed"/> (<see cref="SegmentLoss"/>), both ways.</summary>
    public void LoseBySegment(long seed) => AtoB.BySegment = BtoA.BySegment = new SegmentLoss(seed);

    /// <summary>Loss drawn from the simulation's generator again, both ways.</summary>
    public void LoseByGenerator() => AtoB.BySegment = BtoA.BySegment = null;

    /// <summary>Whether the loss is drawn by segment (<see cref="LoseBySegment"/>).</summary>
    public bool LossBySegment => AtoB.BySegment is not null;

    public bool Connects(string x, string y) => (A == x && B == y) || (A == y && B == x);

    public LinkDirection From(string host) => host == A ? AtoB : BtoA;
}
