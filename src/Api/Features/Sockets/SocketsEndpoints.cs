using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;
using SimService.Domain.Commands;
using SimService.Domain.Tcp;

namespace SimService.Api.Features.Sockets;

/// <summary>
/// The socket system calls. socket() and the listen/connect conveniences are made on a host and create a
/// socket (201, Location: the socket; 200 when they fail before making one, EMFILE); the other calls act on a socket by id (200). Either way the response is
/// the call's immediate result: returned (with a value or an errno) or pending (it blocked).
/// </summary>
public static class SocketsEndpoints
{
    private const string CallExample =
        """{"callId":7,"call":"connect","host":"client","process":"app","socketId":3,"status":"pending","result":null,"errno":null,"issuedAtNs":1000000,"version":6}""";

    public static IEndpointRouteBuilder MapSockets(this IEndpointRouteBuilder app)
    {
        var onHost = app.MapGroup("/api/v1/simulations/{id:guid}/hosts/{host}").WithTags("Sockets");
        Call(onHost.MapPost("/sockets", OpenSocket).WithName(nameof(OpenSocket)), "socket(): a new unbound TCP socket",
            """{"process":"app"}""", """{"callId":1,"call":"socket","host":"client","process":"app","socketId":1,"status":"returned","result":3,"errno":null,"issuedAtNs":0,"version":4}""");
        Call(onHost.MapPost("/listen", ListenOnPort).WithName(nameof(ListenOnPort)), "socket() + bind(port) + listen(): a listener",
            """{"port":80,"backlog":128}""",
            """{"callId":1,"call":"listen","host":"server","process":"app","socketId":1,"status":"returned","result":0,"errno":null,"issuedAtNs":0,"version":4}""");
        Call(onHost.MapPost("/connect", ConnectTo).WithName(nameof(ConnectTo)), "socket() + connect(to): blocks until the handshake ends",
            """{"to":"server:80"}""", CallExample);

        var sockets = app.MapGroup("/api/v1/simulations/{id:guid}/sockets").WithTags("Sockets");
        sockets.MapGet("/{socketId:int}", GetSocket).WithName(nameof(GetSocket)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A socket and its connection: state, queues, ss rows, data ledger, pending and recent calls")
            .WithExamples(response: """{"socketId":2,"host":"client","process":null,"state":"TIME-WAIT","local":"10.0.0.1:39746","remote":"10.0.0.2:80","recvQ":0,"sendQ":0,"orphan":false,"destroyed":true,"rows":[{"kind":"timewait","socketId":2,"state":"TIME-WAIT","local":"10.0.0.1:39746","remote":"10.0.0.2:80","recvQ":0,"sendQ":0,"timer":{"name":"timewait","expiresNs":60120000000,"leftNs":59120000000,"count":0},"orphan":false}],"ledger":{"sent":0,"accepted":0,"delivered":0,"lost":0,"lostReason":null},"pendingCalls":[],"recentCalls":[{"callId":2,"call":"connect","host":"client","process":"app","socketId":2,"args":"to=server:80","status":"returned","result":0,"errno":null,"issuedAtNs":0,"returnedAtNs":20000000,"blockedNs":20000000},{"callId":4,"call":"close","host":"client","process":"app","socketId":2,"args":"","status":"returned","result":0,"errno":null,"issuedAtNs":100000000,"returnedAtNs":100000000,"blockedNs":0}],"nowNs":1000000000,"version":11}""");
        Call(sockets.MapPost("/{socketId:int}/bind", Bind).WithName(nameof(Bind)), "bind(port)", """{"port":8080}""", """{"callId":4,"call":"bind","host":"server","process":"app","socketId":1,"status":"returned","result":0,"errno":null,"issuedAtNs":100000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/listen", Listen).WithName(nameof(Listen)), "listen(backlog)", """{"backlog":128}""", """{"callId":4,"call":"listen","host":"server","process":"app","socketId":1,"status":"returned","result":0,"errno":null,"issuedAtNs":100000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/connect", Connect).WithName(nameof(Connect)),
            "connect(to): blocks until the handshake ends; with family AF_UNSPEC instead, tcp_disconnect() (returns 0, the socket is CLOSE and can connect again)",
            """{"to":"server:80"}""", CallExample);
        Call(sockets.MapPost("/{socketId:int}/accept", Accept).WithName(nameof(Accept)),
            "accept(): blocks until a connection is queued; its socket id is in the completion", """{"process":"app"}""", """{"callId":4,"call":"accept","host":"server","process":"app","socketId":1,"status":"pending","result":null,"errno":null,"issuedAtNs":100000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/send", Send).WithName(nameof(Send)), "send(bytes): blocks while the send buffer is full",
            """{"bytes":100}""", """{"callId":4,"call":"send","host":"client","process":"app","socketId":2,"status":"returned","result":100,"errno":null,"issuedAtNs":100000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/recv", Recv).WithName(nameof(Recv)), "recv(bytes): blocks until data or EOF; 0 at EOF",
            """{"bytes":4096}""", """{"callId":9,"call":"recv","host":"server","process":"app","socketId":2,"status":"returned","result":-1,"errno":"ECONNRESET","issuedAtNs":300000000,"version":12}""");
        Call(sockets.MapPost("/{socketId:int}/shutdown", Shutdown).WithName(nameof(Shutdown)), "shutdown(how)", """{"how":"SHUT_WR"}""", """{"callId":4,"call":"shutdown","host":"client","process":"app","socketId":2,"status":"returned","result":0,"errno":null,"issuedAtNs":100000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/close", Close).WithName(nameof(Close)),
            "close(): blocks only under SO_LINGER with a non-zero time", """{"process":"app"}""", """{"callId":4,"call":"close","host":"client","process":"app","socketId":2,"status":"returned","result":0,"errno":null,"issuedAtNs":100000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/setsockopt", Setsockopt).WithName(nameof(Setsockopt)), "setsockopt(option, value)",
            """{"option":"SO_LINGER","value":{"onoff":1,"linger":0}}""", """{"callId":4,"call":"setsockopt","host":"client","process":"app","socketId":2,"status":"returned","result":0,"errno":null,"issuedAtNs":100000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/getsockopt", Getsockopt).WithName(nameof(Getsockopt)),
            "getsockopt(option): an integer option's value is the result; value holds what optval received",
            """{"option":"SO_LINGER"}""", """{"callId":4,"call":"getsockopt","host":"server","process":"app","socketId":1,"status":"returned","result":5,"errno":null,"issuedAtNs":1000000000,"version":12,"value":{"onoff":1,"linger":5}}""");
        Call(sockets.MapPost("/{socketId:int}/fcntl", Fcntl).WithName(nameof(Fcntl)), "fcntl(F_SETFL): O_NONBLOCK on or off",
            """{"nonblock":true}""", """{"callId":5,"call":"fcntl","host":"client","process":"app","socketId":2,"status":"returned","result":0,"errno":null,"issuedAtNs":0,"version":6}""");
        Call(sockets.MapPost("/{socketId:int}/poll", Poll).WithName(nameof(Poll)),
            "poll(events, timeoutMs): result 1 or 0, value the returned events as tcp_poll() computes them; with a timeout and no event yet the call blocks until one (or the timeout: 0)",
            """{"events":["POLLIN","POLLOUT"]}""", """{"callId":6,"call":"poll","host":"client","process":"app","socketId":2,"status":"returned","result":1,"errno":null,"issuedAtNs":30000000,"version":9,"value":"POLLOUT"}""");
        Call(sockets.MapPost("/{socketId:int}/dup", Dup).WithName(nameof(Dup)),
            "dup(): a second descriptor for the socket's file (the result); close() of one leaves the socket open until the last goes",
            """{"process":"app"}""", """{"callId":7,"call":"dup","host":"client","process":"app","socketId":2,"status":"returned","result":4,"errno":null,"issuedAtNs":50000000,"version":8}""");
        Call(sockets.MapPost("/{socketId:int}/dup2", Dup2).WithName(nameof(Dup2)),
            "dup2(newfd): the socket's file at newfd (the result); a socket newfd held is closed first (its FIN or RST goes out at the call)",
            """{"newFd":10}""", """{"callId":8,"call":"dup2","host":"client","process":"app","socketId":2,"status":"returned","result":10,"errno":null,"issuedAtNs":50000000,"version":9}""");
        Call(sockets.MapPost("/{socketId:int}/getpeername", Getpeername).WithName(nameof(Getpeername)),
            "getpeername(): the peer's address in value; ENOTCONN before the connection is established",
            """{"process":"app"}""", """{"callId":5,"call":"getpeername","host":"client","process":"app","socketId":2,"status":"returned","result":0,"errno":null,"issuedAtNs":1000000000,"version":13,"value":"10.0.0.2:80"}""");

        app.MapGroup("/api/v1/simulations/{id:guid}/calls").WithTags("Sockets")
            .MapGet("/{callId:long}", GetCall).WithName(nameof(GetCall)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A call's status: pending, or returned with its value or errno and how long it blocked")
            .WithExamples(response: """{"callId":7,"call":"connect","host":"client","process":"app","socketId":3,"args":"to=server:80","status":"returned","result":0,"errno":null,"issuedAtNs":1000000,"returnedAtNs":21000000,"blockedNs":20000000}""");
        return app;
    }

    private static void Call(RouteHandlerBuilder endpoint, string summary, string? request, string? response) =>
        endpoint.AsCommand().ProducesValidationProblem().WithSummary(summary).WithExamples(request, response);

    private static IfMatch? IfMatch(HttpRequest http) => Versioning.ExpectedVersion(http);

    /// <summary>201 with the new socket's Location; 200 for a call that made none (socket id 0: EMFILE), as any other call's errno.</summary>
    private static async Task<Results<Created<CallResponse>, Ok<CallResponse>, ProblemHttpResult>> Created(
        ISender sender, Guid id, IssueSocketCall call, HttpRequest http, CancellationToken ct) =>
        (await sender.Send(call, ct)).ToCreatedOrOk(http.HttpContext.Response, r => r.SocketId == 0 ? null : $"/api/v1/simulations/{id}/sockets/{r.SocketId}");

    private static async Task<Results<Ok<CallResponse>, ProblemHttpResult>> OnSocket(
        ISender sender, Guid id, int socketId, OnSocketRequest? request, SocketCallRequest call, HttpRequest http, CancellationToken ct) =>
        (await sender.Send(new IssueSocketCall(id, IfMatch(http), null, socketId, request?.Process,
            request?.Fd == call.Fd ? call : call with { Fd = request?.Fd }), ct)).ToOk(http.HttpContext.Response);

    /// <summary>A call of <paramref name="kind"/> with every argument at its default (immutable: one per kind for the process).</summary>
    private static SocketCallRequest Template(SocketCallKind kind) => Templates[(int)kind];

    private static readonly SocketCallRequest[] Templates = [.. Enum.GetValues<SocketCallKind>().Select(k => new SocketCallRequest("", "", k))]; // kinds 0, 1, 2, …

    private static Task<Results<Created<CallResponse>, Ok<CallResponse>, ProblemHttpResult>> OpenSocket(
        Guid id, string host, HttpRequest http, ISender sender, CancellationToken ct, OpenSocketRequest? request = null) =>
        Created(sender, id, new IssueSocketCall(id, IfMatch(http), host, null, request?.Process, Template(SocketCallKind.Socket)), http, ct);

    private static Task<Results<Created<CallResponse>, Ok<CallResponse>, ProblemHttpResult>> ListenOnPort(
        Guid id, string host, ListenOnPortRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        Created(sender, id, new IssueSocketCall(id, IfMatch(http), host, null, request.Process, Template(SocketCallKind.Listen) with
        {
            Port = (ushort)request.Port!.Value,
            Address = request.Address,
            Backlog = request.Backlog ?? 128,
            ReuseAddr = request.ReuseAddr ?? false,
        }), http, ct);

    private static Task<Results<Created<CallResponse>, Ok<CallResponse>, ProblemHttpResult>> ConnectTo(
        Guid id, string host, ConnectToRequest request, HttpRequest http, ISender sender, CancellationToken ct)
    {
        var (toHost, toPort) = SocketArguments.HostPort(request.To!);
        return Created(sender, id, new IssueSocketCall(id, IfMatch(http), host, null, request.Process, Template(SocketCallKind.Connect) with
        {
            ToHost = toHost,
            ToPort = toPort,
            BindPort = (ushort?)request.Bind?.Port,
            BindReuseAddr = request.Bind?.ReuseAddr ?? false,
        }), http, ct);
    }

    private static async Task<Results<Ok<SocketResponse>, ProblemHttpResult>> GetSocket(Guid id, int socketId, ISender sender, CancellationToken ct) =>
        (await sender.Send(new GetSocket(id, socketId), ct)).ToOk();

    private static async Task<Results<Ok<CallStatus>, ProblemHttpResult>> GetCall(Guid id, long callId, ISender sender, CancellationToken ct) =>
        (await sender.Send(new GetCall(id, callId), ct)).ToOk();

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Bind(
        Guid id, int socketId, BindRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Bind) with { Port = (ushort)request.Port!.Value, Address = request.Address }, http, ct);

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Listen(
        Guid id, int socketId, HttpRequest http, ISender sender, CancellationToken ct, ListenRequest? request = null) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Listen) with { Backlog = request?.Backlog ?? 128 }, http, ct);

    private static async Task<Results<Ok<CallResponse>, ProblemHttpResult>> Connect(
        Guid id, int socketId, ConnectRequest request, HttpRequest http, ISender sender, CancellationToken ct)
    {
        if (request.Family is not null)
            return request.To is null
                ? await OnSocket(sender, id, socketId, request, Template(SocketCallKind.Connect) with { Unspec = true }, http, ct)
                : ErrorMapping.ToProblem(new RequestInvalid("to", "connect takes either to or family AF_UNSPEC, not both.", id));
        if (request.To is null) return ErrorMapping.ToProblem(new RequestInvalid("to", "The to field is required (or family AF_UNSPEC).", id));
        var (toHost, toPort) = SocketArguments.HostPort(request.To);
        return await OnSocket(sender, id, socketId, request, Template(SocketCallKind.Connect) with { ToHost = toHost, ToPort = toPort }, http, ct);
    }

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Accept(
        Guid id, int socketId, HttpRequest http, ISender sender, CancellationToken ct, PlainCallRequest? request = null) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Accept), http, ct);

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Send(
        Guid id, int socketId, SendRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        SocketArguments.MsgFlagsOf(request.Flags, sending: true, out var error) is { } flags
            ? OnSocket(sender, id, socketId, request, Template(SocketCallKind.Send) with { Bytes = request.Bytes!.Value, Flags = flags }, http, ct)
            : Task.FromResult<Results<Ok<CallResponse>, ProblemHttpResult>>(ErrorMapping.ToProblem(new RequestInvalid("flags", error!, id)));

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Recv(
        Guid id, int socketId, HttpRequest http, ISender sender, CancellationToken ct, RecvRequest? request = null) =>
        SocketArguments.MsgFlagsOf(request?.Flags, sending: false, out var error) is { } flags
            ? OnSocket(sender, id, socketId, request, Template(SocketCallKind.Recv) with { Bytes = request?.Bytes ?? -1, Flags = flags }, http, ct)
            : Task.FromResult<Results<Ok<CallResponse>, ProblemHttpResult>>(ErrorMapping.ToProblem(new RequestInvalid("flags", error!, id)));

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Shutdown(
        Guid id, int socketId, ShutdownRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Shutdown) with { How = Enum.Parse<ShutdownHow>(request.How!) }, http, ct);

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Fcntl(
        Guid id, int socketId, FcntlRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Fcntl) with { NonBlock = request.Nonblock!.Value }, http, ct);

    private static async Task<Results<Ok<CallResponse>, ProblemHttpResult>> Poll(
        Guid id, int socketId, PollRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        request.Mask(out var unknown) is { } mask
            ? await OnSocket(sender, id, socketId, request, Template(SocketCallKind.Poll) with { Events = mask, TimeoutMs = request.TimeoutMs ?? 0 }, http, ct)
            : ErrorMapping.ToProblem(new RequestInvalid("events", $"'{unknown}' is not a poll event.", id));

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Dup(
        Guid id, int socketId, HttpRequest http, ISender sender, CancellationToken ct, PlainCallRequest? request = null) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Dup), http, ct);

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Dup2(
        Guid id, int socketId, Dup2Request request, HttpRequest http, ISender sender, CancellationToken ct) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Dup2) with { NewFd = request.NewFd!.Value }, http, ct);

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Getpeername(
        Guid id, int socketId, HttpRequest http, ISender sender, CancellationToken ct, PlainCallRequest? request = null) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Getpeername), http, ct);

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Close(
        Guid id, int socketId, HttpRequest http, ISender sender, CancellationToken ct, PlainCallRequest? request = null) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Close), http, ct);

    private static async Task<Results<Ok<CallResponse>, ProblemHttpResult>> Setsockopt(
        Guid id, int socketId, SetsockoptRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        request.ToCall(out var error) is { } call
            ? await OnSocket(sender, id, socketId, request, call, http, ct)
            : ErrorMapping.ToProblem(new RequestInvalid("value", error!, id));

    private static Task<Results<Ok<CallResponse>, ProblemHttpResult>> Getsockopt(
        Guid id, int socketId, GetsockoptRequest request, HttpRequest http, ISender sender, CancellationToken ct) =>
        OnSocket(sender, id, socketId, request, Template(SocketCallKind.Getsockopt) with { Option = Enum.Parse<SocketOption>(request.Option!) }, http, ct);
}
