using System.Text;
using System.Text.Json;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Requests Kestrel refuses itself, before any middleware runs, on a real API process: each is a problem document
/// with the security headers every response carries (<c>RejectedRequestProblems</c>), the 405 for a target of
/// <c>*</c> included (it used to be an empty body with no headers).
/// </summary>
[Collection(RealProcessCollection.Name)]
public sealed class RejectedRequestTests
{
    public static TheoryData<string, string, int> Requests => new()
    {
        { "nul in the path", "GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
        { "target over 8 KB", $"GET /{new string('a', 9000)} HTTP/1.1\r\nHost: x\r\n\r\n", 414 },
        { "headers over 32 KB", $"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('b', 40_000)}\r\n\r\n", 431 },
        { "asterisk target, not OPTIONS", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
        { "unknown version", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400 },
        // RFC 9110 §9.3.2: HEAD gets the same status and header fields, and no body (it had the problem body).
        { "HEAD with a nul in the path", "HEAD /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
        { "HEAD with headers over 32 KB", $"HEAD / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('b', 40_000)}\r\n\r\n", 431 },
        { "HEAD after a GET on the connection", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    };

    [Fact]
    public async Task KestrelRejections_OnARealProcess_AreProblemsWithTheSecurityHeaders()
    {
        await ApiProcess.OnTemporarySqliteAsync("rejected", async api =>
        {
            foreach (var row in Requests)
            {
                var (name, raw, status) = ((string)row[0], (string)row[1], (int)row[2]);
                var text = await RawHttp.ExchangeAsync(api.BaseAddress, Encoding.Latin1.GetBytes(raw));
                bool isHead = raw.Contains("HEAD /", StringComparison.Ordinal);
                if (raw.StartsWith("GET /healthz", StringComparison.Ordinal)) text = text[text.IndexOf("HTTP/1.1 400", StringComparison.Ordinal)..];
                int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                Assert.True(headEnd > 0, $"{name}: no response head in {text}");
                var head = text[..headEnd].Split("\r\n");
                string? Header(string header) => head.Skip(1).Select(h => h.Split(": ", 2))
                    .FirstOrDefault(h => h[0].Equals(header, StringComparison.OrdinalIgnoreCase))?[1];

                Assert.StartsWith($"HTTP/1.1 {status} ", head[0]);
                Assert.Equal("application/problem+json", Header("Content-Type"));
                if (isHead) Assert.Equal(("", true), (text[(headEnd + 4)..], int.Parse(Header("Content-Length")!) > 0));
                else Assert.Equal(status, JsonDocument.Parse(text[(headEnd + 4)..]).RootElement.GetProperty("status").GetInt32());
                Assert.Equal("nosniff", Header("X-Content-Type-Options"));
                Assert.Equal("DENY", Header("X-Frame-Options"));
                Assert.Equal("no-referrer", Header("Referrer-Policy"));
                Assert.Equal("frame-ancestors 'none'", Header("Content-Security-Policy"));
                if (status == 405) Assert.Equal("OPTIONS", Header("Allow"));
            }
        });
    }

    /// <summary>
    /// A 414 and a 431 carry what the API's 413 carries (tester35 LOW-4: they had type, title, status and detail only): the part
    /// at fault in <c>errors</c> (the request target, the headers), the limit in the detail, the request's path as
    /// <c>instance</c>, and a <c>traceId</c> (the connection's id and the request's number, which the service's log line of
    /// the refusal names).
    /// </summary>
    [Fact]
    public async Task KestrelRejections_414And431_NameThePartTheLimitThePathAndATraceId()
    {
        await ApiProcess.OnTemporarySqliteAsync("rejected-shape", async api =>
        {
            foreach (var (raw, status, field, detail) in new[]
            {
                ($"GET /api/v1/simulations?{new string('a', 9000)} HTTP/1.1\r\nHost: x\r\n\r\n", 414, "target",
                    "The request target is longer than the server accepts: a request line of at most 8,192 bytes (Kestrel: MaxRequestLineSize)."),
                ($"GET /api/v1/simulations HTTP/1.1\r\nHost: x\r\nIf-Match: {new string('b', 40_000)}\r\n\r\n", 431, "headers",
                    "The request headers are larger than the server accepts: at most 32,768 bytes in all (Kestrel: MaxRequestHeadersTotalSize)."),
            })
            {
                var text = await RawHttp.ExchangeAsync(api.BaseAddress, Encoding.Latin1.GetBytes(raw));
                Assert.StartsWith($"HTTP/1.1 {status} ", text);
                var problem = JsonDocument.Parse(text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]).RootElement;

                Assert.Equal(detail, problem.GetProperty("detail").GetString());
                Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
                Assert.Equal(detail, problem.GetProperty("errors").GetProperty(field)[0].GetString());
                Assert.Equal("/api/v1/simulations", problem.GetProperty("instance").GetString());
                Assert.Matches("^[0-9A-Z]+:00000001$", problem.GetProperty("traceId").GetString());
            }
        });
    }

    /// <summary>
    /// What the framework answered once a request reached the API are the project's problems too (they were its RFC 9110
    /// ones): a body over <c>Limits:MaxRequestBodyBytes</c> (found when the body is read: a 413 <c>rejected-request</c>
    /// with the limit), and a path Kestrel resolves to no endpoint (<c>processes/%2e%2e/kill</c> is <c>…/kill</c>: a 404
    /// <c>unknown-path</c> naming that path).
    /// </summary>
    [Fact]
    public async Task FrameworkAnswers_OnARealProcess_AreTheProjectsProblems()
    {
        await ApiProcess.OnTemporarySqliteAsync("framework-answers", async api =>
        {
            static async Task<(string Status, JsonElement Problem)> Exchange(Uri address, string raw)
            {
                var text = await RawHttp.ExchangeAsync(address, Encoding.Latin1.GetBytes(raw));
                int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                Assert.True(body > 0, text);
                Assert.Contains("Content-Type: application/problem+json", text[..body], StringComparison.Ordinal);
                // The body may be chunked: the problem is its one JSON object.
                int start = text.IndexOf('{', body), end = text.LastIndexOf('}');
                return (text[..text.IndexOf("\r\n", StringComparison.Ordinal)], JsonDocument.Parse(text[start..(end + 1)]).RootElement.Clone());
            }

            var (tooLarge, problem) = await Exchange(api.BaseAddress,
                "POST /api/v1/simulations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{");
            Assert.StartsWith("HTTP/1.1 413 ", tooLarge);
            Assert.Equal("urn:simservice:problem:rejected-request", problem.GetProperty("type").GetString());
            Assert.Equal("The request body is larger than the server accepts: at most 4,194,304 bytes (Limits:MaxRequestBodyBytes).",
                problem.GetProperty("detail").GetString());
            // The body as a whole is at fault: errors names "$", as a 422 past a run's limit does (it had no errors).
            Assert.Equal(problem.GetProperty("detail").GetString(), problem.GetProperty("errors").GetProperty("$")[0].GetString());
            var (scriptTooLarge, script) = await Exchange(api.BaseAddress,
                "POST /api/v1/packetdrill/run HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 8000000\r\n\r\n0 socket");
            Assert.StartsWith("HTTP/1.1 413 ", scriptTooLarge);
            Assert.Equal(script.GetProperty("detail").GetString(), script.GetProperty("errors").GetProperty("$")[0].GetString());

            var id = Guid.NewGuid();
            var (notFound, unknown) = await Exchange(api.BaseAddress,
                $"POST /api/v1/simulations/{id}/hosts/client/processes/%2e%2e/kill HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
            Assert.StartsWith("HTTP/1.1 404 ", notFound);
            Assert.Equal("urn:simservice:problem:unknown-path", unknown.GetProperty("type").GetString());
            Assert.Equal($"No endpoint has the path /api/v1/simulations/{id}/hosts/client/kill.", unknown.GetProperty("detail").GetString());
        });
    }
}
