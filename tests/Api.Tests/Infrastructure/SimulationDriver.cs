using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SimService.Api.Features.Clock;
using SimService.Api.Features.Connections;
using SimService.Api.Features.Journal;
using SimService.Api.Features.Simulations;
using SimService.Api.Features.Sockets;

namespace SimService.Api.Tests.Infrastructure;

/// <summary>Drives one simulation through the HTTP API, the way a user's curl session would.</summary>
internal sealed class SimulationDriver(HttpClient client, Guid id)
{
    public HttpClient Client { get; } = client;
    public Guid Id { get; } = id;
    public string Base => $"{SimServiceApi.Simulations}/{Id}";

    public static async Task<SimulationDriver> CreateAsync(HttpClient client, string name = "driven", string profile = "linux-6", long seed = 1) =>
        new(client, (await client.CreateSimulationAsync(name, profile, seed)).Id);

    /// <summary>client 10.0.0.1 and server 10.0.0.2 joined by a 10 ms link, as in scenarios/examples/.</summary>
    public static async Task<SimulationDriver> TwoHostsAsync(HttpClient client, string name = "two hosts", object? clientSysctls = null, long seed = 1)
    {
        var sim = await CreateAsync(client, name, seed: seed);
        await sim.PostOkAsync("hosts", new { name = "client", address = "10.0.0.1", sysctls = clientSysctls ?? new { } }, HttpStatusCode.Created);
        await sim.PostOkAsync("hosts", new { name = "server", address = "10.0.0.2" }, HttpStatusCode.Created);
        await sim.PostOkAsync("links", new { between = new[] { "client", "server" }, delayNs = 10_000_000 }, HttpStatusCode.Created);
        return sim;
    }

    public Task<HttpResponseMessage> PostAsync(string path, object? body, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{Base}/{path}") { Content = Json(body) };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PatchAsync(string path, object body) =>
        Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"{Base}/{path}") { Content = Json(body) });

    private static StringContent Json(object? body) => new(body switch
    {
        null => "{}",
        string text => text,
        _ => JsonSerializer.Serialize(body),
    }, Encoding.UTF8, "application/json");

    public async Task<JsonElement> PostOkAsync(string path, object? body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await PostAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"POST {path}: expected {expected}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        var response = await Client.GetAsync($"{Base}/{path}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<string> GetTextAsync(string path)
    {
        var response = await Client.GetAsync($"{Base}/{path}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    public async Task<CallResponse> CallAsync(int socketId, string call, object? body = null) =>
        (await ReadAsync<CallResponse>(await PostAsync($"sockets/{socketId}/{call}", body), HttpStatusCode.OK))!;

    /// <summary>A call on a host: 201 with the new socket's Location, or 200 without one when it made no socket (EMFILE, socket id 0).</summary>
    public async Task<CallResponse> OnHostAsync(string host, string call, object? body = null)
    {
        var response = await PostAsync($"hosts/{host}/{call}", body);
        var made = response.StatusCode == HttpStatusCode.Created;
        var result = (await ReadAsync<CallResponse>(response, made ? HttpStatusCode.Created : HttpStatusCode.OK))!;
        Assert.Equal(made, result.SocketId != 0);
        Assert.Equal(made, response.Headers.Location?.OriginalString.EndsWith($"{Base}/sockets/{result.SocketId}", StringComparison.Ordinal) ?? false);
        if (!made) Assert.Null(response.Headers.Location);
        return result;
    }

    public async Task<ConnectionResponse> ConnectAsync(string client = "client", string server = "server", int port = 80) =>
        (await ReadAsync<ConnectionResponse>(await PostAsync("connections", new { client, server, port }), HttpStatusCode.Created))!;

    public async Task<AdvanceResponse> AdvanceAsync(object body) =>
        (await ReadAsync<AdvanceResponse>(await PostAsync("advance", body), HttpStatusCode.OK))!;

    public Task<AdvanceResponse> AdvanceToAsync(long ns) => AdvanceAsync(new { toNs = ns });

    public async Task<T?> ReadAsync<T>(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{response.RequestMessage?.RequestUri}: expected {expected}, got {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, JsonSerializerOptions.Web);
    }

    public async Task<SimulationResponse> GetAsync() =>
        (await Client.GetFromJsonAsync<SimulationResponse>(Base))!;

    public async Task<long> VersionAsync() => (await GetAsync()).Version;

    public async Task<ClockResponse> ClockAsync() => (await Client.GetFromJsonAsync<ClockResponse>($"{Base}/clock"))!;

    public async Task<SocketResponse> SocketAsync(int socketId) => (await Client.GetFromJsonAsync<SocketResponse>($"{Base}/sockets/{socketId}"))!;

    /// <summary>The whole journal, every page, as "seq type atNs data" lines (what identical journals must share).</summary>
    public async Task<IReadOnlyList<string>> JournalAsync(string query = "")
    {
        var lines = new List<string>();
        long? after = null;
        do
        {
            var page = (await Client.GetFromJsonAsync<JournalPage>(
                $"{Base}/journal?limit=5000{(after is { } a ? $"&afterSeq={a}" : "")}{query}"))!;
            lines.AddRange(page.Items.Select(e => $"{e.Seq} {e.Type} {e.AtNs} {e.Data.GetRawText()}"));
            after = page.NextAfterSeq;
        } while (after is not null);
        return lines;
    }

    public async Task<ReplayReport> ReplayAsync() =>
        (await ReadAsync<ReplayReport>(await Client.PostAsync($"{Base}/replay", null), HttpStatusCode.OK))!;

    public async Task<string> ExportAsync()
    {
        var response = await Client.GetAsync($"{Base}/export");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"export: {(int)response.StatusCode}: {text}");
        return text;
    }
}
