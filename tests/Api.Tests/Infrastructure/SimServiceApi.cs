using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SimService.Api.Features.Simulations;

namespace SimService.Api.Tests.Infrastructure;

/// <summary>Requests and assertions shared by the API tests.</summary>
internal static class SimServiceApi
{
    public const string Simulations = "/api/v1/simulations";

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string json) =>
        client.PostAsync(Simulations, new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task<SimulationResponse> CreateSimulationAsync(this HttpClient client, string name, string profile = "linux-6", long seed = 1)
    {
        var response = await client.PostAsJsonAsync(Simulations, new { name, profile, seed });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SimulationResponse>())!;
    }

    public static async Task<IReadOnlyList<SimulationResponse>> ListSimulationsAsync(this HttpClient client) =>
        (await client.GetFromJsonAsync<SimulationList>(Simulations))!.Items;

    /// <summary>Asserts an RFC 9457 response with the given status and returns its body.</summary>
    public static async Task<JsonElement> ReadProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.True(problem.TryGetProperty("traceId", out _), "every problem carries a traceId");
        return problem;
    }

    /// <summary>The field names of a validation problem's <c>errors</c>.</summary>
    public static string[] ErrorFields(this JsonElement problem) =>
        [.. problem.GetProperty("errors").EnumerateObject().Select(error => error.Name).Order(StringComparer.Ordinal)];
}
