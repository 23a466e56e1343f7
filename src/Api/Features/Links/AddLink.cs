using System.Text.Json.Serialization;
using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Time;

namespace SimService.Api.Features.Links;

public sealed record AddLinkRequest
{
    /// <summary>The two hosts the link joins; a link is symmetric.</summary>
    [Required, Length(2, 2, ErrorMessage = "A link joins exactly two hosts.")]
    public string[]? Between { get; init; }

    /// <summary>One-way delay in nanoseconds; default 50 µs (the scenario format's "0.05ms").</summary>
    /// <example>10000000</example>
    [Int64Range(0, long.MaxValue, ErrorMessage = "The delay must be zero or positive.")]
    [JsonConverter(typeof(DurationNsConverter))]
    public long? DelayNs { get; init; }

    /// <summary>Probability in [0,1] that a segment is dropped, drawn from the seeded generator; default 0.</summary>
    [Range(0.0, 1.0, ErrorMessage = "The loss is a probability between 0 and 1.")]
    public double? Loss { get; init; }

    /// <summary>
    /// Draw the loss from what each segment is (a hash of the simulation's seed, the connection, relative seq/ack, flags,
    /// length and how often that segment went before) rather than from the generator, so a rerun that sends the same
    /// segments loses the same ones; default false. Both directions.
    /// </summary>
    public bool? LossBySegment { get; init; }

    public const long DefaultDelayNs = 50_000;
}

public sealed record AddLink(Guid SimulationId, IfMatch? ExpectedVersion, AddLinkRequest Request) : ICommand<Outcome<LinkResponse>>;

public sealed class AddLinkHandler(LiveSimulations simulations) : ICommandHandler<AddLink, Outcome<LinkResponse>>
{
    public ValueTask<Outcome<LinkResponse>> Handle(AddLink command, CancellationToken cancellationToken)
    {
        var r = command.Request;
        // The batch's rule (CommandInputReader): ["client", null] was a 500 from the host lookup.
        if (r.Between!.Any(string.IsNullOrEmpty))
            return ValueTask.FromResult<Outcome<LinkResponse>>(new RequestInvalid("between", "A link joins exactly two hosts.", command.SimulationId));
        var add = new AddLinkCommand(r.Between![0], r.Between[1], new SimDuration(r.DelayNs ?? AddLinkRequest.DefaultDelayNs), r.Loss ?? 0, r.LossBySegment ?? false);
        return simulations.WriteAsync<LinkResponse>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            var outcome = batch.Apply(add);
            return outcome.IsOk
                ? LinkResponse.From(batch.Engine.FindLink(add.A, add.B)!, batch.Engine.Now.Ns, batch.Version)
                : CommandRefused.From(command.SimulationId, outcome.Error!, LinkFields.Name);
        }, cancellationToken);
    }
}

public sealed record ListLinks(Guid SimulationId) : IQuery<Outcome<LinkList>>;

public sealed class ListLinksHandler(LiveSimulations simulations) : IQueryHandler<ListLinks, Outcome<LinkList>>
{
    public ValueTask<Outcome<LinkList>> Handle(ListLinks query, CancellationToken cancellationToken) =>
        simulations.ReadAsync<LinkList>(query.SimulationId,
            (engine, run) => new LinkList([.. engine.Links.Select(LinkView.From)], run.Version), cancellationToken);
}

/// <summary>The engine's field names for links, as link requests spell them.</summary>
public static class LinkFields
{
    public static string Name(string field) => field switch
    {
        "delay" => "delayNs",
        _ => field,
    };
}
