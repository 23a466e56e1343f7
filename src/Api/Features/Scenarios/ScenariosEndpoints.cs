using System.Text.Json;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Tenancy;

namespace SimService.Api.Features.Scenarios;

public static class ScenariosEndpoints
{
    public static IEndpointRouteBuilder MapScenarios(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/scenarios").WithTags("Scenarios")
            .MapPost("/run", RunScenario).WithName(nameof(RunScenario)).WithinQuotas()
            .WithWorkField("$", "Run a shorter scenario: less virtual time (runUntil), fewer steps or connections.").ProducesValidationProblem()
            .WithSummary("Run a scenario document (docs/scenario-format.md): 200 with every check, whatever they say; 400 for an invalid document")
            .WithExamples(
                """{"name":"linger-zero-rst","hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},"links":[{"between":["client","server"],"delay":"10ms"}],"steps":[{"at":"0ms","host":"server","call":"listen","port":80,"as":"listener"},{"at":"1ms","host":"client","call":"connect","to":"server:80","as":"c","expect":{"result":0}},{"at":"1ms","host":"server","call":"accept","socket":"listener","as":"s"},{"at":"200ms","host":"client","call":"setsockopt","socket":"c","option":"SO_LINGER","value":{"onoff":1,"linger":0}},{"at":"200ms","host":"client","call":"close","socket":"c","expect":{"result":0}},{"at":"300ms","host":"server","call":"recv","socket":"s","expect":{"result":"ECONNRESET"}}],"expect":{"packets":[{"from":"client","to":"server","flags":"R.","at":"~200ms"}]}}""",
                """{"passed":true,"simulationId":"019ab4a6-5d7e-7c3a-8f3e-6f0c1d2e3a4b","checks":[{"passed":true,"kind":"call.result","path":"$.steps[1].expect.result","expected":"0","actual":"0","at":"21ms","atNs":21000000}],"errors":[],"journal":"/api/v1/simulations/019ab4a6-5d7e-7c3a-8f3e-6f0c1d2e3a4b/journal","journalEvents":48,"nowNs":300000000}""");
        return app;
    }

    private static async Task<Results<Ok<ScenarioRunResponse>, ProblemHttpResult>> RunScenario(
        ScenarioBody document, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new RunScenario(document.Document), cancellationToken)).ToOk();
}
