namespace SimService.Cli.Files;

/// <summary>
/// Turns the paths on the command line into files: a file is taken as given (its extension picks the format); a
/// folder is searched recursively for every extension a format reads, in ordinal path order, so reports are stable;
/// the tool's own reports found there are skipped (<see cref="OwnReports.IsReport"/>), a report named as a file is not.
/// </summary>
public static class FileCollector
{
    /// <summary>The files, or the one-line reason the paths are not usable (missing path, unknown extension, empty folder).</summary>
    public static (IReadOnlyList<ScenarioFile> Files, string? Error) Collect(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) return ([], "no file or folder given");
        var files = new List<ScenarioFile>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var found = Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                    .Where(f => FileFormats.ForPath(f) is not null && !OwnReports.IsReport(f))
                    .Order(StringComparer.Ordinal)
                    .Select(f => new ScenarioFile(f, Path.GetFullPath(f), FileFormats.ForPath(f)!))
                    .ToList();
                if (found.Count == 0) return ([], $"{path}: no {FileFormats.Patterns} file in this folder");
                files.AddRange(found);
            }
            else if (File.Exists(path))
            {
                if (FileFormats.ForPath(path) is not { } format)
                    return ([], $"{path}: not a file this tool reads (it reads {FileFormats.Patterns})");
                files.Add(new ScenarioFile(path, Path.GetFullPath(path), format));
            }
            else return ([], $"{path}: no such file or folder");
        }
        return (files.DistinctBy(f => f.FullPath).ToList(), null);
    }
}
