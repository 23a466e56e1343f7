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

    /// <param name="Files">Every file given: passed, failed, invalid, interrupted and not run add up to it, as in the console's summary.</param>
    /// <param name="Failed">The files that failed, not counting those interrupted (their <c>outcome</c> is <c>interrupted</c>).</param>
    /// <param name="Differing">With <c>kernel --diff</c>: the scenarios whose outcome differs from the engine's (each file's <c>diff</c> says how).</param>
    /// <param name="Interrupted">The files an interrupt stopped (absent when none): with the others they add up to <paramref name="Files"/>.</param>
    /// <param name="NotRun">The files given that no run started for, the tool interrupted before them (absent when none), named in
    /// <see cref="Document.NotRun"/>: counted in <paramref name="Files"/> too.</param>
    public sealed record Summary(int Files, int Passed, int Failed, int Invalid, double Seconds,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Differing = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Interrupted = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? NotRun = null);

    public sealed record Document(string Tool, string Mode, string? Server, Summary Summary, IReadOnlyList<FileResult> Files,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? NotRun = null);

    /// <param name="notRun">The files given after the last that ran, not run (tester39 LOW-3: absent from the report).</param>
    public static void Write(string path, IReadOnlyList<FileResult> results, IReadOnlyList<string> notRun, string mode, string? server, double seconds)
    {
        var (passed, failed, invalid, interrupted) = ConsoleReport.Counts(results);
        var document = new Document("simservice", mode, server,
            new Summary(results.Count + notRun.Count, passed, failed, invalid, Math.Round(seconds, 3),
                results.Any(r => r.Diff is not null) ? results.Count(r => r.Diff is { Differences: > 0 }) : null, interrupted > 0 ? interrupted : null,
                notRun.Count > 0 ? notRun.Count : null),
            results, notRun.Count > 0 ? notRun : null);
        OutputFiles.Write("json", path, p => File.WriteAllText(p, JsonSerializer.Serialize(document, Options) + "\n"));
    }
}
