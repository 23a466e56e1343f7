using System.Text;
using System.Text.Json;
using SimService.Cli.Running;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Files;

/// <summary>
/// Scenario documents (docs/scenario-format.md), *.json. The tool also reads <c>//</c> and <c>/* */</c> comments
/// (what <c>simservice new</c> writes): it drops them before validating, running or sending the document, so the
/// server receives plain JSON. Validation is the engine's own parser — every rule of the format and its JSON
/// Schema plus the cross-references the schema cannot state — so a file that validates is one the engine runs.
/// </summary>
public sealed class ScenarioJsonFormat : IFileFormat
{
    private static readonly JsonDocumentOptions Reading = new() { CommentHandling = JsonCommentHandling.Skip };

    public string Extension => ".json";

    public string Kind => "scenario";

    public IReadOnlyList<Problem> Validate(string text, string fileName) => Parse(text, out _);

    public RunOutput RunInProcess(string text, string fileName, long eventBudget)
    {
        var problems = Parse(text, out var document);
        if (document is null) return RunOutput.Invalid(problems);
        var result = ScenarioRunner.Run(document, new ScenarioRunOptions { EventBudget = eventBudget });
        return new RunOutput(true, result.Passed,
            [.. result.Checks.Select(c => new CheckOutcome(c.Passed, c.Kind, c.Path, c.Expected, c.Actual, c.At.ToString(), c.At.Ns))],
            [.. result.Errors.Select(e => new Problem(e.Path, e.Message))],
            null, result.Simulation.Now.Ns, result.Simulation.Journal.Count, result.Simulation) { EventBudgetSpent = result.EventBudgetSpent };
    }

    public async Task<RunOutput> RunOnServerAsync(SimServiceClient server, string text, string fileName, CancellationToken cancellationToken)
    {
        if (!TryReadJson(text, out var plain, out var malformed)) return RunOutput.Invalid([malformed!]);
        return await server.RunScenarioAsync(plain!, cancellationToken);
    }

    internal static IReadOnlyList<Problem> Parse(string text, out ScenarioDocument? document)
    {
        document = null;
        if (!TryReadJson(text, out var plain, out var malformed)) return [malformed!];
        var parsed = ScenarioParser.Parse(plain!);
        document = parsed.Document;
        return [.. parsed.Errors.Select(e => new Problem(e.Path, e.Message))];
    }

    /// <summary>The document as plain JSON (comments dropped), or the syntax error with its line and column.</summary>
    internal static bool TryReadJson(string text, out string? plain, out Problem? malformed)
    {
        plain = null;
        malformed = null;
        try
        {
            using var document = JsonDocument.Parse(text, Reading);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer)) document.WriteTo(writer);
            plain = Encoding.UTF8.GetString(buffer.ToArray());
            return true;
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, column {e.BytePositionInLine + 1})" : "";
            malformed = new Problem("$", $"not valid JSON{where}: {FirstSentence(e.Message)}");
            return false;
        }
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (end < 0) end = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).Trim();
    }
}
