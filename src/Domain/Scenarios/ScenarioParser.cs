using System.Text.Json;

namespace SimService.Domain.Scenarios;

/// <summary>
/// Parses and validates scenario documents (docs/scenario-format.md, format v1) strictly: every
/// rule of the format and its JSON schema plus the cross-references the schema leaves to the runner.
/// Errors are values; no input makes it throw.
/// </summary>
public static class ScenarioParser
{
    /// <summary>Parses JSON text; malformed JSON is one error at "$".</summary>
    public static ScenarioParseResult Parse(string json)
    {
        if (json is null) return ScenarioParseResult.Invalid([new ScenarioError(JsonPath.Root, "no document")]);
        try
        {
            using var document = JsonDocument.Parse(json);
            return Parse(document.RootElement);
        }
        catch (JsonException e)
        {
            return ScenarioParseResult.Invalid([new ScenarioError(JsonPath.Root, $"not valid JSON: {e.Message}")]);
        }
    }

    /// <summary>Parses an already parsed JSON document.</summary>
    public static ScenarioParseResult Parse(JsonDocument document) => Parse(document.RootElement);

    /// <summary>Parses a JSON value, e.g. a request body bound as <see cref="JsonElement"/>.</summary>
    public static ScenarioParseResult Parse(JsonElement root) => new ScenarioReader().Read(root);
}
