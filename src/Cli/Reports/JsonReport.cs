using System.Text.Json;
using System.Text.Json.Serialization;
using SimService.Cli.Files;
using SimService.Cli.Running;

namespace SimService.Cli.Reports;

/// <summary>The raw results as JSON: the mode, a summary, and every file with every check (passed ones too) and problem.</summary>
public static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <param name="Differing">With <c>kernel --diff</c>: the scenarios whose outcome differs from the engine's (each file's <c>diff</c> says how).</param>
    public sealed record Summary(int Files, int Passed, int Failed, int Invalid, double Seconds,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Differing = null);

    public sealed record Document(string Tool, string Mode, string? Server, Summary Summary, IReadOnlyList<FileResult> Files);

    public static void Write(string path, IReadOnlyList<FileResult> results, string mode, string? server, double seconds)
    {
        var document = new Document("simservice", mode, server,
            new Summary(results.Count, results.Count(r => r.Outcome == FileOutcome.Passed), results.Count(r => r.Outcome == FileOutcome.Failed),
                results.Count(r => r.Outcome == FileOutcome.Invalid), Math.Round(seconds, 3),
                results.Any(r => r.Diff is not null) ? results.Count(r => r.Diff is { Differences: > 0 }) : null),
            results);
        OutputFiles.Write("json", path, p => File.WriteAllText(p, JsonSerializer.Serialize(document, Options) + "\n"));
    }
}
