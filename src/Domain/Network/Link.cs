using SimService.Domain.Time;

namespace SimService.Domain.Network;

/// <summary>One direction of a link: one-way delay, loss probability and a blackhole switch.</summary>
public sealed class LinkDirection
{
    public SimDuration Delay { get; internal set; }
    public double Loss { get; internal set; }
    public bool Blackhole { get; internal set; }
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

    public bool Connects(string x, string y) => (A == x && B == y) || (A == y && B == x);

    public LinkDirection From(string host) => host == A ? AtoB : BtoA;
}
