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
    public static ScenarioParseResult Parse(string json) => Parse(json, stored: false);

    /// <summary>
    /// Parses a document a simulation was started from and stored, for its rebuild: with the bounds it was accepted under,
    /// so a rule added later (a seed zero or positive, times within <c>SimTime.MaxClock</c>, a workload's series bound)
    /// does not make a stored simulation unbuildable. Every other rule is the same.
    /// </summary>
    public static ScenarioParseResult ParseStored(string json) => Parse(json, stored: true);

    static ScenarioParseResult Parse(string json, bool stored)
    {
        if (json is null) return ScenarioParseResult.Invalid([new ScenarioError(JsonPath.Root, "no document")]);
        try
        {
            using var document = JsonDocument.Parse(json);
            return new ScenarioReader(stored).Read(document.RootElement);
        }
        catch (JsonException e)
        {
            // Valid JSON nested past the reader's limit is no syntax error: the limit, at the path of the first value past it.
            if (JsonNesting.TooDeep(System.Text.Encoding.UTF8.GetBytes(json)) is { } deep)
                return ScenarioParseResult.Invalid([new ScenarioError(JsonNesting.PathOf(deep), JsonNesting.Message)]);
            return ScenarioParseResult.Invalid([new ScenarioError(JsonPath.Root, JsonSyntax.NotValid(e))]);
        }
    }

    /// <summary>Parses an already parsed JSON document.</summary>
    public static ScenarioParseResult Parse(JsonDocument document) => Parse(document.RootElement);

    /// <summary>Parses a JSON value, e.g. a request body bound as <see cref="JsonElement"/>.</summary>
    public static ScenarioParseResult Parse(JsonElement root) => new ScenarioReader().Read(root);

    /// <summary>
    /// As <see cref="Parse(JsonElement)"/>, stopping with <see cref="OperationCanceledException"/> once <paramref name="interruption"/>
    /// is cancelled (checked at each item of an array): the tool's interrupt or wall-time limit on a document of a million steps.
    /// </summary>
    public static ScenarioParseResult Parse(JsonElement root, CancellationToken interruption) => new ScenarioReader(interruption: interruption).Read(root);
}
