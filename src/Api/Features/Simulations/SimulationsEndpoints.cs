using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Simulations;

public static class SimulationsEndpoints
{
    public static IEndpointRouteBuilder MapSimulations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations").WithTags("Simulations");
        group.MapPost("/", CreateSimulation).WithName(nameof(CreateSimulation)).ProducesValidationProblem();
        group.MapGet("/", ListSimulations).WithName(nameof(ListSimulations));
        group.MapGet("/{id:guid}", GetSimulation).WithName(nameof(GetSimulation)).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id:guid}", DeleteSimulation).WithName(nameof(DeleteSimulation)).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<CreatedAtRoute<SimulationResponse>> CreateSimulation(
        CreateSimulationRequest request, ISender sender, CancellationToken cancellationToken)
    {
        var created = await sender.Send(request.ToCommand(), cancellationToken);
        return TypedResults.CreatedAtRoute(created, nameof(GetSimulation), new { id = created.Id });
    }

    private static async Task<Ok<SimulationList>> ListSimulations(ISender sender, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sender.Send(new ListSimulations(), cancellationToken));

    private static async Task<Results<Ok<SimulationResponse>, ProblemHttpResult>> GetSimulation(
        Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new GetSimulation(id), cancellationToken))
            .Match<Results<Ok<SimulationResponse>, ProblemHttpResult>>(
                simulation => TypedResults.Ok(simulation), failure => ErrorMapping.ToProblem(failure));

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteSimulation(
        Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new DeleteSimulation(id), cancellationToken))
            .Match<Results<NoContent, ProblemHttpResult>>(
                _ => TypedResults.NoContent(), failure => ErrorMapping.ToProblem(failure));
}
