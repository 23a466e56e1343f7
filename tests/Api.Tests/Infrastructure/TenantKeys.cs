using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure.Tenancy;

namespace SimService.Api.Tests.Infrastructure;

/// <summary>API keys for the tenancy tests, made as the key commands make them (on the host's database).</summary>
internal static class TenantKeys
{
    /// <summary>A new key of <paramref name="tenant"/>: its public id and the key itself.</summary>
    public static async Task<(string Id, string Key)> CreateKeyAsync(this SimServiceFactory factory, string tenant)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var (key, text) = await scope.ServiceProvider.GetRequiredService<ApiKeyStore>().CreateAsync(tenant, null, CancellationToken.None);
        return (key.Id, text);
    }

    /// <summary>A client that sends a new key of <paramref name="tenant"/> with every request.</summary>
    public static async Task<HttpClient> TenantClientAsync(this SimServiceFactory factory, string tenant)
    {
        var (_, key) = await factory.CreateKeyAsync(tenant);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>The ETag (version) of the resource at <paramref name="path"/>.</summary>
    public static async Task<string?> ETagAsync(this HttpClient client, string path) => (await client.GetAsync(path)).Headers.ETag?.Tag;
}
