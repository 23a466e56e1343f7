using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// HEAD on every GET endpoint (monitors and <c>curl -I</c> send it; it was a 405): the same status and headers as the GET,
/// no body — problems too keep their content type — while any other wrong method stays a 405 problem with <c>Allow</c>.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HeadRequestTests(ApiHosts hosts)
{
    /// <summary>Every GET route of the API (read from the routing's own endpoints, not from a list kept here), each asked GET then HEAD.</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task EveryGetEndpoint_Head_SameStatusAndHeadersNoBody(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var sim = await SimulationDriver.TwoHostsAsync(client, "heads");
        var connection = await sim.ConnectAsync();
        await sim.AdvanceToAsync(1_000_000_000);
        var routes = hosts.Services(provider).GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(HttpMethods.Get) == true)
            .Select(e => e.RoutePattern.RawText!).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(routes.Count > 25, $"only {routes.Count} GET routes found");

        var statuses = new List<string>();
        foreach (var route in routes)
        {
            var path = route.Replace("{id:guid}", sim.Id.ToString(), StringComparison.Ordinal).Replace("{host}", "client", StringComparison.Ordinal)
                .Replace("{socketId:int}", connection.ClientSocketId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{callId:long}", "1", StringComparison.Ordinal).Replace("{workloadId:int}", "1", StringComparison.Ordinal);
            Assert.DoesNotContain("{", path);
            using var get = await client.GetAsync(path);
            using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

            Assert.True(get.StatusCode == head.StatusCode, $"{path}: GET {(int)get.StatusCode}, HEAD {(int)head.StatusCode}");
            Assert.Equal(get.Content.Headers.ContentType?.ToString(), head.Content.Headers.ContentType?.ToString());
            Assert.Equal(HeaderNames(get), HeaderNames(head));
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
            statuses.Add($"{(int)head.StatusCode} {route}");
        }
        Assert.True(statuses.Count(s => s.StartsWith("200 ", StringComparison.Ordinal)) > 20, string.Join("\n", statuses));
    }

    private static string[] HeaderNames(HttpResponseMessage response) =>
        [.. response.Headers.Select(h => h.Key).Concat(response.Content.Headers.Select(h => h.Key))
            .Where(name => name is not ("Content-Length" or "Transfer-Encoding" or "Date")).Order(StringComparer.OrdinalIgnoreCase)];

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task UnknownSimulation_Head_404WithTheProblemContentTypeNoBody(DatabaseProvider provider)
    {
        using var head = await hosts.Client(provider).SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{SimServiceApi.Simulations}/{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal("application/problem+json", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    /// <summary>A 405 still lists what the path takes, HEAD with its GET; HEAD on a path without GET is a 405 too.</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task OtherWrongMethods_405ProblemWithAllow_HeadWhereGetIs(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var sim = await SimulationDriver.CreateAsync(client, "methods");

        using var put = await client.PutAsync(sim.Base, null);
        await put.ReadProblemAsync(HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["DELETE", "GET", "HEAD"], put.Content.Headers.Allow.Order(StringComparer.Ordinal));

        using var headOfPost = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{sim.Base}/replay"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, headOfPost.StatusCode);
        Assert.Equal("application/problem+json", headOfPost.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["POST"], headOfPost.Content.Headers.Allow);
        Assert.Empty(await headOfPost.Content.ReadAsByteArrayAsync());
    }
}
