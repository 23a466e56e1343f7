using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Seeded fuzzing of every operation of the real API process: bodies mutated from each operation's own
/// OpenAPI example (malformed JSON, wrong types, huge numbers, deep nesting, unknown fields, invalid UTF-8,
/// lone surrogates, impossible times), random paths, methods and queries, and raw HTTP that Kestrel refuses
/// itself. No response may be a 5xx, every 4xx must be a problem document, and the process must be alive and
/// ready at the end.
/// </summary>
[Collection(RealProcessCollection.Name)]
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261203;
    private const int Requests = 10_400;
    private const int Workers = 4;

    [Fact]
    public async Task RunningApi_TenThousandFuzzedRequests_NoServerErrorAndEveryErrorAProblem()
    {
        await ApiProcess.OnTemporarySqliteAsync("fuzz", async api =>
        {
            using var client = api.CreateClient();
            var operations = await OperationsAsync(client);
            var simulations = new[] { await PreparedSimulationAsync(client), await PreparedSimulationAsync(client) };

            var tally = new Tally();
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
            {
                var fuzzer = new Fuzzer(new Random(Seed + worker), operations, simulations);
                for (int i = worker; i < Requests; i += Workers)
                {
                    var request = fuzzer.Next();
                    var response = request.Raw is { } raw ? await SendRawAsync(api.BaseAddress, raw) : await SendAsync(client, request);
                    tally.Add(request, response);
                }
            })));

            Assert.False(api.HasExited, "the API process died");
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
            Figures.Report(output, $"fuzz: {tally.Total} requests (seed {Seed}; {tally.Raw} raw HTTP) against a real API process: "
                + $"{tally.ServerErrors} responses >= 500, {tally.ClientErrors} 4xx ({tally.Problems} problem documents), {tally.Successes} 2xx, "
                + $"{tally.HeadsOfGets} HEADs of GET operations (none 405, none with a body); "
                + "process alive and ready");
            Assert.True(tally.Failures.Count == 0, $"{tally.Failures.Count} bad responses, first ones:\n{string.Join("\n", tally.Failures.DistinctBy(f => f[..Math.Min(f.Length, 60)]).Take(40))}");
            Assert.Equal(0, tally.ServerErrors);
            Assert.True(tally.Total >= 10_000);
        }, new Dictionary<string, string?>
        {
            // The process compiles each path on its first request (tiered compilation off): at load 40 the set-up's first
            // command outlasted the 10 s default and was a 422 work-limit (the CI of 458b80e5). Not what this test is about.
            ["Limits:RequestSeconds"] = "120",
        });
    }

    private sealed record Operation(string Method, string Path, JsonNode? Example, string[] Query);

    private sealed record FuzzRequest(string Method, string Path, byte[]? Body, string? ContentType, string Kind, byte[]? Raw = null)
    {
        /// <summary>HEAD sent to a GET operation's path: answered as the GET is (never a 405), without a body.</summary>
        public bool HeadOfGet { get; init; }
    }

    private sealed record FuzzResponse(int Status, string? ContentType, string Body);

    /// <summary>Every operation of the running API, from its own OpenAPI document, with its request example.</summary>
    private static async Task<List<Operation>> OperationsAsync(HttpClient client)
    {
        var document = JsonNode.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"))!;
        var operations = new List<Operation>();
        foreach (var (path, methods) in document["paths"]!.AsObject())
            foreach (var (method, operation) in methods!.AsObject())
            {
                var example = operation!["requestBody"]?["content"]?["application/json"]?["example"];
                var query = operation["parameters"]?.AsArray().Where(p => (string?)p!["in"] == "query").Select(p => (string)p!["name"]!).ToArray() ?? [];
                operations.Add(new Operation(method.ToUpperInvariant(), path, example?.DeepClone(), query));
            }
        Assert.True(operations.Count > 30, "the OpenAPI document lists too few operations");
        return operations;
    }

    /// <summary>A simulation with two linked hosts, a listener and an established connection, for paths to name.</summary>
    private static async Task<Guid> PreparedSimulationAsync(HttpClient client)
    {
        var created = await client.PostAsync("/api/v1/simulations", Json("""{"name":"fuzz","profile":"linux-6","seed":7}"""));
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var setup = await client.PostAsync($"/api/v1/simulations/{id}/commands", Json("""
            {"commands":[{"type":"add-host","name":"client","address":"10.0.0.1"},{"type":"add-host","name":"server","address":"10.0.0.2"},
            {"type":"add-link","between":["client","server"],"delayNs":10000000},{"type":"call","call":"listen","host":"server","port":80},
            {"type":"call","call":"connect","host":"client","to":"server:80"},{"type":"advance","byNs":100000000}]}
            """));
        Assert.True(setup.IsSuccessStatusCode, $"the set-up's commands: {(int)setup.StatusCode} {await setup.Content.ReadAsStringAsync()}");
        return id;
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static async Task<FuzzResponse> SendAsync(HttpClient client, FuzzRequest request)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method),
            new Uri(client.BaseAddress!.GetLeftPart(UriPartial.Authority) + request.Path));
        if (request.Body is { } body)
        {
            message.Content = new ByteArrayContent(body);
            if (request.ContentType is { } type) message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        }
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(message);
        }
        catch (HttpRequestException exception)
        {
            return new FuzzResponse(-1, null, "no response: " + exception.Message);
        }
        using var _ = response;
        return new FuzzResponse((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Bytes on a fresh connection, for requests HttpClient would not send; the response is read to the close.</summary>
    private static async Task<FuzzResponse> SendRawAsync(Uri address, byte[] raw)
    {
        var text = await RawHttp.ExchangeAsync(address, raw);
        int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) || headEnd < 0) return new FuzzResponse(-1, null, text);
        var head = text[..headEnd].Split("\r\n");
        var contentType = head.Skip(1).Select(h => h.Split(':', 2)).Where(h => h[0].Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            .Select(h => h[1].Trim().Split(';')[0]).FirstOrDefault();
        var body = text[(headEnd + 4)..];
        if (head.Any(h => h.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))) body = Dechunk(body);
        return new FuzzResponse(int.Parse(head[0].Split(' ')[1]), contentType, Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(body)));
    }

    private static string Dechunk(string body)
    {
        var result = new StringBuilder();
        int at = 0;
        while (at < body.Length)
        {
            int lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (lineEnd < 0) break;
            int size = Convert.ToInt32(body[at..lineEnd], 16);
            if (size == 0) break;
            result.Append(body, lineEnd + 2, Math.Min(size, body.Length - lineEnd - 2));
            at = lineEnd + 2 + size + 2;
        }
        return result.ToString();
    }

    private sealed class Tally
    {
        public int Total, Raw, ServerErrors, ClientErrors, Problems, Successes, HeadsOfGets;
        public readonly List<string> Failures = [];

        public void Add(FuzzRequest request, FuzzResponse response)
        {
            lock (this)
            {
                Total++;
                if (request.Raw is not null) Raw++;
                var what = $"{request.Kind}: {request.Method} {Shorten(request.Path)} {Shorten(request.Body is null ? "" : Encoding.UTF8.GetString(request.Body))}"
                    + $" → {response.Status} {response.ContentType} {Shorten(response.Body)}";
                if (request.HeadOfGet) HeadsOfGets++;
                if (request.Method == "HEAD" && response.Body.Length > 0) Failures.Add("a body on HEAD: " + what);
                if (request.HeadOfGet && response.Status == 405) Failures.Add("HEAD of a GET operation refused: " + what);
                if (response.Status >= 500) ServerErrors++;
                if (response.Status is >= 200 and < 300) Successes++;
                if (response.Status is < 100 or >= 500) Failures.Add(what);
                if (response.Status is < 400 or >= 500) return;
                ClientErrors++;
                if (IsProblem(request, response)) Problems++;
                else Failures.Add("not a problem document: " + what);
            }
        }

        private static bool IsProblem(FuzzRequest request, FuzzResponse response)
        {
            if (response.ContentType != "application/problem+json") return false;
            if (request.Method == "HEAD") return true; // no body on HEAD (a body is a failure of its own): its content type says it
            try
            {
                return JsonNode.Parse(response.Body) is JsonObject problem && (int?)problem["status"] == response.Status
                    && problem["title"] is not null;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        private static string Shorten(string text) => text.Length <= 160 ? text : text[..160] + "…";
    }

    /// <summary>The request generator: one seeded sequence per worker.</summary>
    private sealed class Fuzzer(Random random, List<Operation> operations, Guid[] simulations)
    {
        private static readonly string[] HugeNumbers =
        [
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551616",
            "1e308", "1e400", "-1", "0", "1.5", "-0", "3155760000000000001", "2147483648", "4294967296", "65536", "1E+2", "200000",
        ];

        private static readonly string[] BadStrings =
        [
            "", " ", "x", "../../etc/passwd", "%00", "\u0000", "\u202e", "💥", new string('a', 5000), "null", "-1", "SO_LINGER",
            "linux-6", "client", "10.0.0.1", "999.999.999.999", "server:99999",
        ];

        private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "FOO"];

        public FuzzRequest Next()
        {
            int roll = random.Next(100);
            if (roll < 6) return RawRequest();
            if (roll < 12) return RandomPath();
            var operation = operations[random.Next(operations.Count)];
            var path = FillPath(operation.Path) + Query(operation);
            var method = random.Next(12) == 0 ? Methods[random.Next(Methods.Length)] : operation.Method;
            var (kind, body, type) = Body(operation);
            return new FuzzRequest(method, path, body, type, kind) { HeadOfGet = method == "HEAD" && operation.Method == "GET" };
        }

        private string FillPath(string template)
        {
            var parts = template.Split('/');
            for (int i = 0; i < parts.Length; i++)
            {
                if (!parts[i].StartsWith('{')) continue;
                parts[i] = parts[i] switch
                {
                    "{id}" => random.Next(10) switch
                    {
                        < 7 => simulations[random.Next(simulations.Length)].ToString(),
                        7 => RandomGuid().ToString(),
                        _ => PathJunk(),
                    },
                    "{host}" or "{from}" or "{to}" => random.Next(6) switch { < 2 => "client", < 4 => "server", _ => PathJunk() },
                    "{process}" => random.Next(3) == 0 ? PathJunk() : "app",
                    _ => random.Next(4) switch
                    {
                        0 => random.Next(1, 4).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        1 => HugeNumbers[random.Next(HugeNumbers.Length)],
                        2 => PathJunk(),
                        _ => "1",
                    },
                };
            }
            return string.Join('/', parts);
        }

        private Guid RandomGuid()
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            return new Guid(bytes);
        }

        private string PathJunk() => random.Next(9) switch
        {
            0 => "%00",
            1 => "%FF%FE",
            2 => "%ED%A0%80",
            3 => Uri.EscapeDataString(BadStrings[random.Next(BadStrings.Length)]),
            4 => new string('z', random.Next(1, 3000)),
            5 => "..%2F..%2F",
            6 => "%C3%28",
            7 => random.Next(3) switch { 0 => "a%1B%5B31mb", 1 => "del%7F", _ => "c1%C2%9B" }, // control characters in a name
            _ => Uri.EscapeDataString(RandomGuid().ToString("N")[..random.Next(1, 20)]),
        };

        private string Query(Operation operation)
        {
            if (operation.Query.Length == 0 || random.Next(3) != 0) return "";
            var pairs = operation.Query.Where(_ => random.Next(2) == 0)
                .Select(name => $"{name}={(random.Next(2) == 0 ? HugeNumbers[random.Next(HugeNumbers.Length)] : PathJunk())}");
            return "?" + string.Join('&', pairs.Append($"{PathJunk()}={PathJunk()}"));
        }

        private FuzzRequest RandomPath()
        {
            var segments = Enumerable.Range(0, random.Next(1, 7)).Select(_ => random.Next(3) == 0 ? PathJunk() : random.Next(4) switch
            {
                0 => "api",
                1 => "v1",
                2 => "simulations",
                _ => simulations[0].ToString(),
            });
            var (kind, body, type) = random.Next(2) == 0 ? ("random path", null, null) : Body(operations[random.Next(operations.Count)]);
            return new FuzzRequest(Methods[random.Next(Methods.Length - 1)], "/" + string.Join('/', segments), body, type, kind);
        }

        private (string Kind, byte[]? Body, string? Type) Body(Operation operation)
        {
            var example = operation.Example?.DeepClone() ?? new JsonObject { ["x"] = 1 };
            switch (random.Next(13))
            {
                case 11: return ("null in an array", Utf8(MutateArrayElement(example, () => random.Next(3) switch
                    {
                        0 => null,
                        1 => JsonValue.Create(""),
                        _ => JsonValue.Create("a\u0000b"),
                    }).ToJsonString()), "application/json");
                case 12: return ("long array", Utf8(LongArray(example).ToJsonString()), "application/json");
                case 0: return ("example", Utf8(example.ToJsonString()), "application/json");
                case 1:
                    var text = example.ToJsonString();
                    return ("malformed JSON", Utf8(random.Next(3) switch
                    {
                        0 => text[..random.Next(text.Length)],
                        1 => text.Insert(random.Next(text.Length), "{,]\"'\\"[random.Next(6)].ToString()),
                        _ => "{\"a\":" + new string('[', random.Next(1, 5)),
                    }), "application/json");
                case 2: return ("wrong types", Utf8(Mutate(example, WrongType).ToJsonString()), "application/json");
                case 3: return ("huge numbers", Utf8(Mutate(example, _ => JsonNode.Parse(HugeNumbers[random.Next(HugeNumbers.Length)].Replace("1e400", "1e308", StringComparison.Ordinal)), replaceNumbersOnly: true).ToJsonString()
                    .Replace("1E+308", random.Next(2) == 0 ? "1e400" : "1E+308", StringComparison.Ordinal)), "application/json");
                case 4:
                    int depth = random.Next(2) == 0 ? random.Next(60, 70) : random.Next(500, 5000);
                    return ("deep nesting", Utf8(random.Next(2) == 0
                        ? new string('[', depth) + new string(']', depth)
                        : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)), "application/json");
                case 5:
                    if (example is JsonObject unknown) unknown["unknown" + random.Next(100)] = random.Next(2) == 0 ? 1 : new JsonObject();
                    return ("unknown field", Utf8(example.ToJsonString()), "application/json");
                case 6: return ("invalid UTF-8", InvalidUtf8(example.ToJsonString()), "application/json");
                case 7: return ("lone surrogate", Utf8(LoneSurrogate(example.ToJsonString())), "application/json");
                case 8: return ("impossible time", Utf8(ImpossibleTime(example).ToJsonString()), "application/json");
                case 9:
                    return random.Next(5) switch
                    {
                        0 => ("form post", Utf8("a=1&b=2"), "application/x-www-form-urlencoded"),
                        1 => ("text body", Utf8(example.ToJsonString()), "text/plain"),
                        2 => ("empty body", [], "application/json"),
                        3 => ("JSON null", Utf8("null"), "application/json"),
                        _ => ("no content type", Utf8(example.ToJsonString()), null),
                    };
                default: return ("example with bad values", Utf8(Mutate(example, _ => JsonValue.Create(BadStrings[random.Next(BadStrings.Length)])).ToJsonString()), "application/json");
            }
        }

        private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

        private JsonNode? WrongType(JsonNode? node) => random.Next(6) switch
        {
            0 => JsonValue.Create("string"),
            1 => new JsonArray(1, 2),
            2 => new JsonObject { ["a"] = 1 },
            3 => JsonValue.Create(true),
            4 => null,
            _ => JsonValue.Create(random.Next()),
        };

        /// <summary>Replaces one element of a randomly chosen array of the tree (a workload's <c>clients</c>: <c>[null]</c> was a 500).</summary>
        private JsonNode MutateArrayElement(JsonNode root, Func<JsonNode?> make)
        {
            var slots = new List<(JsonNode Parent, object Key, JsonNode? Value)>();
            Collect(root, slots);
            var elements = slots.Where(slot => slot.Parent is JsonArray).ToList();
            if (elements.Count == 0) return Mutate(root, _ => new JsonArray(make()));
            var (parent, key, _) = elements[random.Next(elements.Count)];
            ((JsonArray)parent)[(int)key] = make();
            return root;
        }

        /// <summary>One array of the tree repeated to 1,000–5,000 elements (a workload's clients were kept per entry: 380,000 ran 300 s).</summary>
        private JsonNode LongArray(JsonNode root)
        {
            var slots = new List<(JsonNode Parent, object Key, JsonNode? Value)>();
            Collect(root, slots);
            var arrays = slots.Where(slot => slot.Value is JsonArray { Count: > 0 }).ToList();
            if (arrays.Count == 0) return root;
            var array = (JsonArray)arrays[random.Next(arrays.Count)].Value!;
            var first = array[0];
            for (int n = random.Next(1_000, 5_000); array.Count < n;) array.Add(first?.DeepClone());
            return root;
        }

        /// <summary>Replaces one randomly chosen value of the tree (a number, when asked) with what <paramref name="make"/> gives.</summary>
        private JsonNode Mutate(JsonNode root, Func<JsonNode?, JsonNode?> make, bool replaceNumbersOnly = false)
        {
            var slots = new List<(JsonNode Parent, object Key, JsonNode? Value)>();
            Collect(root, slots);
            var candidates = replaceNumbersOnly ? slots.Where(s => s.Value is JsonValue v && v.GetValueKind() == JsonValueKind.Number).ToList() : slots;
            if (candidates.Count == 0) candidates = slots;
            if (candidates.Count == 0) return root;
            for (int n = random.Next(1, 3); n > 0; n--)
            {
                var (parent, key, value) = candidates[random.Next(candidates.Count)];
                var replacement = make(value);
                if (parent is JsonObject o) o[(string)key] = replacement;
                else ((JsonArray)parent)[(int)key] = replacement;
            }
            return root;
        }

        private static void Collect(JsonNode? node, List<(JsonNode, object, JsonNode?)> slots)
        {
            if (node is JsonObject o)
                foreach (var (key, value) in o.ToList()) { slots.Add((o, key, value)); Collect(value, slots); }
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++) { slots.Add((a, i, a[i])); Collect(a[i], slots); }
        }

        private byte[] InvalidUtf8(string json)
        {
            byte[][] bad = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82]];
            var bytes = Encoding.UTF8.GetBytes(json).ToList();
            var quotes = bytes.Select((b, i) => (b, i)).Where(x => x.b == (byte)'"').Select(x => x.i).ToList();
            int at = quotes.Count > 0 ? quotes[random.Next(quotes.Count)] + 1 : 0;
            bytes.InsertRange(Math.Min(at, bytes.Count), bad[random.Next(bad.Length)]);
            return [.. bytes];
        }

        private string LoneSurrogate(string json)
        {
            string[] lone = [@"\ud800", @"\udfff", @"\ud800\u0041", @"\udc00\ud800", @"\uDBFF"];
            var quotes = json.Select((c, i) => (c, i)).Where(x => x.c == '"').Select(x => x.i).ToList();
            int at = quotes.Count > 0 ? quotes[random.Next(quotes.Count)] + 1 : 0;
            return json.Insert(Math.Min(at, json.Length), lone[random.Next(lone.Length)]);
        }

        private JsonNode ImpossibleTime(JsonNode example)
        {
            string[] fields = ["byNs", "toNs", "maxNs", "delayNs", "fromNs", "eventBudget", "timeoutNs", "lingerNs"];
            string[] values = ["9223372036854775807", "3155760000000000001", "3155760000000000000", "-1", "-9223372036854775808", "0"];
            if (example is JsonObject o)
            {
                var field = fields[random.Next(fields.Length)];
                o.Remove("byNs"); o.Remove("toNs"); o.Remove("untilIdle");
                o[field] = JsonNode.Parse(values[random.Next(values.Length)]);
                if (field is "maxNs") o["untilIdle"] = true;
                if (random.Next(3) == 0 && o["commands"] is JsonArray commands)
                    commands.Add(new JsonObject { ["type"] = "advance", ["byNs"] = JsonNode.Parse(values[random.Next(values.Length)]) });
            }
            return example;
        }

        private FuzzRequest RawRequest()
        {
            var id = simulations[0];
            string[] lines =
            [
                $"GET /api/v1/simulations/{id}/%00 HTTP/1.1",
                $"GET /api/v1/simulations/%00 HTTP/1.1",
                $"GET /{new string('a', 9000)} HTTP/1.1",
                $"GET /api/v1/simulations?{new string('q', 20000)} HTTP/1.1",
                "G@T / HTTP/1.1",
                "GET / HTTP/9.9",
                "GET  HTTP/1.1",
                "GET /\u0001 HTTP/1.1",
                $"POST /api/v1/simulations/{id}/advance HTTP/1.1",
                "\u00ff\u00fe / HTTP/1.1",
                "GET /api/v1/simulations HTTP/1.1\nX",
                // HEAD through Kestrel itself (HttpClient reads no body for HEAD, whatever is sent): a GET's answer, a 404 and
                // a 405 problem, each without a body. Their headers are well formed: the problem Kestrel's own rejection of
                // a malformed request gets (RejectedRequestProblems) is written for every method.
                $"HEAD /api/v1/simulations/{id}/export HTTP/1.1",
                $"HEAD /api/v1/simulations/{Guid.Empty}/clock HTTP/1.1",
                $"HEAD /api/v1/simulations/{id}/replay HTTP/1.1",
            ];
            var line = lines[random.Next(lines.Length)];
            var headers = new StringBuilder("Host: 127.0.0.1\r\nConnection: close\r\n");
            switch (line.StartsWith("HEAD ", StringComparison.Ordinal) ? -1 : random.Next(5))
            {
                case 0: headers.Append("X-Big: ").Append('h', 40_000).Append("\r\n"); break;
                case 1: headers.Append("Bad Header: x\r\n"); break;
                case 2: headers.Append("Content-Length: 5\r\nContent-Length: 6\r\n"); break;
                case 3: headers.Append("Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"); break;
            }
            var body = line.StartsWith("POST", StringComparison.Ordinal)
                ? "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"byNs\":\"\u00ff\"}"
                : "\r\n";
            if (headers.ToString().Contains("chunked", StringComparison.Ordinal)) body = "\r\nzz\r\n{}\r\n0\r\n\r\n";
            return new FuzzRequest(line.StartsWith("HEAD ", StringComparison.Ordinal) ? "HEAD" : "RAW", line.Length > 80 ? line[..80] : line, null, null, "raw HTTP",
                Encoding.Latin1.GetBytes(line + "\r\n" + headers + body));
        }
    }
}
