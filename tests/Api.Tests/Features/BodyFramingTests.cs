using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// The API on real ports (Kestrel) on SQLite, for tests of how a body is framed on the wire: one HTTP/1.1 endpoint, and
/// one of HTTP/2 with prior knowledge (h2c; Kestrel answers HTTP_1_1_REQUIRED to it on a cleartext Http1AndHttp2 endpoint).
/// </summary>
public sealed class KestrelApi : IAsyncLifetime
{
    private readonly List<(TestDatabase Database, SimServiceFactory Factory)> _hosts = [];

    /// <summary>A client without the factory's redirect and cookie handlers: the redirect one buffers a request's body, which gives it a Content-Length.</summary>
    public HttpClient Client(bool http2)
    {
        var factory = _hosts[http2 ? 1 : 0].Factory;
        return factory.CreateClient(new() { BaseAddress = factory.ClientOptions.BaseAddress, AllowAutoRedirect = false, HandleCookies = false });
    }

    public Task InitializeAsync()
    {
        foreach (var protocols in new[] { "Http1", "Http2" })
        {
            var database = TestDatabase.Create(DatabaseProvider.Sqlite);
            var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Kestrel:EndpointDefaults:Protocols"] = protocols });
            factory.UseKestrel(0);
            factory.StartServer();
            _hosts.Add((database, factory));
        }
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var (database, factory) in _hosts)
        {
            await factory.DisposeAsync();
            await database.DisposeAsync();
        }
    }
}

/// <summary>
/// <c>POST /api/v1/simulations</c>'s body framed as clients frame it — with a Content-Length, chunked (HTTP/1.1 without
/// a length) or as an HTTP/2 stream (neither header) — and JSON null with a BOM, whitespace and a charset: null is a 400
/// however it comes, and a body without bytes is the defaults however it comes. The endpoint told them apart by the
/// headers: an HTTP/2 null was taken for no body (201), and an empty chunked body was a 400 (415 without a Content-Type).
/// </summary>
public sealed class BodyFramingTests(KestrelApi api) : IClassFixture<KestrelApi>
{
    [Theory]
    [InlineData("null", "application/json", "chunked", HttpStatusCode.BadRequest)]
    [InlineData("null", "application/json", "http2", HttpStatusCode.BadRequest)]
    [InlineData("\uFEFF null \r\n", "application/json; charset=utf-8", "length", HttpStatusCode.BadRequest)]
    [InlineData("\uFEFF null \r\n", "application/json; charset=utf-8", "chunked", HttpStatusCode.BadRequest)]
    [InlineData("\t null", "application/json; charset=UTF-8", "http2", HttpStatusCode.BadRequest)]
    [InlineData("", "application/json", "length", HttpStatusCode.Created)]
    [InlineData("", "application/json", "chunked", HttpStatusCode.Created)]
    [InlineData("", "application/json", "http2", HttpStatusCode.Created)]
    [InlineData("", null, "chunked", HttpStatusCode.Created)]
    [InlineData("{}", "application/json", "http2", HttpStatusCode.Created)]
    [InlineData("""{"seed":5}""", "application/json; charset=utf-8", "chunked", HttpStatusCode.Created)]
    public async Task CreateSimulation_NullOrNoBodyHoweverFramed_Returns400OrTheDefaults(string body, string? contentType, string framing, HttpStatusCode status)
    {
        using var client = api.Client(http2: framing == "http2");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/simulations")
        {
            Content = new Body(Encoding.UTF8.GetBytes(body), contentType, knownLength: framing == "length"),
            Version = framing == "http2" ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await client.SendAsync(request);

        Assert.Equal((status, request.Version), (response.StatusCode, response.Version));
        if (status == HttpStatusCode.BadRequest)
            Assert.Equal(["$"], (await response.ReadProblemAsync(HttpStatusCode.BadRequest)).ErrorFields());
        else
            Assert.Equal(body.Contains("seed", StringComparison.Ordinal) ? 5 : 0, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("seed").GetInt32());
    }

    /// <summary>A body whose length the client says only when <c>knownLength</c>: HTTP/1.1 sends it chunked otherwise, HTTP/2 with neither header.</summary>
    private sealed class Body : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly bool _knownLength;

        public Body(byte[] bytes, string? contentType, bool knownLength)
        {
            (_bytes, _knownLength) = (bytes, knownLength);
            if (contentType is not null) Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return _knownLength;
        }
    }
}

/// <summary>
/// <c>If-Match:</c> sent empty on the wire (<c>curl -H 'If-Match;'</c>; the in-memory test server drops an empty header):
/// a list of no entity-tag, which RFC 9110 §13.1.1 evaluates as false — the 412 <c>version-mismatch</c> problem and nothing
/// applied, where it was taken for no header and the command applied (201).
/// </summary>
public sealed class EmptyIfMatchTests(KestrelApi api) : IClassFixture<KestrelApi>
{
    [Fact]
    public async Task EmptyIfMatch_OnTheWire_Returns412AndAppliesNothing()
    {
        using var client = api.Client(http2: false);
        var created = await client.PostAsJsonAsync("/api/v1/simulations", new { name = "empty if-match" });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        const string body = """{"name":"e","address":"10.0.2.1"}""";
        var raw = $"POST /api/v1/simulations/{id}/hosts HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nIf-Match:\r\n"
            + $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";

        var response = await Reliability.RawHttp.ExchangeAsync(client.BaseAddress!, Encoding.ASCII.GetBytes(raw));

        Assert.StartsWith("HTTP/1.1 412 Precondition Failed\r\n", response);
        Assert.Contains("\"detail\":\"If-Match names no version of this simulation; its current version is \\\"0\\\"; nothing was applied.\"", response);
        var simulation = await client.GetFromJsonAsync<JsonElement>($"/api/v1/simulations/{id}");
        Assert.Equal(0, simulation.GetProperty("version").GetInt64());
    }
}
