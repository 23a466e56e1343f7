using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace SimService.Api.Tests.Infrastructure;

/// <summary>
/// The real API in memory on a real database, in the Production environment, so that the tests see what
/// users see (no developer exception details). The per-tenant rate limit is off unless <paramref name="settings"/>
/// set it: the tests share one anonymous partition and measure the API, not the limiter.
/// </summary>
public sealed class SimServiceFactory(TestDatabase database, Action<IServiceCollection>? overrideServices = null,
    IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        // UseSetting, not ConfigureAppConfiguration: Program.cs reads Persistence:Provider while it builds the
        // host, before sources added by ConfigureAppConfiguration apply (MigrationsTests checks the provider).
        builder.UseSetting("RateLimit:PerSecond", "0");
        foreach (var (key, value) in database.Settings.Concat(settings ?? new Dictionary<string, string?>())) builder.UseSetting(key, value);
        if (overrideServices is not null) builder.ConfigureTestServices(overrideServices);
    }
}
