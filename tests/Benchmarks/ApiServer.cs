using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SimService.Benchmarks;

/// <summary>
/// The built API (SimService.Api.dll, copied beside the benchmark by the project reference) as a real Kestrel
/// process on a loopback port it picks itself, on a SQLite file of the caller's choosing. Disposing stops it
/// with SIGTERM (graceful shutdown); <see cref="Kill"/> is kill -9. Lines logged at error level are kept.
/// </summary>
sealed partial class ApiServer : IAsyncDisposable
{
    readonly Process _process;
    readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly List<string> _errors = [];

    ApiServer(string databasePath, IReadOnlyDictionary<string, string> settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "SimService.Api.dll"), "--contentRoot", AppContext.BaseDirectory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["ConnectionStrings__Sqlite"] = $"Data Source={databasePath}";
        start.Environment["RateLimit__PerSecond"] = "0"; // the benchmarks measure the service, not the per-tenant rate limiter
        // As the image runs it (Dockerfile): the framework JIT-compiled, not its precompiled code (docs/benchmarks-history.md, the W4 notes);
        // SIMBENCH_SERVER_DOTNET_ReadyToRun=1 measures the precompiled code instead.
        start.Environment["DOTNET_ReadyToRun"] = "0";
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"the API exited with {_process.ExitCode}"));
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>CPU seconds (user + system) the server process has used so far.</summary>
    public double CpuSeconds
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
        }
    }

    /// <summary>Context switches (voluntary and involuntary) of the server's threads that are alive now, summed.</summary>
    public long ContextSwitches
    {
        get
        {
            long sum = 0;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{_process.Id}/task"))
            {
                try
                {
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                            sum += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // the thread ended meanwhile
                }
            }
            return sum;
        }
    }

    /// <summary>A counter's value from the server's <c>/metrics</c> (Prometheus text), 0 when it is not there yet.</summary>
    public async Task<double> MetricAsync(string name)
    {
        using var client = Client();
        var text = await client.GetStringAsync("/metrics");
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is ' ' or '{')
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>A counter's values from the server's <c>/metrics</c> summed over its label sets (e.g. every GC generation), 0 when it is not there yet.</summary>
    public async Task<double> MetricSumAsync(string name)
    {
        using var client = Client();
        var text = await client.GetStringAsync("/metrics");
        double sum = 0;
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is ' ' or '{')
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        return sum;
    }

    /// <summary>Lines the server logged at error level or above.</summary>
    public IReadOnlyList<string> Errors { get { lock (_errors) return [.. _errors]; } }

    public static async Task<ApiServer> StartAsync(string databasePath, IReadOnlyDictionary<string, string>? settings = null)
    {
        var server = new ApiServer(databasePath, settings ?? new Dictionary<string, string>());
        server._process.Start();
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        // Start-up JIT-compiles the framework (DOTNET_ReadyToRun=0): on this shared machine at load 40 it took over 60 s.
        server.BaseAddress = await server._listening.Task.WaitAsync(TimeSpan.FromSeconds(300));
        using var client = server.Client();
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if ((await client.GetAsync("/readyz")).IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException) when (attempt < 100)
            {
            }
            await Task.Yield();
        }
    }

    /// <summary>The server process's peak resident set so far (VmHWM), in MiB; -1 once it has exited.</summary>
    public long PeakRssMb
    {
        get
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
            catch (IOException)
            {
            }
            return -1;
        }
    }

    public HttpClient Client() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
    {
        BaseAddress = BaseAddress,
        Timeout = TimeSpan.FromMinutes(5),
    };

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>POSTs JSON and returns the parsed answer; a non-success status is an error of the benchmark.</summary>
    public static async Task<JsonNode> PostAsync(HttpClient client, string path, string json)
    {
        using var response = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {text}");
        try
        {
            return JsonNode.Parse(text)!;
        }
        catch (System.Text.Json.JsonException e)
        {
            var at = (int)Math.Min(text.Length, Math.Max(0, e.BytePositionInLine ?? 0));
            throw new InvalidOperationException($"POST {path}: not JSON at {at}: …{text[Math.Max(0, at - 200)..Math.Min(text.Length, at + 100)]}…", e);
        }
    }

    public static async Task<Guid> CreateSimulationAsync(HttpClient client, string name) =>
        (await PostAsync(client, "/api/v1/simulations", $$"""{"name":"{{name}}","seed":1}"""))["id"]!.GetValue<Guid>();

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();

    void Collect(string? line)
    {
        if (line is null) return;
        if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
            lock (_errors) _errors.Add(line);
        if (ListeningLine().Match(line) is { Success: true } match) _listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
    }

    bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])) await term.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }
}
