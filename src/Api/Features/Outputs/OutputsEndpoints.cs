using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Outputs;

/// <summary>Outputs people look at with their usual tools: captures for Wireshark/tshark.</summary>
public static class OutputsEndpoints
{
    public static IEndpointRouteBuilder MapOutputs(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations/{id:guid}").WithTags("Outputs");
        group.MapGet("/pcap", GetCapture).WithName(nameof(GetCapture))
            .Produces<byte[]>(StatusCodes.Status200OK, "application/vnd.tcpdump.pcap", "application/x-pcapng")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Packet capture with virtual timestamps: ?host= gives that host's view as classic pcap (what it sent, what reached it); " +
                         "without it, pcapng of every segment once, lost ones on interface \"dropped\"; fromNs/toNs bound the time")
            .WithExamples(response: "(binary) 4d 3c b2 a1 02 00 04 00 … — nanosecond pcap, link type 101 (raw IPv4); open with wireshark or tshark -r");
        return app;
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetCapture(
        Guid id, ISender sender, CancellationToken cancellationToken, string? host = null, long? fromNs = null, long? toNs = null) =>
        (await sender.Send(new GetCapture(id, host, fromNs, toNs), cancellationToken)).ToFile();

    private static Results<FileContentHttpResult, ProblemHttpResult> ToFile(this Outcome<OutputFile> outcome) =>
        outcome.Match<Results<FileContentHttpResult, ProblemHttpResult>>(
            file => TypedResults.File(file.Data, file.ContentType, file.FileName), failure => ErrorMapping.ToProblem(failure));
}
