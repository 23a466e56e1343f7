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
            .WithSummary("List the simulation's hosts")
            .WithExamples(response: """{"items":[{"name":"client","address":"10.0.0.1","kind":"linux","behindNat":null},{"name":"server","address":"10.0.0.2","kind":"linux","behindNat":null}],"version":11}""");
        group.MapGet("/{host}", GetHost).WithName(nameof(GetHost)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Read a host with every sysctl's current value")
            .WithExamples(response: """{"name":"client","address":"10.0.0.1","kind":"linux","behindNat":null,"sysctls":{"net.ipv4.ip_local_port_range":"32768\t60999","net.ipv4.tcp_fin_timeout":"60","net.ipv4.tcp_tw_reuse":"2"},"version":11}""");
        group.MapPatch("/{host}/sysctls", SetSysctls).WithName(nameof(SetSysctls)).AsCommand().ProducesValidationProblem()
            .WithSummary("Write sysctls at run time (sysctl -w), in order, all or nothing")
            .WithExamples("""{"net.ipv4.tcp_tw_reuse":1}""",
                """{"host":"client","values":{"net.ipv4.tcp_tw_reuse":"1"},"nowNs":950000000,"version":24}""");
        group.MapGet("/{host}/sockets", ListHostSockets).WithName(nameof(ListHostSockets)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The host's sockets as ss -tan lists them (JSON)")
            .WithExamples(response: """{"host":"client","nowNs":1000000000,"items":[{"kind":"timewait","socketId":2,"state":"TIME-WAIT","local":"10.0.0.1:39746","remote":"10.0.0.2:80","recvQ":0,"sendQ":0,"timer":{"name":"timewait","expiresNs":60120000000,"leftNs":59120000000,"count":0},"orphan":false}],"version":11}""");
        group.MapGet("/{host}/counters", GetHostCounters).WithName(nameof(GetHostCounters)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The host's MIB counters and sockstat numbers (JSON)")
            .WithExamples(response: """{"host":"client","nowNs":1000000000,"counters":{"Tcp.ActiveOpens":1,"Tcp.InSegs":3,"Tcp.OutSegs":4,"Tcp.OutRsts":0,"TcpExt.TW":1,"TcpExt.TWRecycled":0,"TcpExt.TCPAbortOnData":0},"sockstat":{"inuse":0,"orphan":0,"tw":1,"alloc":0,"mem":0},"version":11}""");
        Text(group.MapGet("/{host}/ss", GetSs).WithName(nameof(GetSs)), "ss -tanoi (?info=false: ss -tano; &extended=true adds -e; &memory=true adds -m)",
            "State     Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\nTIME-WAIT 0      0           10.0.0.1:39746     10.0.0.2:80   timer:(timewait,59sec,0)\n\t\n");
        Text(group.MapGet("/{host}/proc/net/sockstat", GetProcNetSockstat).WithName(nameof(GetProcNetSockstat)), "/proc/net/sockstat",
            "sockets: used 0\nTCP: inuse 0 orphan 0 tw 1 alloc 0 mem 0\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n");
        Text(group.MapGet("/{host}/proc/net/tcp", GetProcNetTcp).WithName(nameof(GetProcNetTcp)), "/proc/net/tcp",
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100000A:9B42 0200000A:0050 06 00000000:00000000 03:00001718 00000000     0        0 0 3 0000000000000000\n");
        Text(group.MapGet("/{host}/proc/net/netstat", GetProcNetNetstat).WithName(nameof(GetProcNetNetstat)), "/proc/net/netstat",
            "TcpExt: SyncookiesSent SyncookiesRecv … (every field of Linux 6.18, in its order)\nTcpExt: 0 0 …\nIpExt: …\nMPTcpExt: …\n");
        Text(group.MapGet("/{host}/proc/net/snmp", GetProcNetSnmp).WithName(nameof(GetProcNetSnmp)), "/proc/net/snmp",
            "Ip: Forwarding DefaultTTL …\nIp: 2 64 …\n…\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens …\n");
        Text(group.MapGet("/{host}/dmesg", GetDmesg).WithName(nameof(GetDmesg)), "kernel log, as dmesg prints it",
            "[    1.204000] TCP: too many orphaned sockets\n");
        return app;
    }

    private static void Text(RouteHandlerBuilder endpoint, string what, string example) =>
        endpoint.WithSummary($"The host's {what}, in the kernel's text layout")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").ProducesProblem(StatusCodes.Status404NotFound)
            .WithExamples(response: example);

    private static Task<Results<ContentHttpResult, ProblemHttpResult>> GetSs(
        Guid id, string host, ISender sender, CancellationToken cancellationToken, bool info = true, bool extended = false, bool memory = false) =>
        Text(sender, new GetHostText(id, host, info ? HostTextView.Ss : HostTextView.SsNoInfo, extended, memory), cancellationToken);

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
