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
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:RequestSeconds"] = "1" });
        factory.UseKestrel(0);
        factory.StartServer();
        var port = factory.ClientOptions.BaseAddress.Port;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        var body = """{"name":"slow body","profile":"linux-6","seed":1}""";

        // Headers and the body's first 10 bytes: the service waits for the rest until its limit runs out.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /api/v1/simulations HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body[..10]}"));
        var first = await RawHttp.ReadResponseAsync(stream);
        // The rest of the body (Kestrel drains it), then a second request on the same connection.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(body[10..] + $"GET /healthz HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"));
        var second = await RawHttp.ReadResponseAsync(stream);

        Assert.StartsWith("HTTP/1.1 408 ", first);
        Assert.Contains("\"type\":\"urn:simservice:problem:rejected-request\"", first);
        Assert.Contains($"The request's body had not all arrived when the 1 s limit on one request's wall time (Limits:RequestSeconds) ran out; " +
            $"nothing was applied. The limit counts the time the body takes to arrive: its {body.Length} bytes need at least {body.Length} bytes a second", first);
        Assert.DoesNotContain("Retry-After", first);
        Assert.StartsWith("HTTP/1.1 200 ", second);
    }
}
