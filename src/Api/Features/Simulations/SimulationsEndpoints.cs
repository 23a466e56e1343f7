using System.ComponentModel.DataAnnotations;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Infrastructure.Tenancy;

namespace SimService.Api.Features.Simulations;

public static class SimulationsEndpoints
{
    private const string SimulationExample =
        """{"id":"01a20b15-731b-7031-af62-fe6f69d15d9f","name":"close-wait demo","profile":"linux-6","seed":42,"createdAt":"2026-11-24T01:04:44.82725+00:00","version":0,"fromScenario":false}""";

    public static IEndpointRouteBuilder MapSimulations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations").WithTags("Simulations");
        group.MapPost("/", CreateSimulation).WithName(nameof(CreateSimulation)).WithinQuotas().AddEndpointFilter(NullBody.Filter).ProducesValidationProblem()
            .WithSummary("Create an empty simulation: kernel profile, seed, virtual clock at 0")
            .WithDescription("Every field is optional: `{}` (or no body) gives profile linux-6, seed 0 and a generated name.")
            .WithExamples("""{"name":"close-wait demo","profile":"linux-6","seed":42}""", SimulationExample);
        group.MapGet("/", ListSimulations).WithName(nameof(ListSimulations)).ProducesValidationProblem()
            .WithSummary("List simulations, oldest first, a page at a time (limit, default 100; after: the previous page's next)")
            .WithExamples(response: $$"""{"items":[{{SimulationExample}}],"next":null}""");
        group.MapGet("/{id:guid}", GetSimulation).WithName(nameof(GetSimulation)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithMetadata(new HonoursIfMatch()).ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .WithMetadata(new HonoursIfNoneMatch()).Produces(StatusCodes.Status304NotModified)
            .WithSummary("Read a simulation; its version (ETag) is the number of commands in its log")
            .WithDescription("With `If-Match` naming no current version (strong comparison: `W/\"7\"` never matches) the answer is 412 " +
                "(RFC 9110 §13.1.1, which holds for GET and HEAD too; checked before If-None-Match, §13.2.2). With `If-None-Match` " +
                "naming the current version (`\"7\"`, `W/\"7\"` or `*`) the answer is 304 Not Modified with the ETag and no body (RFC 9110 §13.1.2).")
            .WithExamples(response: SimulationExample);
        group.MapDelete("/{id:guid}", DeleteSimulation).WithName(nameof(DeleteSimulation)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithMetadata(new HonoursIfMatch()).ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .WithSummary("Delete a simulation with its command log and journal")
            .WithDescription("With `If-Match` it is deleted only while at that version: otherwise 412 and nothing is deleted.");
        group.MapPost("/{id:guid}/replay", ReplaySimulation).WithName(nameof(ReplaySimulation)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Re-run the command log on a fresh engine and compare the journals")
            .WithExamples(response: """{"identical":true,"commands":14,"storedEvents":57,"replayedEvents":57,"firstDifference":null,"refusedCommandSeq":null,"nowNs":60301000000,"version":14}""")
            .AsHeavyRead();
        group.MapGet("/{id:guid}/export", ExportSimulation).WithName(nameof(ExportSimulation))
            .Produces<string>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("The simulation as a scenario document; POST /api/v1/scenarios/run of it gives the same journal")
            .WithDescription("It replays the command log, so it is as heavy as a replay: it runs in one of the tenant's heavy slots " +
                "under Limits:HeavySeconds (a 422 work-limit once it ran longer; a 429 busy with Retry-After when it waited that long " +
                "for a slot), and a DELETE of the simulation (404) or the service stopping (503) cancels it.")
            .WithExamples(response: """{"name":"port-exhaustion","description":"Exported from simulation 01a20b43-bcac-7836-ab56-251cc9b7f3c1 (\"port exhaustion\") at version 42.","kernel":"linux-6","seed":42,"hosts":{"client":{"address":"10.0.0.1","kind":"linux","sysctls":{"net.ipv4.ip_local_port_range":"40000\t40003"}},"server":{"address":"10.0.0.2","kind":"linux"}},"links":[{"between":["client","server"],"delay":"10ms","loss":0}],"steps":[{"at":"0s","host":"server","process":"app","call":"listen","as":"s1","port":80,"backlog":128},{"at":"0s","host":"client","process":"app","call":"connect","as":"s2","to":"server:80"},{"at":"0s","host":"server","process":"app","call":"accept","as":"s3","socket":"s1"}],"runUntil":"2.5s"}""")
            .AsHeavyRead();
        return app;
    }

    // AbsoluteLocations completes the path with a trusted origin; a foreign Host header is never echoed.
    // No body (however framed: Content-Length 0, an empty chunked or HTTP/2 body) is a simulation of the defaults, as {}
    // is; a body of JSON null is no object (as [] is not): a 400 (NullBody, the endpoint's filter).
    private static async Task<Results<Created<SimulationResponse>, ProblemHttpResult>> CreateSimulation(
        CreateSimulationRequest? request, ISender sender, HttpResponse response, CancellationToken cancellationToken) =>
        (await sender.Send((request ?? new()).ToCommand(), cancellationToken)).ToCreated(response, created => $"/api/v1/simulations/{created.Id}");

    // after is read as text: a malformed one, or an id that is no UUIDv7 (no simulation's), is a 400 naming after (a Guid
    // parameter answered a malformed one with a bare 400); an unknown UUIDv7 pages on from its place (ListSimulationsHandler).
    private static async Task<Results<Ok<SimulationList>, ProblemHttpResult>> ListSimulations(ISender sender, CancellationToken cancellationToken,
        string? after = null, [Range(1, ListSimulationsHandler.MaxLimit)] int limit = ListSimulationsHandler.DefaultLimit)
    {
        Guid? cursor = null;
        if (after is not null)
        {
            if (!Guid.TryParse(after, out var id) || ListSimulationsHandler.CreatedAtOf(id) is null)
                return ErrorMapping.ToProblem(new RequestInvalid("after", "after is the next of a previous page: a simulation id (a UUIDv7)."));
            cursor = id;
        }
        return TypedResults.Ok(await sender.Send(new ListSimulations(cursor, limit), cancellationToken));
    }

    // RFC 9110 §13.2.2's order: an If-Match that names no current version (strongly, §13.1.1 — GET and HEAD included) is
    // a 412; then an If-None-Match that names the current version (weakly) or is * is a 304 with the ETag, no body (§13.1.2).
    private static async Task<Results<Ok<SimulationResponse>, StatusCodeHttpResult, ProblemHttpResult>> GetSimulation(
        Guid id, ISender sender, HttpResponse response, CancellationToken cancellationToken) =>
        (await sender.Send(new GetSimulation(id), cancellationToken)).Match<Results<Ok<SimulationResponse>, StatusCodeHttpResult, ProblemHttpResult>>(
            simulation =>
            {
                var request = response.HttpContext.Request;
                if (Versioning.ExpectedVersion(request) is { } expected && !expected.Allows(simulation.Version))
                    return ErrorMapping.ToProblem(new VersionMismatch(id, simulation.Version, expected));
                Versioning.SetETag(response, simulation.Version);
                return Versioning.NoneMatch(request, simulation.Version)
                    ? TypedResults.Ok(simulation) : TypedResults.StatusCode(StatusCodes.Status304NotModified);
            }, failure => ErrorMapping.ToProblem(failure));

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteSimulation(
        Guid id, ISender sender, HttpRequest http, CancellationToken cancellationToken) =>
        (await sender.Send(new DeleteSimulation(id, Versioning.ExpectedVersion(http)), cancellationToken))
            .Match<Results<NoContent, ProblemHttpResult>>(
                _ => TypedResults.NoContent(), failure => ErrorMapping.ToProblem(failure));

    private static async Task<Results<Ok<ReplayReport>, ProblemHttpResult>> ReplaySimulation(
        Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new ReplaySimulation(id), cancellationToken)).ToOk();

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> ExportSimulation(
        Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new ExportSimulation(id), cancellationToken))
            .Match<Results<ContentHttpResult, ProblemHttpResult>>(
                json => TypedResults.Text(json, "application/json; charset=utf-8"), failure => ErrorMapping.ToProblem(failure));
}
