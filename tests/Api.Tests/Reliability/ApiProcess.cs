using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// The built API (SimService.Api.dll, copied beside the tests) as a real process: Kestrel on a loopback port
/// it picks itself (port 0; the port is read from its "Now listening on" line), the settings given, its
/// output kept, the per-tenant rate limit off unless the settings turn it on. <see cref="Kill"/> is <c>kill -9</c>; disposing stops it gracefully (SIGTERM) and waits.
/// </summary>
public sealed partial class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Func<string, bool> Seen, TaskCompletionSource Done)> _waits = [];

    private ApiProcess(IReadOnlyDictionary<string, string?> settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "SimService.Api.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--contentRoot", AppContext.BaseDirectory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["RateLimit__PerSecond"] = "0"; // these tests measure the service, not the limiter
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"The API exited with {_process.ExitCode}:\n{Output}"));
    }

    /// <summary>The base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public bool HasExited => _process.HasExited;

    /// <summary>The process id (for a diagnostic tool pointed at it).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The resident memory of the process now (VmRSS), in bytes.</summary>
    public long ResidentBytes => long.Parse(File.ReadAllLines($"/proc/{_process.Id}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;

    /// <summary>
    /// The resident memory by kind (kB fields of /proc/PID/status): anonymous (the managed heap, native allocations),
    /// file-backed (mapped code and files) and shared memory.
    /// </summary>
    public string ResidentKinds
    {
        get
        {
            var status = File.ReadAllLines($"/proc/{_process.Id}/status");
            string Of(string name) => $"{long.Parse(status.Single(l => l.StartsWith(name + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) >> 10} MB";
            return $"anonymous {Of("RssAnon")}, file {Of("RssFile")}, shared {Of("RssShmem")}";
        }
    }

    /// <summary>Everything the process wrote so far.</summary>
    public string Output { get { lock (_output) return string.Join('\n', _output); } }

    /// <summary>
    /// Completes once a line the process wrote (one already written, or the next ones) satisfies <paramref name="seen"/>;
    /// a bound of 240 s, not a wait.
    /// </summary>
    public Task LineAsync(Func<string, bool> seen)
    {
        lock (_output)
        {
            if (_output.Any(seen)) return Task.CompletedTask;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Add((seen, done));
            return done.Task.WaitAsync(TimeSpan.FromSeconds(240));
        }
    }

    /// <summary>Lines logged at error level or above ("fail:", "crit:").</summary>
    public IReadOnlyList<string> ErrorLines
    {
        get { lock (_output) return [.. _output.Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal))]; }
    }

    /// <summary>
    /// The API binary run as an operator runs it (<c>dotnet SimService.Api.dll ARGS</c>, Production, the
    /// <paramref name="environment"/> given) until it exits: its exit code, standard output and standard error.
    /// </summary>
    public static async Task<(int Exit, string Out, string Error)> RunToExitAsync(IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SimService.Api.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try { await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(240)); }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true); // one that should have exited and serves instead is not left running
            throw;
        }
        return (process.ExitCode, await output, await error);
    }

    public static async Task<ApiProcess> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var api = new ApiProcess(settings);
        api._process.Start();
        api._process.BeginOutputReadLine();
        api._process.BeginErrorReadLine();
        // The API runs with tiered compilation off, so its start compiles the framework once: seconds on a quiet
        // machine, more than a minute on a 2-core machine at load 40 (seen). A bound, not a wait: it returns on listening.
        Uri listening;
        try { listening = await api._listening.Task.WaitAsync(TimeSpan.FromSeconds(240)); }
        catch (TimeoutException)
        {
            api.Kill();
            throw new TimeoutException($"The API did not listen within 240 s:\n{api.Output}");
        }
        api.BaseAddress = listening;
        using var client = api.CreateClient();
        // Ready once its database answers: asked again until it does, for as long as the start may take (it was 50 asks in a
        // row without a pause, a few milliseconds, which a database busy for a moment on a loaded machine could outlast).
        var deadline = Stopwatch.GetTimestamp() + 240 * Stopwatch.Frequency;
        while (true)
        {
            try
            {
                if ((await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK) return api;
            }
            catch (HttpRequestException) when (Stopwatch.GetTimestamp() < deadline)
            {
            }
            if (Stopwatch.GetTimestamp() >= deadline) throw new InvalidOperationException($"The API never became ready:\n{api.Output}");
            await Task.Delay(50); // a poll of another process's readiness, not a wait for time to pass
        }
    }

    /// <summary>Runs <paramref name="body"/> against a fresh process on a SQLite file in a temporary folder, removed afterwards;
    /// <paramref name="settings"/>: more of the service's settings.</summary>
    public static async Task OnTemporarySqliteAsync(string name, Func<ApiProcess, Task> body, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var folder = Directory.CreateTempSubdirectory($"simservice-{name}-").FullName;
        try
        {
            await using var api = await StartAsync(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
            {
                ["Persistence:Provider"] = "sqlite",
                ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(folder, name + ".db")}",
            });
            await body(api);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public HttpClient CreateClient() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = BaseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();

    private void Collect(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Add(line);
            _waits.RemoveAll(wait => wait.Seen(line) && wait.Done.TrySetResult());
        }
        if (ListeningLine().Match(line) is { Success: true } match) _listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the host's graceful shutdown, which waits for the work in flight (up to 10 s for the log writer's
            // transaction, as long for a rebuild): a generous bound on a loaded machine, not a wait.
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(); // gone before the caller deletes its database folder
            }
        }
        _process.Dispose();
    }
}

/// <summary>
/// The tests that start real API processes (fuzz, runaway, crash) run one after another: each measures time
/// limits and latencies, and two of them at once on a small machine measure each other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RealProcessCollection
{
    public const string Name = "real API processes";
}

/// <summary>Where the reliability tests put the figures they measure: the test output and, when CI sets
/// <c>SIMSERVICE_FIGURES</c>, a file that scripts/test prints after the run.</summary>
public static class Figures
{
    public static void Report(ITestOutputHelper output, string line)
    {
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("SIMSERVICE_FIGURES") is { Length: > 0 } path)
            lock (typeof(Figures)) File.AppendAllText(path, line + Environment.NewLine);
    }
}
