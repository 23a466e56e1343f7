using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace SimService.Cli.Tests.Infrastructure;

/// <summary>
/// The real API on Kestrel on a free loopback port (WebApplicationFactory with UseKestrel), on a throw-away
/// SQLite file: the tool reaches it over real HTTP, as it reaches a deployed server.
/// </summary>
public sealed class ApiServer : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("simservice-cli-api-").FullName;
    private Factory? _factory;

    public string Url { get; private set; } = "";

    public HttpClient Client { get; private set; } = null!;

    public Task InitializeAsync()
    {
        _factory = new Factory(Path.Combine(_folder, "simservice.db"));
        _factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var addresses = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Url = addresses.Single();
        Client = new HttpClient { BaseAddress = new Uri(Url) };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_factory is not null) await _factory.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private sealed class Factory(string database) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("Persistence:Provider", "sqlite");
            builder.UseSetting("ConnectionStrings:Sqlite", $"Data Source={database}");
            // The tool's tests read the server's answers, not its wall-time limit: at load 40 a fresh-clone CI's plain create
            // outran the default 10 s and was a 503 (session 37).
            builder.UseSetting("Limits:RequestSeconds", "60");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ApiServer>
{
    public const string Name = "api server";
}
