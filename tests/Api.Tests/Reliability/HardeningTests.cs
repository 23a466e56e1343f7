using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Scenarios;

namespace SimService.Api.Tests.Reliability;

/// <summary>Input that used to reach a 500 or an empty body: invalid text in JSON, and Kestrel's own rejections.</summary>
[Collection(ApiCollection.Name)]
public sealed class HardeningTests(ApiHosts hosts)
{
    [Theory]
    [InlineData(new byte[] { 0xFF }, "values.x")]
    [InlineData(new byte[] { 0xC3, 0x28 }, "values.x")]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, "values.x")]
    public async Task Body_InvalidUtf8InAString_Returns400NamingTheField(byte[] bad, string field)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        byte[] body = [.. "{\"values\":{\"x\":\"a"u8, .. bad, .. "\"}}"u8];
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");

        var response = await client.PostAsync("/api/v1/scenarios/run", content);

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([field], problem.ErrorFields());
    }

    /// <summary>
    /// Bodies up to <see cref="JsonTextCheck.InPlaceBytes"/> are checked where Kestrel holds them and left unread; larger
    /// ones are copied first. Either way invalid text is refused naming its field, and a valid body reaches the endpoint whole.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(JsonTextCheck.InPlaceBytes)]
    [InlineData(JsonTextCheck.InPlaceBytes + 1)]
    [InlineData(200_000)]
    public async Task Body_SmallOrLarge_InvalidTextRefusedAndValidBodyReachesTheEndpoint(int size)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        byte[] Padded(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail) =>
            [.. head, .. Enumerable.Repeat((byte)' ', Math.Max(0, size - head.Length - tail.Length)), .. tail];
        var bad = new ByteArrayContent(Padded([.. "{\"values\":{\"x\":\"a"u8, 0xFF, .. "\"}"u8], "}"u8));
        bad.Headers.ContentType = new("application/json");
        var good = new ByteArrayContent(Padded("{\"name\":\"padded\",\"seed\":7"u8, "}"u8));
        good.Headers.ContentType = new("application/json");

        var refused = await client.PostAsync("/api/v1/scenarios/run", bad);
        var created = await client.PostAsync("/api/v1/simulations", good);

        Assert.Equal(["values.x"], (await refused.ReadProblemAsync(HttpStatusCode.BadRequest)).ErrorFields());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Contains("\"name\":\"padded\"", await created.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"a":"\ud800"}""", "a")]
    [InlineData("""{"a":[1,{"b":"x\udfff"}]}""", "a[1].b")]
    [InlineData("""[{"x":[1,2,[3,"\udc00\ud800"]]}]""", "[0].x[2][1]")]
    [InlineData("""{"\ud800":1}""", "(a field name)")]
    [InlineData("""{"a":"\ud83d\udca5","b":"ok"}""", null)]
    [InlineData("""{"a":"unterminated""", null)]
    public void JsonTextCheck_LoneSurrogate_NamesItsField(string json, string? field) =>
        Assert.Equal(field, JsonTextCheck.FindInvalidText(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("""{"bytes":100}""", false)]
    [InlineData("""{"a":"\ud800"}""", true)]
    [InlineData("""{"a":"\n"}""", true)]
    [InlineData("""{"a":"é"}""", true)]
    public void JsonTextCheck_PlainAsciiWithoutEscapes_SkipsTheWalk(string json, bool walked) =>
        Assert.Equal(walked, JsonText.MayHoldInvalid(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("application/json", true)]
    [InlineData("application/json; charset=utf-8", true)]
    [InlineData("Application/JSON; Charset=UTF-8", true)]
    [InlineData("application/json;charset=utf-8", true)]
    [InlineData("application/json; charset=utf-16", true)]
    [InlineData("application/problem+json", true)]
    [InlineData("application/ld+json; charset=utf-8", true)]
    [InlineData("text/json", false)]
    [InlineData("application/jsonx", false)]
    [InlineData("text/plain", false)]
    [InlineData("application/x-www-form-urlencoded", false)]
    [InlineData("application/json; charset", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void JsonTextCheck_ContentType_IsJsonAsTheFrameworkDecides(string? contentType, bool json)
    {
        var request = new DefaultHttpContext().Request;
        request.ContentType = contentType;

        Assert.Equal(json, request.HasJsonContentType());
        Assert.Equal(json, JsonTextCheck.IsJson(contentType));
    }

    [Theory]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\nDate: Thu, 03 Dec 2026 07:49:29 GMT\r\n\r\n", 400)]
    [InlineData("HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 414)]
    [InlineData("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\nDate: x\r\n\r\n", 431)]
    [InlineData("HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 400)]
    [InlineData("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\nDate: x\r\nAllow: OPTIONS\r\n\r\n", 405)]
    public void KestrelRejection_EmptyErrorResponse_GetsAProblemBody(string kestrel, int status)
    {
        var rewritten = Encoding.Latin1.GetString(RejectedRequestProblems.Rewrite(Encoding.Latin1.GetBytes(kestrel))!);

        Assert.StartsWith($"HTTP/1.1 {status} ", rewritten);
        Assert.Contains("\r\nContent-Type: application/problem+json\r\n", rewritten);
        var body = rewritten[(rewritten.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n", rewritten);
        Assert.Contains($"\"status\":{status}", body);
        Assert.Contains("\r\nX-Content-Type-Options: nosniff\r\n", rewritten);
    }

    /// <summary>RFC 9110 §9.3.2: the answer to a HEAD Kestrel rejects has a GET's header fields and no body (it had the problem body).</summary>
    [Fact]
    public void KestrelRejection_OfAHead_HeadersWithoutTheBody()
    {
        var kestrel = Encoding.Latin1.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        var asGet = Encoding.Latin1.GetString(RejectedRequestProblems.Rewrite(kestrel)!);

        var asHead = Encoding.Latin1.GetString(RejectedRequestProblems.Rewrite(kestrel, forHead: true)!);

        Assert.Equal(asGet[..(asGet.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)], asHead);
    }

    [Theory]
    [InlineData("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nContent-Type: application/problem+json\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n{")]
    public void KestrelRejection_AnyOtherResponse_PassesUnchanged(string response) =>
        Assert.Null(RejectedRequestProblems.Rewrite(Encoding.Latin1.GetBytes(response)));

    /// <summary>
    /// A null or empty host name inside an array — a link's <c>between</c>, a workload's <c>clients</c> — is a 400 naming it; both
    /// were 500s from the host lookup (found by the fuzz test's "null in an array" and by hand, 2026-12-05).
    /// </summary>
    [Theory]
    [InlineData("links", """{"between":["client",null]}""", "between")]
    [InlineData("links", """{"between":["","server"]}""", "between")]
    [InlineData("workloads", """{"clients":[null],"server":"server","count":1}""", "clients[0]")]
    [InlineData("workloads", """{"clients":["client",""],"server":"server","count":1}""", "clients[1]")]
    public async Task HostNameInAnArray_NullOrEmpty_Returns400NamingIt(string path, string body, string field)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "null host");
        var version = await sim.VersionAsync();

        var response = await sim.Client.PostAsync($"{sim.Base}/{path}", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal([field], (await response.ReadProblemAsync(HttpStatusCode.BadRequest)).ErrorFields());
        Assert.Equal(version, await sim.VersionAsync());
    }

    /// <summary>
    /// Control characters, and (session 33) the bidirectional embeddings, overrides and isolates U+202A–U+202E and
    /// U+2066–U+2069: "\u202Egnp.exe" was stored and showed as "exe.png" in the view page, the list and export's description.
    /// </summary>
    [Theory]
    [InlineData("""{"name":"a\u0000b"}""")]
    [InlineData("""{"name":"\u001b[31mred"}""")]
    [InlineData("""{"name":"\u202Egnp.exe"}""")]
    [InlineData("""{"name":"a\u202Ab"}""")]
    [InlineData("""{"name":"a\u2069"}""")]
    public async Task Create_NameWithAControlCharacter_Returns400NamingName(string body)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var before = (await client.ListSimulationsAsync()).Count;

        var response = await client.PostAsync("/api/v1/simulations", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["name"], problem.ErrorFields());
        Assert.Equal(["The name must not contain control characters (U+0000-U+001F, U+007F-U+009F) or bidirectional controls (U+202A-U+202E, U+2066-U+2069)."],
            problem.GetProperty("errors").GetProperty("name").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    [Fact]
    public async Task AnyResponse_SecurityHeaders_AreSet()
    {
        var response = await hosts.Client(DatabaseProvider.Sqlite).GetAsync("/api/v1/simulations?limit=1");

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.False(response.Headers.Contains("Server"));
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded", "a=1")]
    [InlineData("multipart/form-data; boundary=x", "--x--")]
    [InlineData("text/plain", "{}")]
    public async Task CrossSiteFormPost_ToReplayOrDelete_RefusedWith415(string contentType, string body)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var sim = await SimulationDriver.TwoHostsAsync(client, "form post");
        var version = await sim.VersionAsync();

        var replay = new HttpRequestMessage(HttpMethod.Post, $"{sim.Base}/replay") { Content = new StringContent(body) };
        replay.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        var response = await client.SendAsync(replay);

        await response.ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(version, await sim.VersionAsync());
    }

    [Fact]
    public async Task CorsPreflight_NoOriginsConfigured_AllowsNothing()
    {
        var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/v1/simulations");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "DELETE");

        var response = await hosts.Client(DatabaseProvider.Sqlite).SendAsync(preflight);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Create_WithForeignHostHeader_LocationIsRelative()
    {
        var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/simulations")
        {
            Content = new StringContent("""{"name":"location","profile":"linux-6","seed":1}""", Encoding.UTF8, "application/json"),
        };
        create.Headers.Host = "evil.example";

        var response = await hosts.Client(DatabaseProvider.Sqlite).SendAsync(create);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(response.Headers.Location!.IsAbsoluteUri);
        Assert.StartsWith("/api/v1/simulations/", response.Headers.Location.OriginalString);
    }
}
