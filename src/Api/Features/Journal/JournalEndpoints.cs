using System.ComponentModel.DataAnnotations;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Hardening;

namespace SimService.Api.Features.Journal;

public static class JournalEndpoints
{
    public static IEndpointRouteBuilder MapJournal(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/simulations/{id:guid}/journal").WithTags("Journal")
            .MapGet("/", GetJournal).WithName(nameof(GetJournal)).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The journal, in order, a page at a time; filter by host, socketId and event type (each repeatable: any of the values) and time range")
            .AsHeavyRead()
            .WithExamples(response: """{"items":[{"seq":41,"atNs":200000000,"type":"state-changed","host":"client","socketId":2,"data":{"host":"client","socketId":2,"from":"ESTABLISHED","to":"CLOSED","cause":"tcp_disconnect (SO_LINGER {1,0}: RST)"}}],"nextAfterSeq":null,"total":63,"version":12}""");
        return app;
    }

    /// <summary>What helps a host or socket filter that ran past its limit: it reads every page after afterSeq to fill its own.</summary>
    private const string FilterAdvice = "A host or socket filter reads the journal's stored pages one by one from afterSeq until its page fills, " +
        "the whole journal when it matches rarely: bound it with fromNs and toNs (or type), which pass over the pages outside them unread, " +
        "or start later with afterSeq.";

    // A host or socket filter is a whole-log read (GetJournalHandler): a heavy slot, Limits:HeavySeconds, and a work limit that
    // names the filter with advice that fits it (it advised "a page of the journal" to a request for one page). An unfiltered
    // page is O(page) and waits for no slot.
    private static async Task<Results<Ok<JournalPage>, ProblemHttpResult>> GetJournal(
        Guid id, ISender sender, HttpContext http, CancellationToken cancellationToken,
        [FromQuery(Name = "host")] string[]? host = null, [FromQuery(Name = "socketId")] int[]? socketId = null,
        [FromQuery(Name = "type")] string[]? type = null,
        long? fromNs = null, long? toNs = null, [Int64Range(-1, long.MaxValue)] long? afterSeq = null,
        [Range(1, GetJournalHandler.MaxLimit)] int limit = GetJournalHandler.DefaultLimit)
    {
        if (socketId is { Length: > 0 } || host is { Length: > 0 })
            http.Features.Set(new WorkField(socketId is { Length: > 0 } ? "socketId" : "host", FilterAdvice));
        return (await sender.Send(new GetJournal(id, new JournalFilter(host ?? [], socketId ?? [], type ?? [], fromNs, toNs, afterSeq, limit)), cancellationToken)).ToOk();
    }
}
