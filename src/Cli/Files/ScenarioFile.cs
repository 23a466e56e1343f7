namespace SimService.Cli.Files;

/// <summary>A file to validate or run: the path as shown in reports, its text, and the format that reads it.</summary>
public sealed record ScenarioFile(string DisplayPath, string FullPath, IFileFormat Format)
{
    /// <summary>Its text, read as <see cref="InputFiles.ReadText"/> reads (a regular file of at most 64 MiB; else an IOException saying why).</summary>
    public string ReadText() => InputFiles.ReadText(FullPath);
}
