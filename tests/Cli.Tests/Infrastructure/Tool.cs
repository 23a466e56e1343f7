using System.Diagnostics;

namespace SimService.Cli.Tests.Infrastructure;

/// <summary>What one run of the tool printed and returned.</summary>
public sealed record ToolRun(int ExitCode, string Output, string Error)
{
    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// The real tool as a process: <c>dotnet simservice.dll …</c> from src/Cli's build output (built once, by this
/// project's build), with its output redirected as in CI.
/// </summary>
public static class Tool
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Fixtures => Path.Combine(RepoRoot, "tests", "Cli.Tests", "Fixtures");

    public static string Scenarios => Path.Combine(RepoRoot, "scenarios");

    public static string Dll
    {
        get
        {
            // tests/Cli.Tests/bin/<Configuration>/net10.0/ → src/Cli/bin/<Configuration>/net10.0/simservice.dll
            var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var dll = Path.Combine(RepoRoot, "src", "Cli", "bin", here.Parent!.Name, here.Name, "simservice.dll");
            Assert.True(File.Exists(dll), $"the tool is not built: {dll}");
            return dll;
        }
    }

    public static async Task<ToolRun> RunAsync(params string[] args) => await RunInAsync(RepoRoot, args);

    public static Task<ToolRun> RunInAsync(string workingDirectory, params string[] args) => RunWithAsync(workingDirectory, null, args);

    /// <summary>The tool run with these environment variables set too (<c>SIMSERVICE_KERNEL_LOCK</c>).</summary>
    public static async Task<ToolRun> RunWithAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("SIMSERVICE_API_KEY");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        // Long enough for every run file on the test server at load 40 (3 minutes were not: session 37's fresh-clone CI).
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A run that never ends (waiting for a lock the test holds) is not left behind.
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new ToolRun(process.ExitCode, (await output).Replace("\r\n", "\n"), (await error).Replace("\r\n", "\n"));
    }

    /// <summary>One temporary folder per test process, removed when the process exits (no litter in /tmp).</summary>
    private static readonly Lazy<string> TempRoot = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("simservice-cli-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(root, recursive: true);
        return root;
    });

    /// <summary>A fresh empty folder inside this process's temporary folder.</summary>
    public static string TempFolder() => Directory.CreateDirectory(Path.Combine(TempRoot.Value, Guid.NewGuid().ToString("N"))).FullName;

    public static string TempFile(string name) => Path.Combine(TempFolder(), name);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SimService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"no SimService.sln above {AppContext.BaseDirectory}");
    }
}
