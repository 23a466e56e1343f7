using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace SimService.ClientGeneration.Tests;

/// <summary>
/// The real API on Kestrel (a real socket on a free loopback port) with a SQLite database in a temporary
/// folder, in the Production environment: the generated client talks HTTP to it as to any deployment.
/// </summary>
public sealed class ServerFixture : WebApplicationFactory<Program>
{
    private readonly string _folder = Directory.CreateTempSubdirectory("simservice-client-").FullName;

    public ServerFixture()
    {
        UseKestrel(0);
        StartServer();
    }

    /// <summary>A client of the running server (its Kestrel address).</summary>
    public HttpClient Http() => new() { BaseAddress = ClientOptions.BaseAddress };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Persistence:Provider", "sqlite");
        builder.UseSetting("ConnectionStrings:Sqlite", $"Data Source={Path.Combine(_folder, "simservice.db")}");
        // No test here is about the wall-time limit; at load ≈ 50 a first request (each path compiled on its first call) outlasted
        // the 10 s default in session 40's CI and answered 503 (as FuzzTests' own API process in session 39).
        builder.UseSetting("Limits:RequestSeconds", "120");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }
}
