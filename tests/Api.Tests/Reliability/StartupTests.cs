using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SimService.Api.Tests.Reliability;

/// <summary>The API binary started as an operator starts it, where it cannot listen.</summary>
[Collection(RealProcessCollection.Name)]
public sealed class StartupTests
{
    /// <summary>
    /// A port another program holds: one line on standard error and exit 1 — it was .NET's unhandled exception, a 40-line
    /// stack trace and SIGABRT (exit 134).
    /// </summary>
    [Fact]
    public async Task PortInUse_OneLineOnStandardErrorAndExitOne()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var folder = Directory.CreateTempSubdirectory("simservice-startup-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SimService.Api.dll"));
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port}");
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["Persistence__Provider"] = "sqlite";
            start.Environment["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(folder, "startup.db")}";
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(240));
            await output;

            Assert.Equal((1, $"SimService.Api: cannot listen: Failed to bind to address http://127.0.0.1:{port}: address already in use.\n"),
                (process.ExitCode, await error));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
