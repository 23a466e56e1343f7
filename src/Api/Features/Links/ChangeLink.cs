using System.Text.Json.Serialization;
using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Time;

namespace SimService.Api.Features.Links;

public sealed record ChangeLinkRequest
{
    /// <summary>Change only the direction from the first host of the path to the second (a one-way fault).</summary>
    public bool? OneWay { get; init; }

    /// <summary>New one-way delay in nanoseconds.</summary>
    [Int64Range(0, long.MaxValue, ErrorMessage = "The delay must be zero or positive.")]
    [JsonConverter(typeof(DurationNsConverter))]
    public long? DelayNs { get; init; }

    /// <summary>New loss probability in [0,1].</summary>
    [Range(0.0, 1.0, ErrorMessage = "The loss is a probability between 0 and 1.")]
    public double? Loss { get; init; }

    /// <summary>Drop every segment (true) or stop doing so (false).</summary>
    public bool? Blackhole { get; init; }

    /// <summary>Draw the whole link's loss by segment (true) or from the generator again (false); not with oneWay.</summary>
    public bool? LossBySegment { get; init; }
}

/// <summary>Changes the link between From and To: both directions, or From→To only with oneWay.</summary>
public sealed record ChangeLink(Guid SimulationId, IfMatch? ExpectedVersion, string From, string To, ChangeLinkRequest Request)
    : ICommand<Outcome<LinkResponse>>;

public sealed class ChangeLinkHandler(LiveSimulations simulations) : ICommandHandler<ChangeLink, Outcome<LinkResponse>>
{
    public ValueTask<Outcome<LinkResponse>> Handle(ChangeLink command, CancellationToken cancellationToken)
    {
        var r = command.Request;
        if (r.DelayNs is null && r.Loss is null && r.Blackhole is null && r.LossBySegment is null)
            return ValueTask.FromResult<Outcome<LinkResponse>>(new RequestInvalid("$", "Give at least one of delayNs, loss, blackhole and lossBySegment.", command.SimulationId));
        var change = new ChangeLinkCommand(command.From, command.To, r.OneWay ?? false,
            r.DelayNs is { } delay ? new SimDuration(delay) : null, r.Loss, r.Blackhole, r.LossBySegment);
        return simulations.WriteAsync<LinkResponse>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            var outcome = batch.Apply(change);
            return outcome.IsOk
                ? LinkResponse.From(batch.Engine.FindLink(change.A, change.B)!, batch.Engine.Now.Ns, batch.Version)
                : CommandRefused.From(command.SimulationId, outcome.Error!, RouteName);
        }, cancellationToken);
    }

    /// <summary>
    /// The request names the link by its path's from and to, not by a body's between: an unknown host is the route value
    /// naming it, a pair of hosts with no link between them is <c>to</c> (the host from has no link to).
    /// </summary>
    private static string RouteName(string field) => field switch
    {
        "between[0]" => "from",
        "between[1]" or "between" => "to",
        _ => LinkFields.Name(field),
    };
}
