using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Features.Simulations;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Tests.Features;

[Collection(ApiCollection.Name)]
public sealed class SimulationsTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_ValidRequest_Returns201WithLocationAndBody(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);

        var response = await client.PostAsJsonAsync(SimServiceApi.Simulations, new { name = "legacy fleet", profile = "linux-4.4", seed = 42 });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<SimulationResponse>();
        Assert.NotNull(created);
        Assert.Equal(("legacy fleet", "linux-4.4", 42L), (created.Name, created.Profile, created.Seed));
        Assert.NotEqual(Guid.Empty, created.Id);
        Assert.Equal(new Uri(client.BaseAddress!, $"{SimServiceApi.Simulations}/{created.Id}"), response.Headers.Location);
        Assert.True(response.Headers.Location!.IsAbsoluteUri);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_EmptyObject_Linux6Seed0AndAGeneratedName(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);

        var first = await client.PostJsonAsync("{}");
        var second = await client.PostJsonAsync("{}");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var a = (await first.Content.ReadFromJsonAsync<SimulationResponse>())!;
        var b = (await second.Content.ReadFromJsonAsync<SimulationResponse>())!;
        Assert.Equal(("linux-6", 0L), (a.Profile, a.Seed));
        Assert.Matches("^simulation-[0-9a-f]{8}$", a.Name);
        Assert.NotEqual(a.Name, b.Name);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_NoBody_SameDefaultsAsEmptyObject(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);

        var response = await client.PostAsync(SimServiceApi.Simulations, null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<SimulationResponse>())!;
        Assert.Equal(("linux-6", 0L), (created.Profile, created.Seed));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Get_Created_ReturnsTheSameSimulation(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var created = await client.CreateSimulationAsync("get me", seed: 9);

        var fetched = await client.GetFromJsonAsync<SimulationResponse>($"{SimServiceApi.Simulations}/{created.Id}");

        Assert.Equal(created, fetched);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task List_AfterTwoCreates_ContainsBothOldestFirst(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var first = await client.CreateSimulationAsync("first");
        var second = await client.CreateSimulationAsync("second");

        var ids = (await client.ListSimulationsAsync()).Select(s => s.Id).ToList();

        Assert.Contains(first.Id, ids);
        Assert.Contains(second.Id, ids);
        Assert.True(ids.IndexOf(first.Id) < ids.IndexOf(second.Id), "the list is ordered by creation");
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task List_PagesOfTwo_WalkEverySimulationOnceInOrder(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        for (int i = 0; i < 5; i++) await client.CreateSimulationAsync($"paged {i}");
        var all = (await client.ListSimulationsAsync()).Select(s => s.Id).ToList();

        var walked = new List<Guid>();
        string? after = null;
        do
        {
            var page = (await client.GetFromJsonAsync<SimulationList>($"{SimServiceApi.Simulations}?limit=2{(after is null ? "" : $"&after={after}")}"))!;
            Assert.True(page.Items.Count <= 2);
            walked.AddRange(page.Items.Select(s => s.Id));
            after = page.Next?.ToString();
        } while (after is not null);

        Assert.Equal(all, walked);
        var tooMany = await client.GetAsync($"{SimServiceApi.Simulations}?limit=1001");
        Assert.Equal(["limit"], (await tooMany.ReadProblemAsync(HttpStatusCode.BadRequest)).ErrorFields());
    }

    /// <summary>
    /// A page's next deleted before it is used continues after it, not from the first page (the cursor was looked up, found
    /// nothing and the filter was dropped): ids are UUIDv7 of the creation time, so the next page starts at its millisecond.
    /// A malformed after, or an id that is no UUIDv7, is a 400 naming after.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task List_AfterADeletedCursor_ContinuesFromItsPlace(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, services => services.AddSingleton<TimeProvider>(new SteppingClock()));
        var client = host.CreateClient();
        var created = new List<Guid>();
        for (int i = 0; i < 5; i++) created.Add((await client.CreateSimulationAsync($"cursor {i}")).Id);
        var first = (await client.GetFromJsonAsync<SimulationList>($"{SimServiceApi.Simulations}?limit=2"))!;

        Assert.Equal(created[..2], first.Items.Select(s => s.Id));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"{SimServiceApi.Simulations}/{first.Next}")).StatusCode);
        var page = (await client.GetFromJsonAsync<SimulationList>($"{SimServiceApi.Simulations}?limit=2&after={first.Next}"))!;

        Assert.Equal(created[2..4], page.Items.Select(s => s.Id));
        Assert.Equal(created[3], page.Next);
        foreach (var bad in new[] { "not-a-guid", Guid.NewGuid().ToString() })
        {
            var problem = await (await client.GetAsync($"{SimServiceApi.Simulations}?after={bad}")).ReadProblemAsync(HttpStatusCode.BadRequest);
            Assert.Equal(["after"], problem.ErrorFields());
            Assert.Equal("after is the next of a previous page: a simulation id (a UUIDv7).", problem.GetProperty("errors").GetProperty("after")[0].GetString());
        }
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Delete_Existing_Returns204AndTheSimulationIsGone(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var created = await client.CreateSimulationAsync("delete me");

        var response = await client.DeleteAsync($"{SimServiceApi.Simulations}/{created.Id}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"{SimServiceApi.Simulations}/{created.Id}")).StatusCode);
        Assert.DoesNotContain(created.Id, (await client.ListSimulationsAsync()).Select(s => s.Id));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Delete_Existing_RemovesItsCommandLogAndJournal(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var created = await client.CreateSimulationAsync("with history");
        await using (var scope = hosts.Services(provider).CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
            db.Commands.Add(new CommandRecord { RunId = created.Id, Seq = 1, AtNs = 0, Type = "advance", PayloadJson = "{}" });
            db.Events.Add(new EventRecord { RunId = created.Id, Seq = 1, LastSeq = 1, AtNs = 0, Type = "command-applied", PayloadJson = "{}" });
            await db.SaveChangesAsync();
        }

        await client.DeleteAsync($"{SimServiceApi.Simulations}/{created.Id}");
        await hosts.Services(provider).GetRequiredService<CommandLogWriter>().WhenIdleAsync(); // its rows go in the background

        await using (var scope = hosts.Services(provider).CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
            Assert.Equal(0, db.Commands.Count(c => c.RunId == created.Id));
            Assert.Equal(0, db.Events.Count(e => e.RunId == created.Id));
        }
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Created_AfterRestart_IsStillThere(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        SimulationResponse created;
        await using (var firstRun = new SimServiceFactory(database))
            created = await firstRun.CreateClient().CreateSimulationAsync("durable", "linux-4.4", 7);

        await using var secondRun = new SimServiceFactory(database);
        var fetched = await secondRun.CreateClient().GetFromJsonAsync<SimulationResponse>($"{SimServiceApi.Simulations}/{created.Id}");

        Assert.Equal(created, fetched);
    }

    /// <summary>A clock a millisecond further at each reading: simulations created one after another are a millisecond apart.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private long _readings;

        public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(Interlocked.Increment(ref _readings));
    }
}
