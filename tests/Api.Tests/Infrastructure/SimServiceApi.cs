using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SimService.Api.Features.Simulations;
using SimService.Api.Features.Scenarios;

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

    public const string Scenarios = "/api/v1/scenarios";

    /// <summary>POST /api/v1/scenarios/run with a document; asserts 200.</summary>
    public static async Task<ScenarioRunResponse> RunScenarioAsync(this HttpClient client, string json)
    {
        var response = await client.PostAsync($"{Scenarios}/run", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"scenario run: {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<ScenarioRunResponse>(text, JsonSerializerOptions.Web)!;
    }

    /// <summary>Every simulation, following the pages.</summary>
    public static async Task<IReadOnlyList<SimulationResponse>> ListSimulationsAsync(this HttpClient client)
    {
        var all = new List<SimulationResponse>();
        for (Guid? after = null; ;)
        {
            var page = (await client.GetFromJsonAsync<SimulationList>(after is null ? Simulations : $"{Simulations}?after={after}"))!;
            all.AddRange(page.Items);
            if (page.Next is not { } next) return all;
            after = next;
        }
    }

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
