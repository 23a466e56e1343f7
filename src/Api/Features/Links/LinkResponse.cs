using SimService.Api.Infrastructure;
using SimService.Domain.Network;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Links;

/// <param name="DelayNs">One-way delay in nanoseconds.</param>
/// <param name="Loss">Probability in [0,1] that a segment is dropped (seeded).</param>
/// <param name="Blackhole">Every segment in this direction is dropped.</param>
public sealed record LinkDirectionView(long DelayNs, double Loss, bool Blackhole)
{
    public static LinkDirectionView From(LinkDirection direction) => new(direction.Delay.Ns, direction.Loss, direction.Blackhole);
}

/// <param name="Between">The two hosts, in the order the link was created with.</param>
/// <param name="Forward">From the first host to the second.</param>
/// <param name="Backward">From the second host to the first.</param>
/// <param name="LossBySegment">Whether the loss is drawn from what each segment is rather than from the generator.</param>
public sealed record LinkView(IReadOnlyList<string> Between, LinkDirectionView Forward, LinkDirectionView Backward, bool LossBySegment)
{
    public static LinkView From(Link link) =>
        new([link.A, link.B], LinkDirectionView.From(link.AtoB), LinkDirectionView.From(link.BtoA), link.LossBySegment);
}

public sealed record LinkResponse(IReadOnlyList<string> Between, LinkDirectionView Forward, LinkDirectionView Backward, bool LossBySegment,
    long NowNs, long Version)
    : LeftModelAnswer, IVersioned
{
    public static LinkResponse From(Link link, long nowNs, long version)
    {
        var view = LinkView.From(link);
        return new(view.Between, view.Forward, view.Backward, view.LossBySegment, nowNs, version);
    }
}

public sealed record LinkList(IReadOnlyList<LinkView> Items, long Version) : IVersioned;
