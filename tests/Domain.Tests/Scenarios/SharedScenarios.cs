namespace SimService.Domain.Tests.Scenarios;

/// <summary>The example files of ../shared/scenarios next to the repository, which every runner must accept.</summary>
internal static class SharedScenarios
{
    public static string Folder
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SimService.sln"))) dir = dir.Parent;
            if (dir is null)
                Assert.Fail($"no SimService.sln above {AppContext.BaseDirectory}: cannot locate ../shared/scenarios");
            var folder = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "scenarios"));
            if (!Directory.Exists(folder))
                Assert.Fail($"the shared scenario folder {folder} is missing: it must sit beside the repository (../shared/scenarios)");
            return folder;
        }
    }

    /// <summary>(file name, JSON text) of every *.json file, in name order.</summary>
    public static IReadOnlyList<(string Name, string Json)> All()
    {
        var files = Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllText(f))).ToList();
        Assert.True(files.Count >= 8, $"expected the 8 shared example scenarios in {Folder}, found {files.Count}");
        return files;
    }

    public static string Read(string fileName) => File.ReadAllText(Path.Combine(Folder, fileName));
}
