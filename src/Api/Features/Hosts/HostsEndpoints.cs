using System.Text.Json;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Hosts;

public static class HostsEndpoints
{
    public static IEndpointRouteBuilder MapHosts(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations/{id:guid}/hosts").WithTags("Hosts");
        group.MapPost("/", AddHost).WithName(nameof(AddHost)).AsCommand().ProducesValidationProblem()
            .WithSummary("Add a host (a simulated Linux kernel or a scripted peer) with sysctls")
            .WithExamples(
                """{"name":"client","address":"10.0.0.1","sysctls":{"net.ipv4.ip_local_port_range":"40000 40003","net.ipv4.tcp_fin_timeout":30}}""",
                """{"name":"client","address":"10.0.0.1","kind":"linux","behindNat":null,"sysctls":{"net.ipv4.tcp_fin_timeout":"30","net.ipv4.ip_local_port_range":"40000\t40003"},"version":1}""");
        group.MapGet("/", ListHosts).WithName(nameof(ListHosts)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("List the simulation's hosts");
        group.MapGet("/{host}", GetHost).WithName(nameof(GetHost)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Read a host with every sysctl's current value");
        group.MapPatch("/{host}/sysctls", SetSysctls).WithName(nameof(SetSysctls)).AsCommand().ProducesValidationProblem()
            .WithSummary("Write sysctls at run time (sysctl -w), in order, all or nothing")
            .WithExamples("""{"net.ipv4.tcp_tw_reuse":1}""",
                """{"host":"client","values":{"net.ipv4.tcp_tw_reuse":"1"},"nowNs":950000000,"version":24}""");
        group.MapGet("/{host}/sockets", ListHostSockets).WithName(nameof(ListHostSockets)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The host's sockets as ss -tan lists them (JSON)");
        group.MapGet("/{host}/counters", GetHostCounters).WithName(nameof(GetHostCounters)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The host's MIB counters and sockstat numbers (JSON)");
        Text(group.MapGet("/{host}/ss", GetSs).WithName(nameof(GetSs)), "ss -tanoi (?info=false: ss -tano)");
        Text(group.MapGet("/{host}/proc/net/sockstat", GetProcNetSockstat).WithName(nameof(GetProcNetSockstat)), "/proc/net/sockstat");
        Text(group.MapGet("/{host}/proc/net/tcp", GetProcNetTcp).WithName(nameof(GetProcNetTcp)), "/proc/net/tcp");
        Text(group.MapGet("/{host}/proc/net/netstat", GetProcNetNetstat).WithName(nameof(GetProcNetNetstat)), "/proc/net/netstat");
        Text(group.MapGet("/{host}/proc/net/snmp", GetProcNetSnmp).WithName(nameof(GetProcNetSnmp)), "/proc/net/snmp");
        Text(group.MapGet("/{host}/dmesg", GetDmesg).WithName(nameof(GetDmesg)), "kernel log, as dmesg prints it");
        return app;
    }

    private static void Text(RouteHandlerBuilder endpoint, string what) =>
        endpoint.WithSummary($"The host's {what}, in the kernel's text layout")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").ProducesProblem(StatusCodes.Status404NotFound);

    private static Task<Results<ContentHttpResult, ProblemHttpResult>> GetSs(
        Guid id, string host, ISender sender, CancellationToken cancellationToken, bool info = true) =>
        Text(sender, new GetHostText(id, host, info ? HostTextView.Ss : HostTextView.SsNoInfo), cancellationToken);

    private static Task<Results<ContentHttpResult, ProblemHttpResult>> GetProcNetSockstat(Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        Text(sender, new GetHostText(id, host, HostTextView.Sockstat), cancellationToken);

    private static Task<Results<ContentHttpResult, ProblemHttpResult>> GetProcNetTcp(Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        Text(sender, new GetHostText(id, host, HostTextView.ProcNetTcp), cancellationToken);

    private static Task<Results<ContentHttpResult, ProblemHttpResult>> GetProcNetNetstat(Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        Text(sender, new GetHostText(id, host, HostTextView.Netstat), cancellationToken);

    private static Task<Results<ContentHttpResult, ProblemHttpResult>> GetProcNetSnmp(Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        Text(sender, new GetHostText(id, host, HostTextView.Snmp), cancellationToken);

    private static Task<Results<ContentHttpResult, ProblemHttpResult>> GetDmesg(Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        Text(sender, new GetHostText(id, host, HostTextView.Dmesg), cancellationToken);

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> Text(ISender sender, GetHostText query, CancellationToken cancellationToken) =>
        (await sender.Send(query, cancellationToken)).ToText();

    private static async Task<Results<Created<HostResponse>, ProblemHttpResult>> AddHost(
        Guid id, AddHostRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new AddHost(id, Versioning.ExpectedVersion(http), request), cancellationToken))
            .ToCreated(http.HttpContext.Response, host => $"/api/v1/simulations/{id}/hosts/{host.Name}");

    private static async Task<Results<Ok<HostList>, ProblemHttpResult>> ListHosts(Guid id, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new ListHosts(id), cancellationToken)).ToOk();

    private static async Task<Results<Ok<HostResponse>, ProblemHttpResult>> GetHost(
        Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new GetHost(id, host), cancellationToken)).ToOk();

    private static async Task<Results<Ok<SysctlsChanged>, ProblemHttpResult>> SetSysctls(
        Guid id, string host, Dictionary<string, JsonElement> values, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new SetSysctls(id, Versioning.ExpectedVersion(http), host, values), cancellationToken)).ToOk(http.HttpContext.Response);

    private static async Task<Results<Ok<HostSockets>, ProblemHttpResult>> ListHostSockets(
        Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new ListHostSockets(id, host), cancellationToken)).ToOk();

    private static async Task<Results<Ok<HostCounters>, ProblemHttpResult>> GetHostCounters(
        Guid id, string host, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new GetHostCounters(id, host), cancellationToken)).ToOk();
}
