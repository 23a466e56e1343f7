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
            var (exit, _, error) = await ApiProcess.RunToExitAsync(["--urls", $"http://127.0.0.1:{port}"], new Dictionary<string, string>
            {
                ["Persistence__Provider"] = "sqlite",
                ["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(folder, "startup.db")}",
            });

            Assert.Equal((1, $"SimService.Api: cannot listen: Failed to bind to address http://127.0.0.1:{port}: address already in use.\n"),
                (exit, error));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
