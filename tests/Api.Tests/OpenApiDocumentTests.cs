using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests;

/// <summary>
/// The served OpenAPI document is a contract: it must equal <c>openapi/simservice.v1.json</c>. After an
/// intended API change, refresh the file with <c>UPDATE_OPENAPI=1 dotnet test tests/Api.Tests --filter OpenApiDocumentTests</c>
/// and commit it with the change.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OpenApiDocumentTests(ApiHosts hosts)
{
    private const string CommittedPath = "openapi/simservice.v1.json";

    private static readonly JsonSerializerOptions Canonical = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    [Fact]
    public async Task ServedDocument_MatchesTheCommittedFile()
    {
        // Fetched from the documented default instance: the served document names the instance that served it.
        var served = Normalise(await hosts.Client(DatabaseProvider.Sqlite, new Uri("http://localhost:5080")).GetStringAsync("/swagger/v1/swagger.json"));
        var path = Path.Combine(RepositoryRoot(), CommittedPath);

        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1")
            await File.WriteAllTextAsync(path, served);

        var committed = File.Exists(path) ? Normalise(await File.ReadAllTextAsync(path)) : "";
        Assert.True(committed == served,
            $"The served OpenAPI document differs from {CommittedPath}. If the change is intended, run " +
            "UPDATE_OPENAPI=1 dotnet test tests/Api.Tests --filter OpenApiDocumentTests and commit the file.");
    }

    /// <summary>
    /// The batch's commands are described in one line: the summary written over two lines came out with the doc comment's
    /// line break and the source's indentation ("…stops\n            is applied…").
    /// </summary>
    [Fact]
    public async Task BatchCommandsDescription_CarriesNoSourceIndentation()
    {
        var document = JsonNode.Parse(await hosts.Client(DatabaseProvider.Sqlite).GetStringAsync("/swagger/v1/swagger.json"))!;

        var description = document["components"]!["schemas"]!["ApplyCommandsRequest"]!["properties"]!["commands"]!["description"]!.GetValue<string>();

        Assert.DoesNotContain("\n", description);
    }

    /// <summary>
    /// A workload outcome's counts say what they count (tester39 LOW-6): <c>finished</c> connections, <c>unfinished</c> sides —
    /// 10 for 5 connections its drain limit ended all open, which the bare names read as 10 connections of 5.
    /// </summary>
    [Fact]
    public async Task WorkloadOutcome_FinishedCountsConnections_UnfinishedCountsSides()
    {
        var document = JsonNode.Parse(await hosts.Client(DatabaseProvider.Sqlite).GetStringAsync("/swagger/v1/swagger.json"))!;
        var properties = document["components"]!["schemas"]!["WorkloadResult"]!["properties"]!;

        Assert.StartsWith("Connections whose client side has ended", properties["finished"]!["description"]?.GetValue<string>());
        Assert.StartsWith("Sides still open, not connections", properties["unfinished"]!["description"]?.GetValue<string>());
        // Every description the filter gives lands where it says (review39b N-5: one whose field was renamed was dropped silently).
        Assert.All(Api.Infrastructure.OpenApiDocumentFilter.FieldDescriptions, d =>
            Assert.Equal(d.Value, document["components"]!["schemas"]![d.Key.Schema]?["properties"]?[d.Key.Field]?["description"]?.GetValue<string>()));
    }

    /// <summary>Every operation is named (its operationId is the endpoint's WithName), summarised and, when it has a body, exemplified.</summary>
    [Fact]
    public async Task EveryOperation_HasAnOperationIdASummaryAndExamples()
    {
        var document = JsonNode.Parse(await hosts.Client(DatabaseProvider.Sqlite).GetStringAsync("/swagger/v1/swagger.json"))!;
        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(op => (Name: $"{op.Key.ToUpperInvariant()} {path.Key}", Operation: op.Value!)))
            .ToList();

        Assert.True(operations.Count >= 40, $"expected every endpoint, found {operations.Count}");
        Assert.All(operations, o =>
        {
            Assert.False(string.IsNullOrEmpty((string?)o.Operation["operationId"]), $"{o.Name} has no operationId");
            Assert.False(string.IsNullOrEmpty((string?)o.Operation["summary"]), $"{o.Name} has no summary");
            var bodies = (o.Operation["requestBody"]?["content"]?.AsObject().Select(c => c.Value) ?? [])
                .Concat(o.Operation["responses"]!.AsObject().Where(r => r.Key.StartsWith('2')).SelectMany(r => r.Value!["content"]?.AsObject().Select(c => c.Value) ?? []))
                .ToList();
            Assert.True(bodies.Count == 0 || bodies.Any(b => b!["example"] is not null), $"{o.Name} has no example");
        });
        Assert.Equal(operations.Count, operations.Select(o => (string?)o.Operation["operationId"]).Distinct().Count());
    }

    /// <summary>
    /// The problems an operation's kind can answer are listed, as problems with an example (tester37b MEDIUM-2: GETs answered
    /// 400 for an unknown query parameter, workloads and advances 422, bodies 413 and 415, none of them listed): 400 and 503 on
    /// every operation (any may be sent an unknown query parameter, or wait behind a rebuild), 408, 413 and 415 on every one
    /// with a body, 422 on every read and on the operations whose work is bounded.
    /// </summary>
    [Fact]
    public async Task EveryOperation_ListsTheProblemsItsKindCanAnswer()
    {
        var document = JsonNode.Parse(await hosts.Client(DatabaseProvider.Sqlite).GetStringAsync("/swagger/v1/swagger.json"))!;
        string[] bounded = ["POST /api/v1/simulations/{id}/advance", "POST /api/v1/simulations/{id}/commands", "POST /api/v1/simulations/{id}/workloads",
            "POST /api/v1/simulations/{id}/connections", "POST /api/v1/scenarios/run", "POST /api/v1/packetdrill/run"];

        var missing = (from path in document["paths"]!.AsObject()
                       from op in path.Value!.AsObject()
                       let name = $"{op.Key.ToUpperInvariant()} {path.Key}"
                       let responses = op.Value!["responses"]!.AsObject()
                       from status in new[] { "400", "503" }
                           .Concat(op.Value["requestBody"] is null ? [] : ["408", "413", "415"])
                           .Concat(op.Key == "get" || bounded.Contains(name) ? ["422"] : [])
                       where responses[status]?["content"]?["application/problem+json"] is not { } problem
                           || (string?)problem["schema"]?["$ref"] != "#/components/schemas/ProblemDetails" || problem["example"]?["status"] is null
                       select $"{name} {status}").ToList();

        Assert.Empty(missing);
    }

    /// <summary>
    /// Swagger UI's "Try it out" sends to the document's server: a service started with --urls on another port named
    /// http://localhost:5080 and sent there. The served document names the origin it was fetched from when that is one the
    /// service answers on (the rule of Location headers, AbsoluteLocations), and only the path base for a foreign Host header.
    /// </summary>
    [Theory]
    [InlineData("http://localhost:5080", "http://localhost:5080")]
    [InlineData("http://localhost:6123", "http://localhost:6123")]
    [InlineData("http://sim.example:8080", "/")]
    public async Task ServedDocument_ServerIsTheInstanceItWasFetchedFrom(string origin, string server)
    {
        var document = JsonNode.Parse(await hosts.Client(DatabaseProvider.Sqlite, new Uri(origin)).GetStringAsync("/swagger/v1/swagger.json"))!;

        var servers = document["servers"]!.AsArray();
        Assert.Equal([server], servers.Select(s => (string?)s!["url"]));
    }

    [Fact]
    public async Task SwaggerUi_IsServed()
    {
        var response = await hosts.Client(DatabaseProvider.Sqlite).GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    private static string Normalise(string json) =>
        JsonNode.Parse(json)!.ToJsonString(Canonical).ReplaceLineEndings("\n") + "\n";

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "SimService.sln"))) return directory.FullName;
        throw new InvalidOperationException("SimService.sln not found above the test output folder.");
    }
}
