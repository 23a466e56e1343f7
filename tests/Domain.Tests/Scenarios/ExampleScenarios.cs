namespace SimService.Domain.Tests.Scenarios;

/// <summary>
/// The example documents of docs/scenario-format.md in scenarios/examples/, which every runner must
/// accept, and the project's own examples in scenarios/ (shipped with the product).
/// </summary>
internal static class ExampleScenarios
{
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SimService.sln"))) dir = dir.Parent;
            if (dir is null)
                Assert.Fail($"no SimService.sln above {AppContext.BaseDirectory}: cannot locate the scenario folders");
            return dir!.FullName;
        }
    }

    /// <summary>The project's scenarios/ folder.</summary>
    public static string ProjectFolder => Path.Combine(RepoRoot, "scenarios");

    /// <summary>scenarios/examples/: the format's example documents.</summary>
    public static string Folder => Path.Combine(ProjectFolder, "examples");

    /// <summary>"examples/NAME" or "project/NAME" for every example file, the format's examples first.</summary>
    public static IEnumerable<string> Everywhere() =>
        All().Select(f => "examples/" + f.Name)
            .Concat(Directory.GetFiles(ProjectFolder, "*.json").Order(StringComparer.Ordinal).Select(f => "project/" + Path.GetFileName(f)));

    /// <summary>Reads a file named as <see cref="Everywhere"/> names it.</summary>
    public static string ReadAnywhere(string key) => key.StartsWith("project/", StringComparison.Ordinal)
        ? File.ReadAllText(Path.Combine(ProjectFolder, key["project/".Length..]))
        : Read(key["examples/".Length..]);

    /// <summary>(file name, JSON text) of every *.json file of scenarios/examples/, in name order.</summary>
    public static IReadOnlyList<(string Name, string Json)> All()
    {
        var files = Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllText(f))).ToList();
        Assert.True(files.Count >= 8, $"expected the 8 example scenarios in {Folder}, found {files.Count}");
        return files;
    }

    public static string Read(string fileName) => File.ReadAllText(Path.Combine(Folder, fileName));
}
