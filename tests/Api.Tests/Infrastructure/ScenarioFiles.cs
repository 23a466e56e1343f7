namespace SimService.Api.Tests.Infrastructure;

/// <summary>The example scenarios: ../shared/scenarios beside the repository, and the project's scenarios/ folder.</summary>
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

    private static string SharedFolder => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "scenarios"));

    private static string ProjectFolder => Path.Combine(RepositoryRoot, "scenarios");

    /// <summary>"shared/NAME" and "project/NAME" for every example; fails when the shared folder is missing.</summary>
    public static IReadOnlyList<string> All()
    {
        if (!Directory.Exists(SharedFolder))
            throw new InvalidOperationException($"The shared scenario folder {SharedFolder} must sit beside the repository (../shared/scenarios).");
        return
        [
            .. Directory.GetFiles(SharedFolder, "*.json").Order(StringComparer.Ordinal).Select(f => "shared/" + Path.GetFileName(f)),
            .. Directory.GetFiles(ProjectFolder, "*.json").Order(StringComparer.Ordinal).Select(f => "project/" + Path.GetFileName(f)),
        ];
    }

    public static string Read(string key) => File.ReadAllText(key.StartsWith("shared/", StringComparison.Ordinal)
        ? Path.Combine(SharedFolder, key["shared/".Length..])
        : Path.Combine(ProjectFolder, key["project/".Length..]));
}
