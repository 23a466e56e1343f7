using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Domain.Outputs;

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
        group.MapGet("/socket-table", GetSocketTable).WithName(nameof(GetSocketTable))
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Every host's sockets (ss -tan rows) at a virtual time atNs (default: now); a past time is computed by replaying the inputs up to it")
            .WithExamples(response: """{"atNs":400000000,"hosts":[{"host":"client","items":[{"kind":"full","socketId":2,"state":"FIN-WAIT-2","local":"10.0.0.1:39746","remote":"10.0.0.2:80","recvQ":0,"sendQ":0,"timer":{"name":"timewait","expiresNs":60358000000,"leftNs":59958000000,"count":0},"orphan":false}]},{"host":"server","items":[]}],"version":12}""")
            .AsHeavyRead();
        group.MapGet("/timeseries", GetTimeSeries).WithName(nameof(GetTimeSeries))
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Per host over virtual time: ESTABLISHED, TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT and orphan counts and sockstat mem (pages), " +
                         "at `points` evenly spaced times in [fromNs, toNs] (default the whole run), with tcp_max_tw_buckets and the ephemeral port count")
            .WithExamples(response: """{"fromNs":0,"toNs":2000000000,"hosts":[{"host":"client","limits":{"tcpMaxTwBuckets":262144,"ephemeralPorts":28232,"timeWaitLimit":262144},"points":[{"atNs":0,"established":0,"timeWait":0,"finWait2":0,"closeWait":0,"orphans":0,"memPages":0},{"atNs":1000000000,"established":0,"timeWait":1,"finWait2":0,"closeWait":0,"orphans":0,"memPages":0}]}],"version":12}""")
            .AsHeavyRead();
        group.MapGet("/timeseries.svg", GetTimeSeriesChart).WithName(nameof(GetTimeSeriesChart))
            .Produces<string>(StatusCodes.Status200OK, "image/svg+xml").ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The time series as an SVG chart per host: axes with units, legend, limit lines (tcp_max_tw_buckets, ephemeral ports)")
            .WithExamples(response: "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeseries\" …><g class=\"panel\" data-host=\"client\">…<g class=\"series\" data-series=\"time-wait\">…</g>…</svg>")
            .AsHeavyRead();
        group.MapGet("/view", GetView).WithName(nameof(GetView)).WithMetadata(new BrowserPage(ViewPage.KeyPrompt))
            .Produces<string>(StatusCodes.Status200OK, "text/html").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The simulation's page for a browser: ladder diagram, every host's socket table at a chosen virtual time, time series, counters, journal")
            .WithExamples(response: "<!DOCTYPE html><html lang=\"en\">…<h2>Ladder diagram</h2>…<input type=\"range\" id=\"at\" …>…</html>");
        return app;
    }

    /// <summary>The services the outputs need (the look back in time, and the time series already computed).</summary>
    public static IServiceCollection AddOutputs(this IServiceCollection services) => services.AddScoped<History>().AddSingleton<LookBackCache>();

    private static async Task<Results<Ok<SocketTable>, ProblemHttpResult>> GetSocketTable(
        Guid id, ISender sender, CancellationToken cancellationToken, long? atNs = null) =>
        (await sender.Send(new GetSocketTable(id, atNs), cancellationToken)).ToOk();

    private static async Task<Results<Ok<TimeSeriesResponse>, ProblemHttpResult>> GetTimeSeries(
        Guid id, ISender sender, CancellationToken cancellationToken, long? fromNs = null, long? toNs = null,
        int points = GetTimeSeriesHandler.DefaultPoints) =>
        (await sender.Send(new GetTimeSeries(id, fromNs, toNs, points), cancellationToken)).ToOk();

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetTimeSeriesChart(
        Guid id, ISender sender, CancellationToken cancellationToken, long? fromNs = null, long? toNs = null,
        int points = GetTimeSeriesHandler.DefaultPoints) =>
        (await sender.Send(new GetTimeSeries(id, fromNs, toNs, points), cancellationToken)).Map(series => TimeSeriesChart.Svg(series.Hosts)).ToSvg();

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetView(Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new GetView(id), cancellationToken)).Match<Results<ContentHttpResult, ProblemHttpResult>>(
            html => TypedResults.Text(html, "text/html; charset=utf-8"), failure => ErrorMapping.ToProblem(failure));

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
