using System.Net;
using System.Text.Json;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Features.Scenarios;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// A problem answered after the request's wall-time limit (<c>Limits:RequestSeconds</c>) ran out is written whole
/// (tester39 MEDIUM-3: work that outlasted the limit and then answered 400 sent its body's first buffer only — 14,774 bytes
/// of a 1,000-error list — as a complete HTTP answer, because the body was serialized under the request's cancelled token).
/// Real Kestrel; the handler starts once the 1 s limit has run out (a pipeline step waits for the request's token), as an
/// invalid 3.9 MB document that takes longer than the limit to read does.
/// </summary>
[Collection(IsolationCollection.Name)]
public sealed class ProblemAfterTheLimitTests
{
    [Fact]
    public async Task InvalidScenario_AnsweredAfterTheLimitRanOut_TheWholeProblemBody()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database,
            services => services.AddSingleton<IPipelineBehavior<RunScenario, Outcome<ScenarioRunResponse>>, AfterTheLimit>(),
            new Dictionary<string, string?> { ["Limits:RequestSeconds"] = "1" });
        factory.UseKestrel(0);
        factory.StartServer();
        using var client = new HttpClient { BaseAddress = factory.ClientOptions.BaseAddress };
        // 2,000 steps that are not steps: 1,000 errors listed, then one saying how many more — a body of many buffers.
        var document = """{"name":"x","hosts":{"a":{"address":"10.0.0.1"}},"steps":[""" + string.Join(',', Enumerable.Repeat("{}", 2000)) + "]}";

        var response = await client.PostAsync("/api/v1/scenarios/run", new StringContent(document, System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(body); // cut short, it is no JSON
        var errors = problem.RootElement.GetProperty("errors");
        Assert.Equal(1001, errors.EnumerateObject().Count());
        Assert.Equal("1,000 more errors are not listed (only the first 1,000 are)", errors.GetProperty("$")[0].GetString());
    }

    /// <summary>Lets the handler start only once the request's token — its wall-time limit — is cancelled, then run to its answer.</summary>
    private sealed class AfterTheLimit : IPipelineBehavior<RunScenario, Outcome<ScenarioRunResponse>>
    {
        public async ValueTask<Outcome<ScenarioRunResponse>> Handle(RunScenario message,
            MessageHandlerDelegate<RunScenario, Outcome<ScenarioRunResponse>> next, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            return await next(message, CancellationToken.None);
        }
    }
}
