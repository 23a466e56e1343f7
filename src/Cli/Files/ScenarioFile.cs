namespace SimService.Cli.Files;

/// <summary>A file to validate or run: the path as shown in reports, its text, and the format that reads it.</summary>
public sealed record ScenarioFile(string DisplayPath, string FullPath, IFileFormat Format)
{
    public string ReadText() => File.ReadAllText(FullPath);
}
