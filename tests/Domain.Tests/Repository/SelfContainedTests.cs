namespace SimService.Domain.Tests.Repository;

/// <summary>
/// The repository stands alone: a clone into any folder has everything its tests, scripts and README
/// need, so no tracked text file may point at a folder beside the repository or at this machine's /work.
/// </summary>
public class SelfContainedTests
{
    static readonly string[] Forbidden = ["../" + "shared", "/work" + "/"];

    static readonly string[] TextExtensions = [".cs", ".md", ".json", ".sh", ".csproj", ".props", ".yml", ".yaml", ".sln", ".txt", ""];

    [Fact]
    public void Repository_EveryTextFile_PointsNowhereOutside()
    {
        var root = RepositoryRoot();
        var offending = Files(root)
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => Forbidden.Any(word => l.Text.Contains(word, StringComparison.Ordinal)))
            .Select(l => $"{Path.GetRelativePath(root, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(offending.Count == 0, "outside references:\n" + string.Join("\n", offending));
    }

    [Fact]
    public void Repository_ScenarioFormatAndSchema_AreInDocs()
    {
        var root = RepositoryRoot();

        Assert.True(File.Exists(Path.Combine(root, "docs", "scenario-format.md")));
        Assert.True(File.Exists(Path.Combine(root, "docs", "scenario.schema.json")));
        Assert.True(Directory.GetFiles(Path.Combine(root, "scenarios", "examples"), "*.json").Length >= 8);
    }

    static IEnumerable<string> Files(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
            if (TextExtensions.Contains(Path.GetExtension(file), StringComparer.Ordinal) && new FileInfo(file).Length < 4_000_000)
                yield return file;
        foreach (var sub in Directory.EnumerateDirectories(directory))
        {
            var name = Path.GetFileName(sub);
            if (name is "bin" or "obj" or "TestResults" || name.StartsWith('.') && name != ".ci") continue;
            foreach (var file in Files(sub)) yield return file;
        }
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SimService.sln"))) return dir.FullName;
        throw new InvalidOperationException("SimService.sln not found above the test output folder.");
    }
}
