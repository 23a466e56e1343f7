namespace SimService.Cli.Files;

/// <summary>
/// A file or folder the command line asked the tool to write (<c>--json</c>, <c>--junit</c>, <c>--pcap</c>,
/// <c>--diagram</c>, <c>--keep</c>, <c>--output</c>) could not be written: the option, the path and the OS's reason
/// (<c>--json /x/y: Not a directory</c>). The tool prints it on one line and exits 3 (<see cref="ExitCodes.OutputFailed"/>).
/// </summary>
public sealed class OutputFileException(string option, string path, string reason) : Exception($"--{option} {path}: {reason}")
{
    public string Option => option;
}

/// <summary>
/// The outputs of one <c>run</c> or <c>kernel</c> (<c>--json</c>, <c>--junit</c>, <c>--pcap</c>, <c>--diagram</c>) that
/// could not be written. One unwritable output does not stop the runs or the other outputs: each failing option is said
/// once, as one line on standard error when it fails, is not tried again, and the command exits
/// <see cref="ExitCodes.OutputFailed"/>.
/// </summary>
public sealed class OutputFailures(TextWriter error, string command)
{
    readonly HashSet<string> _failed = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="write"/> for <c>--<paramref name="option"/></c> unless that option failed before; false when it is not written.</summary>
    public bool Try(string option, Action write)
    {
        if (_failed.Contains(option)) return false;
        try
        {
            write();
            return true;
        }
        catch (OutputFileException e)
        {
            _failed.Add(e.Option);
            error.WriteLine(Reports.ConsoleReport.Shown($"simservice: {command}: {e.Message}"));
            error.Flush();
            return false;
        }
    }

    /// <summary>The command's exit code: <see cref="ExitCodes.OutputFailed"/> when an output failed, else the runs' own <paramref name="outcome"/>.</summary>
    public int ExitCode(int outcome) => _failed.Count > 0 ? ExitCodes.OutputFailed : outcome;
}

/// <summary>
/// Every output the command line names goes through here, by one rule: the folder it goes into must exist, as for
/// <c>cp</c> or a shell's <c>&gt;</c> — a file option's file and a folder option's own folder are made, never a missing
/// parent (a mistyped <c>--output /nonexistent/dir/x.json</c> made the whole path until session 29); a write that fails
/// throws <see cref="OutputFileException"/>.
/// </summary>
public static class OutputFiles
{
    /// <summary>
    /// Writes <paramref name="path"/> (named by <c>--<paramref name="option"/></c>) with <paramref name="write"/>, in a folder
    /// that exists; never over one of the files the command <paramref name="reads"/> (<see cref="InputFiles.SameFile"/>).
    /// </summary>
    public static void Write(string option, string path, Action<string> write, IReadOnlyList<ScenarioFile>? reads = null)
    {
        if (reads?.FirstOrDefault(input => InputFiles.SameFile(path, input.FullPath)) is { } read)
            throw new OutputFileException(option, path, $"is {read.DisplayPath}, a file this run reads: not written over it");
        Guard(option, path, folder: false, () => write(path));
    }

    /// <summary>
    /// The one rule of <c>new</c>'s and <c>export</c>'s <c>--output FILE [--force]</c>: no file (standard output) without the
    /// option or for <c>-</c>, as for most tools (it made a file named "-"); else the file, or why it is not written — it
    /// exists and <c>--force</c> was not given (<c>export</c> replaced an existing scenario silently, <c>new</c> refused).
    /// </summary>
    public static (string? File, string? Refusal) Output(CommandLine line)
    {
        if (line.Value("output") is not { } file || file == "-") return (null, null);
        return File.Exists(file) && !line.Has("force") ? (file, $"{file} exists (--force replaces it)") : (file, null);
    }

    /// <summary>
    /// The one rule of <c>-</c> for every output option: it names no file or folder (it made a file named "-", which
    /// <c>rm -</c> cannot remove). It is standard output where the file is the command's only output (<see cref="Output"/>:
    /// <c>new</c>'s and <c>export</c>'s <c>--output</c>); <paramref name="options"/> share standard output with the
    /// command's own lines (<c>run</c>'s and <c>kernel</c>'s reports, the folder options), so there it is refused: the
    /// one-line reason, or null. <c>./-</c> still names a file called "-".
    /// </summary>
    public static string? Dash(CommandLine line, params string[] options) =>
        options.FirstOrDefault(o => line.Value(o) == "-") is { } option
            ? $"--{option} -: standard output carries this command's own lines, so \"-\" is not taken for it; name a {(option is "json" or "junit" ? "file" : "folder")}"
            : null;

    /// <summary>
    /// The folder <paramref name="folder"/> (named by <c>--<paramref name="option"/></c>), made when missing (its parent
    /// is not: mkdir(2) without -p); its full path.
    /// </summary>
    public static string Folder(string option, string folder)
    {
        string full = Path.GetFullPath(folder);
        Guard(option, folder, folder: true, () =>
        {
            if (Directory.Exists(full)) return;
            if (Path.GetDirectoryName(full) is { } parent && !Directory.Exists(parent)) throw new DirectoryNotFoundException();
            Directory.CreateDirectory(full);
        });
        return full;
    }

    static void Guard(string option, string path, bool folder, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not OperationCanceledException)
        {
            throw new OutputFileException(option, path, Reason(e, path, folder));
        }
    }

    /// <summary>
    /// The OS's reason as strerror words (<see cref="InputFiles.Reason"/>): a path through an existing file is ENOTDIR
    /// (.NET reports it as "not found" or "exists"); a folder option naming a file is ENOTDIR too, and a file option naming a
    /// folder EISDIR (.NET says "access denied" to both).
    /// </summary>
    static string Reason(Exception e, string path, bool folder)
    {
        if (folder && File.Exists(path)) return "Not a directory";
        if (!folder && Directory.Exists(path)) return "Is a directory";
        for (var ancestor = Path.GetDirectoryName(Path.GetFullPath(path)); ancestor is not null; ancestor = Path.GetDirectoryName(ancestor))
            if (File.Exists(ancestor)) return "Not a directory";
        return InputFiles.Reason(e);
    }
}

/// <summary>
/// The folder a fuzz run writes its cases to: <c>--keep DIR</c> (made if missing, in a folder that exists; kept), or a unique temporary folder deleted
/// when the run ends (disposed).
/// </summary>
public sealed class CaseFolder : IDisposable
{
    CaseFolder(string path, bool kept) => (Path, Kept) = (path, kept);

    public string Path { get; }

    public bool Kept { get; }

    /// <summary>The case files (*.json, *.pkt) this run wrote: only those it may write again with other text.</summary>
    readonly HashSet<string> _written = new(StringComparer.Ordinal);

    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="path"/> in the folder (<see cref="OutputFiles.Write"/>). In a kept
    /// folder an existing case file (*.json, *.pkt) that this run did not write is replaced only when it holds this very
    /// text — the same seed drawn again; one that differs (a kept case edited into a regression scenario, say) is not
    /// written over (<see cref="OutputFileException"/>: one line, exit 3). The recordings beside a case are the run's
    /// output and replaced, as a report is.
    /// </summary>
    public void Write(string path, string text)
    {
        if (Kept && FileFormats.ForPath(path) is not null && _written.Add(path) && File.Exists(path) && !Holds(path, text))
            throw new OutputFileException("keep", path, "exists and is not this case as drawn (an edited case?): not written over it; move it, or keep the cases in another folder");
        OutputFiles.Write("keep", path, p => File.WriteAllText(p, text));
    }

    static bool Holds(string path, string text)
    {
        try
        {
            return InputFiles.Head(path, InputFiles.MaxBytes).AsSpan().SequenceEqual(System.Text.Encoding.UTF8.GetBytes(text));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static CaseFolder Of(string? keep, string temporaryPrefix) =>
        keep is null ? new(Directory.CreateTempSubdirectory(temporaryPrefix).FullName, false) : new(OutputFiles.Folder("keep", keep), true);

    /// <summary>A file's path as printed: a file in a temporary folder is named with a note that it will not exist after the run.</summary>
    public string Shown(string file) => Kept || !file.StartsWith(Path + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal)
        ? file : $"{System.IO.Path.GetFileName(file)} (not kept: use --keep DIR)";

    public void Dispose()
    {
        if (Kept || !Directory.Exists(Path)) return;
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temporary folder left behind must not hide the run's own result.
        }
    }
}
