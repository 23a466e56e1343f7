namespace SimService.Api.Tests.Infrastructure;

/// <summary>
/// One running API per database provider, shared by the test classes of <see cref="ApiCollection"/>.
/// Tests in the collection run one at a time, so a test may compare counts before and after a request.
/// </summary>
public sealed class ApiHosts : IAsyncLifetime
{
    private readonly Dictionary<DatabaseProvider, (TestDatabase Database, SimServiceFactory Factory)> _hosts = [];

    /// <summary>Theory data: each provider reachable here (PostgreSQL only when its variable is set).</summary>
    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    public HttpClient Client(DatabaseProvider provider) => Host(provider).CreateClient();

    /// <summary>A client whose requests name <paramref name="baseAddress"/>'s host and port (the Host header the service sees).</summary>
    public HttpClient Client(DatabaseProvider provider, Uri baseAddress) =>
        Host(provider).CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = baseAddress });

    public IServiceProvider Services(DatabaseProvider provider) => Host(provider).Services;

    private SimServiceFactory Host(DatabaseProvider provider)
    {
        if (!_hosts.TryGetValue(provider, out var host))
        {
            var database = TestDatabase.Create(provider);
            host = (database, new SimServiceFactory(database));
            _hosts[provider] = host;
        }
        return host.Factory;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (database, factory) in _hosts.Values)
        {
            await factory.DisposeAsync();
            await database.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiHosts>
{
    public const string Name = "api";
}
