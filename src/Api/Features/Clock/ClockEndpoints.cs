using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Clock;

public static class ClockEndpoints
{
    public static IEndpointRouteBuilder MapClock(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations/{id:guid}").WithTags("Clock");
        group.MapPost("/advance", Advance).WithName(nameof(Advance)).AsCommand().ProducesValidationProblem().WithWorkField("eventBudget", "Use a smaller event budget, or advance in smaller steps.")
            .WithSummary("Advance virtual time by a duration, to a time, or until idle, within an event budget")
            .WithExamples("""{"byNs":60000000000,"eventBudget":100000}""",
                """{"nowNs":60301000000,"eventsProcessed":12,"truncated":false,"idle":true,"journalEvents":21,"version":14}""");
        group.MapGet("/clock", GetClock).WithName(nameof(GetClock)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The virtual time, pending events and calls, and the journal's length")
            .WithExamples(response: """{"nowNs":60301000000,"pendingEvents":0,"pendingCalls":0,"journalEvents":57,"version":14}""");
        return app;
    }

    private static async Task<Results<Ok<AdvanceResponse>, ProblemHttpResult>> Advance(
        Guid id, AdvanceRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new Advance(id, Versioning.ExpectedVersion(http), request), cancellationToken)).ToOk(http.HttpContext.Response);

    private static async Task<Results<Ok<ClockResponse>, ProblemHttpResult>> GetClock(Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new GetClock(id), cancellationToken)).ToOk();
}
