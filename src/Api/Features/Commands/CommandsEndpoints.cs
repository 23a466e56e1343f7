using System.ComponentModel.DataAnnotations;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Commands;

public static class CommandsEndpoints
{
    public static IEndpointRouteBuilder MapCommands(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations/{id:guid}/commands").WithTags("Commands");
        group.MapPost("/", ApplyCommands).WithName(nameof(ApplyCommands)).AsCommand().ProducesValidationProblem().WithWorkField("commands", "Send fewer commands per batch, or advances with smaller event budgets or steps.")
            .WithSummary("Apply a batch of commands atomically, in order (at most 1000)")
            .WithExamples(
                """{"commands":[{"type":"add-host","name":"client","address":"10.0.0.1"},{"type":"add-host","name":"server","address":"10.0.0.2"},{"type":"add-link","between":["client","server"],"delayNs":10000000},{"type":"call","call":"listen","host":"server","port":80},{"type":"call","call":"connect","host":"client","to":"server:80"},{"type":"advance","byNs":100000000}]}""",
                """{"results":[{"seq":1,"type":"add-host","atNs":0,"journalEvents":0,"call":null,"advance":null},{"seq":2,"type":"add-host","atNs":0,"journalEvents":0,"call":null,"advance":null},{"seq":3,"type":"add-link","atNs":0,"journalEvents":0,"call":null,"advance":null},{"seq":4,"type":"socket-call","atNs":0,"journalEvents":4,"call":{"callId":1,"call":"listen","host":"server","process":"app","socketId":1,"status":"returned","result":0,"errno":null,"issuedAtNs":0,"version":4},"advance":null},{"seq":5,"type":"socket-call","atNs":0,"journalEvents":5,"call":{"callId":2,"call":"connect","host":"client","process":"app","socketId":2,"status":"pending","result":null,"errno":null,"issuedAtNs":0,"version":5},"advance":null},{"seq":6,"type":"advance","atNs":0,"journalEvents":9,"call":null,"advance":{"nowNs":100000000,"eventsProcessed":3,"truncated":false,"idle":true,"journalEvents":9,"version":6}}],"nowNs":100000000,"version":6}""");
        group.MapGet("/", GetCommandLog).WithName(nameof(GetCommandLog)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The command log, in order, a page at a time")
            .WithExamples(response: """{"items":[{"seq":1,"atNs":0,"type":"add-host","command":{"name":"client","address":"10.0.0.1","kind":"linux","sysctls":{},"behindNat":null}}],"nextAfterSeq":null,"version":1}""");
        return app;
    }

    private static async Task<Results<Ok<CommandsApplied>, ProblemHttpResult>> ApplyCommands(
        Guid id, ApplyCommandsRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new ApplyCommands(id, Versioning.ExpectedVersion(http), request), cancellationToken)).ToOk(http.HttpContext.Response);

    private static async Task<Results<Ok<CommandLogPage>, ProblemHttpResult>> GetCommandLog(
        Guid id, ISender sender, CancellationToken cancellationToken,
        [Int64Range(-1, long.MaxValue)] long afterSeq = 0, [Range(1, GetCommandLogHandler.MaxLimit)] int limit = GetCommandLogHandler.DefaultLimit) =>
        (await sender.Send(new GetCommandLog(id, afterSeq, limit), cancellationToken)).ToOk();
}
