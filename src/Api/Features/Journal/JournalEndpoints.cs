using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Journal;

public static class JournalEndpoints
{
    public static IEndpointRouteBuilder MapJournal(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/simulations/{id:guid}/journal").WithTags("Journal")
            .MapGet("/", GetJournal).WithName(nameof(GetJournal)).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The journal, in order, a page at a time; filter by host, socketId and event type (each repeatable: any of the values) and time range")
            .WithExamples(response: """{"items":[{"seq":41,"atNs":200000000,"type":"state-changed","host":"client","socketId":2,"data":{"host":"client","socketId":2,"from":"ESTABLISHED","to":"CLOSED","cause":"tcp_disconnect (SO_LINGER {1,0}: RST)"}}],"nextAfterSeq":null,"total":63,"version":12}""");
        return app;
    }

    private static async Task<Results<Ok<JournalPage>, ProblemHttpResult>> GetJournal(
        Guid id, ISender sender, CancellationToken cancellationToken,
        [FromQuery(Name = "host")] string[]? host = null, [FromQuery(Name = "socketId")] int[]? socketId = null,
        [FromQuery(Name = "type")] string[]? type = null,
        long? fromNs = null, long? toNs = null, long? afterSeq = null, int limit = GetJournalHandler.DefaultLimit) =>
        (await sender.Send(new GetJournal(id, new JournalFilter(host ?? [], socketId ?? [], type ?? [], fromNs, toNs, afterSeq, limit)), cancellationToken)).ToOk();
}
