using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Links;

public static class LinksEndpoints
{
    public static IEndpointRouteBuilder MapLinks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations/{id:guid}/links").WithTags("Links");
        group.MapPost("/", AddLink).WithName(nameof(AddLink)).AsCommand().ProducesValidationProblem()
            .WithSummary("Join two hosts with a symmetric link (one-way delay, seeded loss)")
            .WithExamples("""{"between":["client","server"],"delayNs":10000000,"loss":0}""",
                """{"between":["client","server"],"forward":{"delayNs":10000000,"loss":0,"blackhole":false},"backward":{"delayNs":10000000,"loss":0,"blackhole":false},"lossBySegment":false,"nowNs":0,"version":3}""");
        group.MapGet("/", ListLinks).WithName(nameof(ListLinks)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("List the links, each direction's delay, loss and blackhole")
            .WithExamples(response: """{"items":[{"between":["client","server"],"forward":{"delayNs":10000000,"loss":0,"blackhole":false},"backward":{"delayNs":10000000,"loss":0,"blackhole":false},"lossBySegment":false}],"version":11}""");
        group.MapPatch("/{from}/{to}", ChangeLink).WithName(nameof(ChangeLink)).AsCommand().ProducesValidationProblem()
            .WithSummary("Change a link at run time: delay, loss, blackhole, lossBySegment; oneWay limits it to from→to")
            .WithExamples("""{"oneWay":true,"blackhole":true}""",
                """{"between":["client","server"],"forward":{"delayNs":10000000,"loss":0,"blackhole":true},"backward":{"delayNs":10000000,"loss":0,"blackhole":false},"lossBySegment":false,"nowNs":5000000000,"version":9}""");
        return app;
    }

    private static async Task<Results<Created<LinkResponse>, ProblemHttpResult>> AddLink(
        Guid id, AddLinkRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new AddLink(id, Versioning.ExpectedVersion(http), request), cancellationToken))
            .ToCreated(http.HttpContext.Response, link => $"/api/v1/simulations/{id}/links");

    private static async Task<Results<Ok<LinkList>, ProblemHttpResult>> ListLinks(Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new ListLinks(id), cancellationToken)).ToOk();

    private static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> ChangeLink(
        Guid id, string from, string to, ChangeLinkRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new ChangeLink(id, Versioning.ExpectedVersion(http), from, to, request), cancellationToken))
            .ToOk(http.HttpContext.Response);
}
