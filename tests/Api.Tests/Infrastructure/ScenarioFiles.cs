namespace SimService.Api.Tests.Infrastructure;

/// <summary>
/// The example scenarios of the repository: the format's examples in scenarios/examples/ and the
/// project's own in scenarios/.
/// </summary>
internal static class ScenarioFiles
{
    public static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
                if (File.Exists(Path.Combine(directory.FullName, "SimService.sln"))) return directory.FullName;
            throw new InvalidOperationException("SimService.sln not found above the test output folder.");
        }
    }

    /// <summary>scenarios/examples/: the example documents of docs/scenario-format.md.</summary>
    public static string ExamplesFolder => Path.Combine(RepositoryRoot, "scenarios", "examples");

    private static string ProjectFolder => Path.Combine(RepositoryRoot, "scenarios");

    /// <summary>"examples/NAME" and "project/NAME" for every example.</summary>
    public static IReadOnlyList<string> All() =>
    [
        .. Directory.GetFiles(ExamplesFolder, "*.json").Order(StringComparer.Ordinal).Select(f => "examples/" + Path.GetFileName(f)),
        .. Directory.GetFiles(ProjectFolder, "*.json").Order(StringComparer.Ordinal).Select(f => "project/" + Path.GetFileName(f)),
    ];

    public static string Read(string key) => File.ReadAllText(key.StartsWith("examples/", StringComparison.Ordinal)
        ? Path.Combine(ExamplesFolder, key["examples/".Length..])
        : Path.Combine(ProjectFolder, key["project/".Length..]));
}
