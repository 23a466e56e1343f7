using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SimService.Cli.Files;

namespace SimService.Cli.Running;

/// <summary>
/// The server could not be used at all (unreachable, refused the key, answered with an error): the tool stops with exit code 2.
/// A run the server refuses for its file (a quota, its run-time limit) is that file's error instead (<see cref="RunOutput.Refused"/>).
/// </summary>
public sealed class ServerUnavailableException(string message) : Exception(message);

/// <summary>
/// The few SimService endpoints the tool uses: <c>POST /api/v1/scenarios/run</c> and <c>GET /api/v1/simulations/{id}/export</c>.
/// The API key, when given, is sent as the <c>X-Api-Key</c> header (for a gateway or a server that asks for one).
/// </summary>
public sealed class SimServiceClient : IDisposable
{
    private readonly HttpClient _http;

    public SimServiceClient(Uri server, string? apiKey, TimeSpan timeout) : this(server, apiKey, timeout, null) { }

    /// <summary>The client over <paramref name="handler"/> (tests: a server's answers made up); null: the network.</summary>
    internal SimServiceClient(Uri server, string? apiKey, TimeSpan timeout, HttpMessageHandler? handler)
    {
        server = Root(server);
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = server;
        _http.Timeout = timeout;
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("simservice-cli", typeof(SimServiceClient).Assembly.GetName().Version?.ToString(3)));
        if (apiKey is not null) _http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        Server = new Uri(Shown(server.AbsoluteUri));
    }

    /// <summary>The server's root as the tool prints it (summary line, reports, errors): any user info replaced by <c>***</c>.</summary>
    public Uri Server { get; }

    /// <summary>
    /// A URL to print: the user info of its authority (<c>user:password@</c>) replaced by <c>***@</c>, so that a --server URL
    /// with credentials does not land in a CI log or a report; also for a --server value that is not a URL at all.
    /// </summary>
    internal static string Shown(string url) => UserInfo.Replace(url, "$1***@");

    private static readonly System.Text.RegularExpressions.Regex UserInfo =
        new(@"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// The server's root: a URL ending in <c>/api/v1</c> (README's <c>$B</c>, the API's base) is taken for the root before it,
    /// since the tool's paths start with <c>api/v1/</c> themselves — it used to post to …/api/v1/api/v1/scenarios/run and
    /// report "has no POST /api/v1/scenarios/run (a SimService server older than this tool?)".
    /// </summary>
    internal static Uri Root(Uri server)
    {
        var path = server.AbsolutePath.TrimEnd('/');
        return path.EndsWith("/api/v1", StringComparison.OrdinalIgnoreCase) ? new Uri(server, path[..^"api/v1".Length]) : server;
    }

    /// <summary>
    /// A 404 to one of the tool's requests: the URL that answered it, and what --server should be. A server URL with a
    /// path of its own (…/swagger, a page of the service) is most likely not the service's base, so that is said
    /// first; at a bare host:port it is another program, or a SimService older than the tool.
    /// </summary>
    internal string NotFound(string path)
    {
        var url = new Uri(Server, path.Split('?')[0]);
        var root = new UriBuilder(Server) { Path = "/" }.Uri;
        var why = Server.AbsolutePath == "/"
            ? "not a SimService server, or one older than this tool"
            : $"--server takes the service's base URL, such as {root} (or {root}api/v1), not a page of it";
        return $"POST {url} answered 404 Not Found: {why}";
    }

    /// <summary>Runs a scenario document: 200 is a run (passed or not), 400 an invalid document with each problem's JSON path.</summary>
    public async Task<RunOutput> RunScenarioAsync(string json, CancellationToken cancellationToken)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await RunAsync("api/v1/scenarios/run", content, cancellationToken);
    }

    /// <summary>Runs a packetdrill script (text/plain): the same answer as a scenario run; 400 problems are keyed by line and column.</summary>
    public async Task<RunOutput> RunPacketdrillAsync(string script, string fileName, CancellationToken cancellationToken)
    {
        using var content = new StringContent(script, Encoding.UTF8, "text/plain");
        return await RunAsync($"api/v1/packetdrill/run?name={Uri.EscapeDataString(fileName)}", content, cancellationToken);
    }

    private async Task<RunOutput> RunAsync(string path, HttpContent content, CancellationToken cancellationToken)
    {
        var (status, body, reason) = await SendAsync(HttpMethod.Post, path, content, cancellationToken, fileRefusals: true);
        if (status == HttpStatusCode.NotFound) throw new ServerUnavailableException(NotFound(path));
        // The server refused this file's run (a quota, its run-time limit, a body too large): the file's error, the batch goes on.
        if (status is HttpStatusCode.Forbidden or HttpStatusCode.Conflict or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.UnprocessableEntity)
            return RunOutput.Refused(Refusal(status, reason, body));
        using var document = Json(body, path);
        var root = document.RootElement;
        if (status == HttpStatusCode.BadRequest && root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            return RunOutput.Invalid([.. errors.EnumerateObject().SelectMany(e => e.Value.EnumerateArray().Select(m => new Problem(e.Name, m.GetString() ?? "")))]);
        if (status != HttpStatusCode.OK) throw Unexpected($"POST /{path}", status, root);
        try
        {
            return new RunOutput(true, root.GetProperty("passed").GetBoolean(),
                [.. root.GetProperty("checks").EnumerateArray().Select(c => new CheckOutcome(c.GetProperty("passed").GetBoolean(),
                    Text(c, "kind"), Text(c, "path"), Text(c, "expected"), Text(c, "actual"), Text(c, "at"), c.GetProperty("atNs").GetInt64()))],
                [.. root.GetProperty("errors").EnumerateArray().Select(e => new Problem(Text(e, "path"), Text(e, "message")))],
                Text(root, "simulationId"), root.GetProperty("nowNs").GetInt64(), root.GetProperty("journalEvents").GetInt64());
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // A 200 of another program (a gateway's {"ok":true}, a member of another type): it was an unhandled exception, exit 134 (tester36 MEDIUM-3).
            throw Foreign(path, "JSON that is not a run's result");
        }
    }

    /// <summary>A simulation as a scenario document (JSON text), or the reason the server gave for not exporting it.</summary>
    public async Task<(string? Document, string? Refusal)> ExportAsync(string simulationId, CancellationToken cancellationToken)
    {
        var path = $"api/v1/simulations/{Uri.EscapeDataString(simulationId)}/export";
        var (status, body, _) = await SendAsync(HttpMethod.Get, path, null, cancellationToken);
        using var document = Json(body, path);
        // Only a scenario document is saved: a proxy's login page or another program's JSON was written as the file (tester36).
        if (status == HttpStatusCode.OK)
            return document.RootElement is { ValueKind: JsonValueKind.Object } scenario && scenario.TryGetProperty("hosts", out _) && scenario.TryGetProperty("steps", out _)
                ? (body, null)
                : throw Foreign(path, "JSON that is not a scenario document");
        if (status is HttpStatusCode.NotFound or HttpStatusCode.Conflict or HttpStatusCode.BadRequest)
            return (null, $"{(int)status} {Detail(document.RootElement)}");
        throw Unexpected($"GET /{path}", status, document.RootElement);
    }

    /// <summary>A binary output of a simulation (a capture, a diagram), or why the server did not give it.</summary>
    public async Task<(byte[]? Bytes, string? Why)> GetBytesAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(path, cancellationToken);
            return response.IsSuccessStatusCode
                ? (await response.Content.ReadAsByteArrayAsync(cancellationToken), null)
                : (null, $"{Server} answered GET /{path} with {(int)response.StatusCode}");
        }
        catch (HttpRequestException e)
        {
            throw new ServerUnavailableException($"cannot reach {Server}: {e.Message}");
        }
    }

    /// <summary>Bodies larger than this wait for the server's 100 Continue (a socket's send buffer takes a smaller one at once).</summary>
    internal const int ExpectContinueAbove = 64 * 1024;

    /// <summary>How many times a request the server answered "busy, retry" (429 or 503 with Retry-After) is sent again.</summary>
    private const int BusyRetries = 6;

    /// <summary>Where the tool says it waits for a busy server (its standard error); null: it waits without a word.</summary>
    public TextWriter? Notices { get; set; }

    /// <summary>
    /// How long to wait before sending a busy request again: Retry-After's seconds or date (a date past is no wait), or null —
    /// the busy answer stands — when it names no time or a wait longer than --timeout. Any wait was obeyed: 3,600 s six
    /// times over without a word, and 9,999,999 s crashed <c>Task.Delay</c>, exit 134 (tester36 MEDIUM-4).
    /// </summary>
    internal TimeSpan? BusyWait(RetryConditionHeaderValue? retryAfter)
    {
        if (RetryWait(retryAfter, DateTimeOffset.UtcNow) is not { } w) return null;
        return w <= _http.Timeout ? w : null;
    }

    /// <summary>
    /// The wait a Retry-After names at <paramref name="now"/>: its seconds, or the time to its date rounded up to a whole
    /// second, none for a date past. An HTTP date names a whole second (RFC 9110 §5.6.7: the server's instant with its
    /// fraction dropped), so the time it meant lies up to a second after it; the wait was the raw difference, said as
    /// "4.9993457 s" and up to a second short of what the server asked (tester37b LOW-9).
    /// </summary>
    internal static TimeSpan? RetryWait(RetryConditionHeaderValue? retryAfter, DateTimeOffset now) =>
        retryAfter?.Delta ?? (retryAfter?.Date is { } date ? TimeSpan.FromSeconds(Math.Max(0, Math.Ceiling((date - now).TotalSeconds))) : null);

    /// <summary>Why a busy answer stands: the retries spent, no usable Retry-After, or a wait past --timeout.</summary>
    private string NotRetried(HttpResponseMessage response, int attempt)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (attempt >= BusyRetries && BusyWait(retryAfter) is not null) return $"still busy after {BusyRetries} waits";
        if (retryAfter is null)
            return response.Headers.NonValidated.TryGetValues("Retry-After", out var raw)
                ? $"its Retry-After '{string.Join(", ", raw)}' names no time" : "it named no Retry-After";
        var wait = RetryWait(retryAfter, DateTimeOffset.UtcNow)!.Value;
        return $"its Retry-After of {Seconds(wait)} s is longer than --timeout ({Seconds(_http.Timeout)} s)";
    }

    /// <summary>
    /// An answer's body as text, at most <see cref="InputFiles.MaxBytes"/> of it (the most the tool reads of a file, so an export it
    /// saves can be run): a longer answer stops the tool (a 150 MB answer was read whole, 1.4 GB of memory: tester36).
    /// </summary>
    private async Task<string> BoundedText(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var bytes = new MemoryStream();
        var buffer = new byte[81920];
        for (int read; (read = await stream.ReadAsync(buffer, cancellationToken)) > 0;)
        {
            if (bytes.Length + read > InputFiles.MaxBytes) throw Foreign(path, $"more than {InputFiles.Limit}, the most the tool reads of an answer");
            bytes.Write(buffer, 0, read);
        }
        return Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
    }

    /// <summary>
    /// Sends a request: a refused key (401, a 403 of the key's type) throws, as does any other 403 unless
    /// <paramref name="fileRefusals"/> (a run: a quota refuses that file only).
    /// </summary>
    private async Task<(HttpStatusCode Status, string Body, string? Reason)> SendAsync(HttpMethod method, string path, HttpContent? content,
        CancellationToken cancellationToken, bool fileRefusals = false)
    {
        try
        {
            // A 429 or 503 with Retry-After means nothing ran (the server waited behind other work, or was rebuilding or
            // stopping): the same request is sent again after the time it names, a few times, before the answer stands.
            var body = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken);
            for (int attempt = 0; ; attempt++)
            {
                using var request = new HttpRequestMessage(method, path);
                if (body is not null)
                {
                    request.Content = new ByteArrayContent(body);
                    foreach (var header in content!.Headers) request.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                    // A large body is sent after the server's 100 Continue: one that refuses it by its headers (a 413 past its body
                    // limit) answers before the body is sent — it closed the connection mid-upload, and the tool saw a broken
                    // connection instead of the 413 and stopped the whole batch (tester37 MEDIUM-4). A small one is sent at once:
                    // a hop that never sends 100 held every body a second (review37b S-2), and the socket takes it whole anyway.
                    if (body.Length > ExpectContinueAbove) request.Headers.ExpectContinue = true;
                }
                // --timeout bounds the answer as a whole: HttpClient.Timeout stops at the headers once the body is read as a stream,
                // so a server that sent its headers and then a byte a second held the tool without end (review36 M-1).
                using var answered = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                answered.CancelAfter(_http.Timeout);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, answered.Token);
                if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
                {
                    var busy = $"simservice: {Server} is busy ({(int)response.StatusCode}); ";
                    if (BusyWait(response.Headers.RetryAfter) is { } wait && attempt < BusyRetries)
                    {
                        Notices?.WriteLine($"{busy}sending {method} /{path.Split('?')[0]} again in {Seconds(wait)} s (Retry-After; {attempt + 1} of {BusyRetries})");
                        await Task.Delay(wait, cancellationToken);
                        continue;
                    }
                    // Why it is not sent again, so a skipped wait is not taken for a server that named none (tester37 LOW-4).
                    Notices?.WriteLine($"{busy}{method} /{path.Split('?')[0]} not sent again: {NotRetried(response, attempt)}");
                }
                var text = await BoundedText(response, path, answered.Token);
                if (response.StatusCode is HttpStatusCode.Unauthorized
                    || response.StatusCode == HttpStatusCode.Forbidden && (!fileRefusals || ProblemType(text) == UnauthorizedType))
                    throw new ServerUnavailableException(Refusal(response.StatusCode, response.ReasonPhrase, text));
                return (response.StatusCode, text, response.ReasonPhrase);
            }
        }
        catch (HttpRequestException e)
        {
            throw new ServerUnavailableException($"cannot reach {Server}: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ServerUnavailableException($"{Server} did not answer within {Seconds(_http.Timeout)} s (--timeout)");
        }
    }

    /// <summary>The problem type of a refused API key (401, or a 403 of that type).</summary>
    internal const string UnauthorizedType = "urn:simservice:problem:unauthorized";

    /// <summary>
    /// What a 401/403 says: a refused key (401, or a 403 whose problem type is the key's) asks for --api-key; any other 403
    /// — a quota, a cross-site refusal — is the server's own problem title and detail.
    /// </summary>
    internal string Refusal(HttpStatusCode status, string? reason, string body)
    {
        var (type, title, detail) = ProblemFields(body);
        var said = string.Join(" ", new[] { title, detail }.Where(x => !string.IsNullOrEmpty(x)));
        var head = $"{Server} refused the request ({(int)status} {reason})";
        if (status == HttpStatusCode.Unauthorized || type == UnauthorizedType)
            return $"{head}: check --api-key" + (said.Length > 0 ? $" ({said})" : "");
        return said.Length > 0 ? $"{head}: {said}" : head;
    }

    /// <summary>A problem document's type, title and detail (nulls when the body is not one: the status says it).</summary>
    private static (string? Type, string? Title, string? Detail) ProblemFields(string body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            var root = problem.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return default;
            return (root.TryGetProperty("type", out var t) ? t.GetString() : null, root.TryGetProperty("title", out var ti) ? ti.GetString() : null,
                root.TryGetProperty("detail", out var d) ? d.GetString() : null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return default;
        }
    }

    private static string? ProblemType(string body) => ProblemFields(body).Type;

    /// <summary>A number of seconds as the user wrote it (0.0000001, not "0").</summary>
    internal static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.#######", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Deletes a simulation (after its file passed, unless --keep): null, or why it was not deleted.</summary>
    public async Task<string?> DeleteSimulationAsync(string simulationId, CancellationToken cancellationToken)
    {
        var path = $"api/v1/simulations/{Uri.EscapeDataString(simulationId)}";
        var (status, _, _) = await SendAsync(HttpMethod.Delete, path, null, cancellationToken);
        return status is HttpStatusCode.NoContent or HttpStatusCode.OK or HttpStatusCode.NotFound ? null : $"{Server} answered DELETE /{path} with {(int)status}";
    }

    private JsonDocument Json(string body, string path)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw Foreign(path, "something that is not JSON");
        }
    }

    private ServerUnavailableException Foreign(string path, string what) => new($"{Server} answered /{path} with {what}: is it a SimService server?");

    private ServerUnavailableException Unexpected(string request, HttpStatusCode status, JsonElement problem) =>
        new($"{Server} answered {request} with {(int)status}: {Detail(problem)}");

    private static string Detail(JsonElement problem) =>
        problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("detail", out var d) && d.GetString() is { } detail ? detail
        : problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("title", out var t) && t.GetString() is { } title ? title
        : "no detail";

    private static string Text(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? "" : e.GetProperty(name).GetString() ?? "";

    public void Dispose() => _http.Dispose();
}
