using System.Net.Sockets;
using System.Text;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// The request's wall-time limit (<c>Limits:RequestSeconds</c>) running out while the service still reads the body — a
/// client that sent part of it: the answer is a 408 naming the body and the rate it needs (it was a 503 busy blaming the
/// service, "Retry after 5 s", advice that a client uploading that slowly can never follow: tester36 LOW-5), and the
/// connection stays usable. The body read was given the limit's token and threw from inside the pipe's read, leaving
/// Kestrel's body reader "reading": Kestrel could not drain the rest of the body ("Reading is already in progress") and
/// dropped the connection. Real Kestrel, one raw HTTP/1.1 connection; the wait is the 1 s limit itself.
/// </summary>
public sealed class TimeoutDuringBodyReadTests
{
    [Fact]
    public async Task Post_LimitRunsOutWhileTheBodyIsRead_408NamingTheBodyThenTheSameConnectionAnswersTheNextRequest()
    {
        var body = """{"name":"slow body","profile":"linux-6","seed":1}""";

        // Headers and the body's first 10 bytes: the service waits for the rest until its limit runs out; then the rest of
        // the body (Kestrel drains it) and a second request on the same connection.
        var (first, second) = await SendSlowlyAsync(
            port => $"POST /api/v1/simulations HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body[..10]}",
            port => body[10..] + $"GET /healthz HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 408 ", first);
        Assert.Contains("\"type\":\"urn:simservice:problem:rejected-request\"", first);
        Assert.Contains($"The request's body had not all arrived when the 1 s limit on one request's wall time (Limits:RequestSeconds) ran out; " +
            $"nothing was applied. The limit counts the time the body takes to arrive: its {body.Length} bytes need at least {body.Length} bytes a second", first);
        Assert.DoesNotContain("Retry-After", first);
        Assert.StartsWith("HTTP/1.1 200 ", second);
    }

    /// <summary>A chunked body has no length to name a rate by: the advice is a whole sentence without one (tester37 LOW-2: "…to arrive: so send it faster").</summary>
    [Fact]
    public async Task Post_ChunkedBodyTooSlow_408AdvisesWithoutARate()
    {
        // One chunk of 10 bytes of the body, then nothing.
        var (first, _) = await SendSlowlyAsync(
            port => $"POST /api/v1/simulations HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\na\r\n{{\"name\":\"s\r\n",
            then: null);

        Assert.StartsWith("HTTP/1.1 408 ", first);
        Assert.Contains("nothing was applied. The limit counts the time the body takes to arrive: send it faster or send less (", first);
    }

    /// <summary>
    /// A service with a 1 s request limit on real Kestrel, one raw connection: <paramref name="start"/> (given the port) sent,
    /// the answer read, then <paramref name="then"/> sent and its answer read.
    /// </summary>
    private static async Task<(string First, string? Then)> SendSlowlyAsync(Func<int, string> start, Func<int, string>? then)
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:RequestSeconds"] = "1" });
        factory.UseKestrel(0);
        factory.StartServer();
        var port = factory.ClientOptions.BaseAddress.Port;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();

        await stream.WriteAsync(Encoding.ASCII.GetBytes(start(port)));
        var first = await RawHttp.ReadResponseAsync(stream);
        if (then is null) return (first, null);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(then(port)));
        return (first, await RawHttp.ReadResponseAsync(stream));
    }
}
