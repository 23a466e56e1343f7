using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Processes;

public static class ProcessesEndpoints
{
    public static IEndpointRouteBuilder MapProcesses(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/simulations/{id:guid}/hosts/{host}/processes").WithTags("Processes")
            .MapPost("/{process}/kill", KillProcess).WithName(nameof(KillProcess)).AsCommand().ProducesValidationProblem()
            .WithSummary("Kill a process: blocked calls end with EINTR, its descriptors close as at exit (no linger wait)")
            .WithExamples("""{"signal":"SIGKILL"}""",
                """{"host":"client","process":"app","signal":"SIGKILL","eventCount":9,"nowNs":2000000000,"version":11}""");
        return app;
    }

    private static async Task<Results<Ok<ProcessKilled>, ProblemHttpResult>> KillProcess(
        Guid id, string host, string process, HttpRequest http, ISender sender, CancellationToken cancellationToken,
        KillProcessRequest? request = null) =>
        (await sender.Send(new KillProcess(id, Versioning.ExpectedVersion(http), host, process, request?.Signal ?? "SIGKILL"), cancellationToken))
            .ToOk(http.HttpContext.Response);
}
