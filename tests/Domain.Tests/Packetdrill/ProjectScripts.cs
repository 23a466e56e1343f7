using System.Text.RegularExpressions;

namespace SimService.Domain.Tests.Packetdrill;

/// <summary>The project's .pkt scripts: packetdrill/*.pkt must pass, packetdrill/wrong/*.pkt must fail as their header says.</summary>
internal static partial class ProjectScripts
{
    internal static string Folder
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SimService.sln"))) dir = dir.Parent;
            if (dir is null) Assert.Fail($"no SimService.sln above {AppContext.BaseDirectory}");
            return Path.Combine(dir!.FullName, "packetdrill");
        }
    }

    public static TheoryData<string> Passing() => [.. Directory.GetFiles(Folder, "*.pkt").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Wrong() => [.. Directory.GetFiles(Path.Combine(Folder, "wrong"), "*.pkt").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    public static string Read(string name) => File.ReadAllText(Path.Combine(Folder, name));

    public static string ReadWrong(string name) => File.ReadAllText(Path.Combine(Folder, "wrong", name));

    /// <summary>The failure a deliberately wrong script declares in its header.</summary>
    public static (int Line, string Message) ExpectedFailure(string text)
    {
        var line = LineHeader().Match(text);
        var message = MessageHeader().Match(text);
        Assert.True(line.Success && message.Success, "a wrong script declares // expect-failure-line: and // expect-failure:");
        return (int.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), message.Groups[1].Value.TrimEnd('\r'));
    }

    [GeneratedRegex(@"^// expect-failure-line: (\d+)", RegexOptions.Multiline)]
    private static partial Regex LineHeader();

    [GeneratedRegex(@"^// expect-failure: (.+)$", RegexOptions.Multiline)]
    private static partial Regex MessageHeader();
}
