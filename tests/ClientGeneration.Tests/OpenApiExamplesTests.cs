using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace SimService.ClientGeneration.Tests;

/// <summary>
/// Every example in openapi/simservice.v1.json (request bodies, responses, problems, properties) is valid
/// against the schema it illustrates, checked by a JSON Schema validator (JsonSchema.Net) after the
/// OpenAPI 3.0 dialect is rewritten as JSON Schema 2020-12.
/// </summary>
public sealed class OpenApiExamplesTests
{
    private static readonly JsonObject Document = JsonNode.Parse(File.ReadAllText(DocumentPath()))!.AsObject();

    public static TheoryData<string> Examples() => [.. FindExamples().Select(e => e.Where)];

    [Theory, MemberData(nameof(Examples))]
    public void Example_ValidatesAgainstItsSchema(string where)
    {
        var (_, schema, example) = FindExamples().Single(e => e.Where == where);
        var root = ToJsonSchema(schema.DeepClone())!.AsObject();
        root["$defs"] = ToJsonSchema(Document["components"]!["schemas"]!.DeepClone());

        var result = JsonSchema.FromText(root.ToJsonString())
            .Evaluate(JsonDocument.Parse(example.ToJsonString()).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });

        var errors = (result.Details ?? []).Where(d => d.Errors is not null)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"));
        Assert.True(result.IsValid, $"{where}: {string.Join("; ", errors)}\n{example.ToJsonString()}");
    }

    [Fact]
    public void Document_HasExamplesOfEveryKind()
    {
        var examples = FindExamples().ToList();

        Assert.Contains(examples, e => e.Where.Contains(" request", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Where.Contains(" 412", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Where.StartsWith("schema ", StringComparison.Ordinal));
        Assert.True(examples.Count >= 100, $"only {examples.Count} examples");
    }

    [Fact]
    public void Document_GeneratorEssentials_ArePresent()
    {
        var schemas = Document["components"]!["schemas"]!;
        var operations = Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(o => (Name: $"{o.Key} {p.Key}", Operation: o.Value!))).ToList();

        Assert.NotEmpty(Document["servers"]!.AsArray());
        Assert.Equal("Simulations", (string?)Document["tags"]![0]!["name"]);
        Assert.StartsWith("/api/v1/simulations", Document["paths"]!.AsObject().First().Key, StringComparison.Ordinal);
        Assert.Equal(7, schemas["CommandInput"]!["discriminator"]!["mapping"]!.AsObject().Count);
        Assert.Contains("urn:simservice:problem:version-mismatch", schemas["ProblemDetails"]!["discriminator"]!["mapping"]!.AsObject().Select(m => m.Key));
        Assert.Null(schemas["CallRequest"]);
        Assert.DoesNotContain("E+18", Document.ToJsonString(), StringComparison.Ordinal);
        Assert.All(operations, o =>
        {
            foreach (var parameter in o.Operation["parameters"]?.AsArray() ?? [])
                Assert.False(string.IsNullOrEmpty((string?)parameter!["description"]), $"{o.Name}: parameter {parameter["name"]} has no description");
            foreach (var (status, response) in o.Operation["responses"]!.AsObject().Where(r => r.Key[0] is '4' or '5'))
                Assert.True(response!["content"]!["application/problem+json"]!["example"] is not null, $"{o.Name}: {status} has no example");
        });
    }

    /// <summary>(where, schema, example) for each example of an operation's media type or of a schema property.</summary>
    private static IEnumerable<(string Where, JsonNode Schema, JsonNode Example)> FindExamples()
    {
        foreach (var (path, item) in Document["paths"]!.AsObject())
            foreach (var (method, operation) in item!.AsObject())
            {
                var name = $"{method.ToUpperInvariant()} {path}";
                foreach (var (type, media) in operation!["requestBody"]?["content"]?.AsObject() ?? [])
                    if (type.Contains("json", StringComparison.Ordinal) && media!["example"] is { } example && media["schema"] is { } schema)
                        yield return ($"{name} request", schema, example);
                foreach (var (status, response) in operation["responses"]!.AsObject())
                    foreach (var (type, media) in response!["content"]?.AsObject() ?? [])
                        if (type.Contains("json", StringComparison.Ordinal) && media!["example"] is { } example && media["schema"] is { } schema)
                            yield return ($"{name} {status}", schema, example);
            }
        foreach (var (name, schema) in Document["components"]!["schemas"]!.AsObject())
            foreach (var (property, propertySchema) in schema!["properties"]?.AsObject() ?? [])
                if (propertySchema!["example"] is { } example)
                    yield return ($"schema {name}.{property}", propertySchema, example);
    }

    /// <summary>OpenAPI 3.0 → JSON Schema 2020-12: refs into $defs, nullable as a null type, OpenAPI-only keywords dropped.</summary>
    private static JsonNode? ToJsonSchema(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (key is "example" or "discriminator") { o.Remove(key); continue; }
                    if (key == "$ref") o["$ref"] = o["$ref"]!.GetValue<string>().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
                    else if (key is not ("properties" or "$defs")) ToJsonSchema(o[key]);
                    else foreach (var (_, child) in o[key]!.AsObject()) ToJsonSchema(child);
                }
                if (o["nullable"] is { } nullable)
                {
                    o.Remove("nullable");
                    if (nullable.GetValue<bool>())
                    {
                        if (o["type"] is JsonValue type) o["type"] = new JsonArray(type.GetValue<string>(), "null");
                        if (o["enum"] is JsonArray values) values.Add(null);
                        if (o["type"] is null)
                        {
                            var inner = new JsonObject();
                            foreach (var key in o.Select(p => p.Key).Where(k => k is not ("description" or "title")).ToList())
                            {
                                var value = o[key];
                                o.Remove(key);
                                inner[key] = value;
                            }
                            o["anyOf"] = new JsonArray(inner, new JsonObject { ["type"] = "null" });
                        }
                    }
                }
                return o;
            case JsonArray a:
                foreach (var child in a) ToJsonSchema(child);
                return a;
            default:
                return node;
        }
    }

    private static string DocumentPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SimService.sln"))) return Path.Combine(dir.FullName, "openapi", "simservice.v1.json");
        throw new InvalidOperationException("SimService.sln not found above the test output folder.");
    }
}
