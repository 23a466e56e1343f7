using System.Net;
using System.Text.Json;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

[Collection(ApiCollection.Name)]
public sealed class CommandTypeTests(ApiHosts hosts)
{
    /// <summary>A command object without "type" cannot be built (its type is abstract): a 400 naming it, never a 500.</summary>
    [Fact]
    public async Task Batch_CommandWithoutType_IsAValidationProblemNamingIt()
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(DatabaseProvider.Sqlite));

        var response = await sim.PostAsync("commands", """{"commands":[{"a":1},{"type":"add-host","name":"server","address":"10.0.0.2"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty("commands[0]", out _));
        Assert.Equal(0, await sim.VersionAsync());
    }
}
