using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Features.Sockets;
using SimService.Api.Infrastructure;
using SimService.Domain.Commands;
using SimService.Domain.Tcp;

namespace SimService.Api.Features.Processes;

public static class ProcessesEndpoints
{
    public static IEndpointRouteBuilder MapProcesses(this IEndpointRouteBuilder app)
    {
        var processes = app.MapGroup("/api/v1/simulations/{id:guid}/hosts/{host}/processes").WithTags("Processes");
        processes.MapPost("/{process}/kill", KillProcess).WithName(nameof(KillProcess)).AsCommand().ProducesValidationProblem()
            .WithSummary("Kill a process: blocked calls end with EINTR, its descriptors close as at exit (no linger wait)")
            .WithExamples("""{"signal":"SIGKILL"}""",
                """{"host":"client","process":"app","signal":"SIGKILL","eventCount":9,"nowNs":2000000000,"version":11}""");
        processes.MapPost("/{process}/setrlimit", Setrlimit).WithName(nameof(Setrlimit)).AsCommand().ProducesValidationProblem()
            .WithSummary("setrlimit(RLIMIT_NOFILE, {soft, hard}): the process's descriptor limit (a call; the process is made if new). "
                + "socket(), accept() and dup() then fail EMFILE when the lowest free descriptor is at or above soft, dup2() past it EBADF; "
                + "soft above hard: EINVAL, hard above fs.nr_open (1048576): EPERM; nothing already open is closed")
            .WithExamples("""{"resource":"RLIMIT_NOFILE","soft":1024,"hard":4096}""",
                """{"callId":1,"call":"setrlimit","host":"server","process":"app","socketId":0,"status":"returned","result":0,"errno":null,"issuedAtNs":0,"version":4}""");
        return app;
    }

    private static async Task<Results<Ok<CallResponse>, ProblemHttpResult>> Setrlimit(
        Guid id, string host, string process, SetrlimitRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new IssueSocketCall(id, Versioning.ExpectedVersion(http), host, null, process,
            new SocketCallRequest("", "", SocketCallKind.Setrlimit) { RlimCur = request.Soft!.Value, RlimMax = request.Hard ?? request.Soft.Value }),
            cancellationToken)).ToOk(http.HttpContext.Response);

    private static async Task<Results<Ok<ProcessKilled>, ProblemHttpResult>> KillProcess(
        Guid id, string host, string process, HttpRequest http, ISender sender, CancellationToken cancellationToken,
        KillProcessRequest? request = null) =>
        (await sender.Send(new KillProcess(id, Versioning.ExpectedVersion(http), host, process, request?.Signal ?? "SIGKILL"), cancellationToken))
            .ToOk(http.HttpContext.Response);
}
