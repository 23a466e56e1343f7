using System.Text.Json;
using System.Xml;

namespace SimService.Cli.Files;

/// <summary>
/// The tool's own reports among the files it reads or writes. A folder search skips them (a CI job that writes
/// <c>--json DIR/report.json</c> runs DIR again the next time without taking the report for a scenario), and a
/// report is never written over a file the run reads or over an existing scenario or script: <c>run --json v.json
/// v.json</c> used to replace the scenario with its own report.
/// </summary>
public static class OwnReports
{
    /// <summary>The options that name a report file of <c>run</c> and <c>kernel</c>.</summary>
    static readonly string[] ReportOptions = ["junit", "json"];

    /// <summary>How much of a file <see cref="IsReport"/> reads: a report says what it is in its first line or two.</summary>
    internal const int SniffBytes = 4096;

    /// <summary>
    /// True when <paramref name="path"/> holds a report this tool wrote, by its shape: a JSON object whose "tool" is
    /// "simservice" (<see cref="Reports.JsonReport"/> writes it first; no scenario has that field), or JUnit XML whose root
    /// is <c>&lt;testsuites name="simservice"&gt;</c> (<see cref="Reports.JUnitReport"/>, whatever the file is named). Only a
    /// regular file is looked at, and only its first <see cref="SniffBytes"/>: a file that short must be whole and well
    /// formed, a longer one must say so within them (a search used to read every file whole: a FIFO hung it).
    /// </summary>
    public static bool IsReport(string path)
    {
        byte[] head;
        try
        {
            head = InputFiles.Head(path, SniffBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        bool whole = head.Length <= SniffBytes;
        ReadOnlySpan<byte> text = head.AsSpan(0, Math.Min(head.Length, SniffBytes));
        if (text.StartsWith("\uFEFF"u8)) text = text[3..];
        text = text.TrimStart(" \t\r\n"u8);
        try
        {
            if (text.StartsWith("<"u8)) return IsJUnitReport(text, whole);
            return text.StartsWith("{"u8) && IsJsonReport(text, whole);
        }
        catch (Exception e) when (e is JsonException or System.Xml.XmlException)
        {
            return false;
        }
    }

    /// <summary>The root element is <c>&lt;testsuites name="simservice"&gt;</c>; a whole file is well formed to its end.</summary>
    static bool IsJUnitReport(ReadOnlySpan<byte> text, bool whole)
    {
        using var reader = XmlReader.Create(new MemoryStream(text.ToArray()), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
        if (reader.MoveToContent() != XmlNodeType.Element || reader.LocalName != "testsuites" || reader.GetAttribute("name") != "simservice") return false;
        if (!whole) return true;
        while (reader.Read()) { }
        return true;
    }

    /// <summary>A top-level "tool" is "simservice"; a whole file is well formed to its end.</summary>
    static bool IsJsonReport(ReadOnlySpan<byte> text, bool whole)
    {
        var reader = new Utf8JsonReader(text, whole, new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip }));
        bool tool = false;
        while (reader.Read())
        {
            if (reader.CurrentDepth != 1 || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("tool"u8)) continue;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("simservice"u8)) return false;
            if (!whole) return true;
            tool = true;
        }
        return tool && whole;
    }

    /// <summary>
    /// Why a report option of <paramref name="line"/> must not be written (null when none): it names one of the
    /// <paramref name="inputs"/> (<see cref="InputFiles.SameFile"/>: after normalisation and symbolic links, or a hard link
    /// to it), or an existing file of a format this tool runs (*.json, *.pkt) that is not one of its reports; or
    /// <c>--json</c> and <c>--junit</c> name the same file (one report would overwrite the other).
    /// </summary>
    public static string? Refusal(CommandLine line, IReadOnlyList<ScenarioFile> inputs)
    {
        if (line.Value("json") is { } json && line.Value("junit") is { } junit && InputFiles.SameFile(json, junit))
            return $"--json {json} and --junit {junit} are the same file: one report would overwrite the other; name two files";
        foreach (var option in ReportOptions)
        {
            // Only a regular file can be a scenario the report would replace (a FIFO or a device is written to as it is).
            if (line.Value(option) is not { } path || InputFiles.Status(path).Kind != PathKind.Regular) continue;
            var target = Resolved(path);
            foreach (var input in inputs)
                if (InputFiles.SameFile(path, input.FullPath))
                    return $"--{option} {path} is {input.DisplayPath}, a file this run reads: the report would overwrite it; name another file";
            if (FileFormats.ForPath(target) is not null || FileFormats.ForPath(path) is not null)
                if (!IsReport(target))
                    return $"--{option} {path} is an existing {FileFormats.Patterns} file and not a report of this tool: the report would overwrite it; name another file (or delete it first)";
        }
        return null;
    }

    /// <summary>
    /// The path with every symbolic link on it followed (realpath(3), in managed code): each folder from the root down,
    /// then the file; a loop gives up after 40 links (ELOOP) and leaves the path as it is.
    /// </summary>
    internal static string Resolved(string path, int links = 0)
    {
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is not { } parent || links > 40) return full;
        var here = Path.Combine(Resolved(parent, links), Path.GetFileName(full));
        return new FileInfo(here).LinkTarget is { } target ? Resolved(Path.Combine(Path.GetDirectoryName(here)!, target), links + 1) : here;
    }
}
