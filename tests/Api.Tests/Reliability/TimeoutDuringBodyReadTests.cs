using System.Net.Sockets;
using System.Text;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// The request's wall-time limit (<c>Limits:RequestSeconds</c>) running out while the service still reads the body — a
/// client that sent part of it (a cold start on a loaded machine had the same effect on a whole body): the answer is the
/// 503 busy problem and the connection stays usable. The body read was given the limit's token and threw from inside the
/// pipe's read, leaving Kestrel's body reader "reading": Kestrel could not drain the rest of the body ("Reading is already
/// in progress") and dropped the connection. Real Kestrel, one raw HTTP/1.1 connection; the wait is the 1 s limit itself.
/// </summary>
public sealed class TimeoutDuringBodyReadTests
{
    [Fact]
    public async Task Post_LimitRunsOutWhileTheBodyIsRead_503ThenTheSameConnectionAnswersTheNextRequest()
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
        var first = await ReadResponseAsync(stream);
        // The rest of the body (Kestrel drains it), then a second request on the same connection.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(body[10..] + $"GET /healthz HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"));
        var second = await ReadResponseAsync(stream);

        Assert.StartsWith("HTTP/1.1 503 ", first);
        Assert.Contains("\"type\":\"urn:simservice:problem:busy\"", first);
        Assert.Contains("1 s limit on one request's wall time (Limits:RequestSeconds)", first);
        Assert.StartsWith("HTTP/1.1 200 ", second);
    }

    /// <summary>One response: its headers, then its body by Content-Length or chunked framing ("" if the connection closed).</summary>
    private static async Task<string> ReadResponseAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        var buffer = new byte[8192];
        while (!Complete(text.ToString()))
        {
            int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            if (n == 0) break;
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return text.ToString();
    }

    private static bool Complete(string response)
    {
        int end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) return false;
        var headers = response[..end];
        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)) return response.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
        var length = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is null || response.Length - end - 4 >= int.Parse(length["Content-Length:".Length..].Trim());
    }
}
