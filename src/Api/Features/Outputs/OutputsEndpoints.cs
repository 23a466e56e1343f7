using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Outputs;

/// <summary>Outputs people look at with their usual tools: captures for Wireshark/tshark, a procfs tree for node_exporter.</summary>
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
        group.MapGet("/hosts/{host}/procfs.tar", GetProcFsBundle).WithName(nameof(GetProcFsBundle))
            .Produces<byte[]>(StatusCodes.Status200OK, "application/x-tar").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The host's /proc/net (tcp, tcp6, sockstat, sockstat6, netstat, snmp, snmp6) as a tar: extract it and point " +
                         "node_exporter --path.procfs (or any /proc reader) at the folder")
            .WithExamples(response: "(binary) ustar archive: net/, net/sockstat, net/sockstat6, net/tcp, net/tcp6, net/netstat, net/snmp, net/snmp6");
        group.MapGet("/diagram.svg", GetDiagram).WithName(nameof(GetDiagram))
            .Produces<string>(StatusCodes.Status200OK, "image/svg+xml").ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Ladder diagram (SVG): a lane per host, one arrow per segment (flags, relative seq/ack, length; lost ones end in a cross), " +
                         "state changes with the kernel function, timers as brackets; filter with host= and socket= (repeatable), fromNs, toNs")
            .WithExamples(response: "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\" …><g class=\"lane\" data-host=\"client\">…</g><g class=\"segment\" data-segment-id=\"1\" data-flags=\"S\">…</g>…</svg>");
        return app;
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetDiagram(
        Guid id, ISender sender, CancellationToken cancellationToken, [FromQuery(Name = "host")] string[]? host = null,
        [FromQuery(Name = "socket")] int[]? socket = null, long? fromNs = null, long? toNs = null) =>
        (await sender.Send(new GetDiagram(id, host ?? [], socket ?? [], fromNs, toNs), cancellationToken)).ToSvg();

    private static Results<ContentHttpResult, ProblemHttpResult> ToSvg(this Outcome<string> outcome) =>
        outcome.Match<Results<ContentHttpResult, ProblemHttpResult>>(
            svg => TypedResults.Text(svg, "image/svg+xml; charset=utf-8"), failure => ErrorMapping.ToProblem(failure));

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetProcFsBundle(
        Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new GetProcFsBundle(id, host), cancellationToken)).ToFile();

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetCapture(
        Guid id, ISender sender, CancellationToken cancellationToken, string? host = null, long? fromNs = null, long? toNs = null) =>
        (await sender.Send(new GetCapture(id, host, fromNs, toNs), cancellationToken)).ToFile();

    private static Results<FileContentHttpResult, ProblemHttpResult> ToFile(this Outcome<OutputFile> outcome) =>
        outcome.Match<Results<FileContentHttpResult, ProblemHttpResult>>(
            file => TypedResults.File(file.Data, file.ContentType, file.FileName), failure => ErrorMapping.ToProblem(failure));
}
