namespace SimService.Cli.Files;

/// <summary>
/// Turns the paths on the command line into files: a file is taken as given (its extension picks the format); a
/// folder is searched recursively for every extension a format reads, in ordinal path order, so reports are stable;
/// the tool's own reports found there are skipped (<see cref="OwnReports.IsReport"/>), a report named as a file is not.
/// A search goes as <c>find</c> and <c>rg</c> go: it does not follow a symbolic link to a folder (a link back up the tree
/// looped until .NET's enumeration died, exit 134), nor hidden folders; of what it finds it takes regular files
/// (a symbolic link to one too) and passes FIFOs, devices and sockets by. A file named on the command line must be a
/// regular file, and every file at most <see cref="InputFiles.MaxBytes"/>. A name that is not UTF-8, found or named, stops
/// the tool (<see cref="InputFiles.NotUtf8"/>): a CI run must not pass with a case it did not read.
/// </summary>
public static class FileCollector
{
    /// <summary>
    /// The files, or the one-line reason the paths are not usable (missing path, unknown extension, empty folder, not a
    /// regular file, too large, an error of the OS on a path, which it names).
    /// </summary>
    public static (IReadOnlyList<ScenarioFile> Files, string? Error) Collect(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) return ([], "no file or folder given");
        var files = new List<ScenarioFile>();
        foreach (var path in paths)
        {
            var status = InputFiles.Status(path);
            string? error = status.Kind switch
            {
                PathKind.Missing => InputFiles.NotUtf8(path) ?? $"{path}: no such file or folder",
                PathKind.Unreadable => $"{path}: {status.What}",
                PathKind.Other => $"{path}: {InputFiles.NotRegular(status.What!)}",
                PathKind.Folder => Search(path, files),
                _ => FileFormats.ForPath(path) is null ? $"{path}: not a file this tool reads (it reads {FileFormats.Patterns})" : Add(path, status, files),
            };
            if (error is not null) return ([], error);
        }
        return (files.DistinctBy(f => f.FullPath).ToList(), null);
    }

    /// <summary>
    /// Every regular file of a format under <paramref name="folder"/> but the tool's reports, into <paramref name="files"/>
    /// in ordinal order; or why the folder gave none, or the first path the OS refused.
    /// </summary>
    static string? Search(string folder, List<ScenarioFile> files)
    {
        var found = new List<(string Path, PathStatus Status)>();
        var folders = new Stack<string>([folder]);
        // Hidden entries are skipped as before (EnumerationOptions' default); errors are not: a folder the search cannot read is said.
        var options = new EnumerationOptions { IgnoreInaccessible = false };
        while (folders.TryPop(out var current))
        {
            try
            {
                foreach (var entry in new DirectoryInfo(current).EnumerateFileSystemInfos("*", options))
                {
                    var path = Path.Join(current, entry.Name);
                    if (entry is DirectoryInfo)
                    {
                        // A folder whose name is not UTF-8 cannot be searched (and looked like a link: its attributes read as -1).
                        if (InputFiles.NotUtf8(path) is { } folderNotUtf8) return folderNotUtf8;
                        if (!entry.Attributes.HasFlag(FileAttributes.ReparsePoint)) folders.Push(path);
                        continue;
                    }
                    if (FileFormats.ForPath(path) is null) continue;
                    var status = InputFiles.Status(path);
                    if (status.Kind == PathKind.Unreadable) return $"{path}: {status.What}";
                    if (status.Kind == PathKind.Missing && InputFiles.NotUtf8(path) is { } notUtf8) return notUtf8;
                    if (status.Kind == PathKind.Regular) found.Add((path, status));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return InputFiles.NotUtf8(current) ?? $"{current}: {InputFiles.Reason(e)}";
            }
        }
        int before = files.Count;
        foreach (var (path, status) in found.OrderBy(f => f.Path, StringComparer.Ordinal))
            if (!OwnReports.IsReport(path) && Add(path, status, files) is { } error) return error;
        return files.Count == before ? $"{folder}: no {FileFormats.Patterns} file in this folder" : null;
    }

    /// <summary>A regular file of a format, added; or why it is not read (larger than the tool reads).</summary>
    static string? Add(string path, PathStatus status, List<ScenarioFile> files)
    {
        if (status.Size > InputFiles.MaxBytes) return $"{path}: {status.Size} bytes, {InputFiles.TooLarge}";
        files.Add(new ScenarioFile(path, Path.GetFullPath(path), FileFormats.ForPath(path)!));
        return null;
    }
}
