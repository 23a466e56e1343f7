using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>The central stories through the API: each shows its claim, replays identically, and exports to a scenario that reproduces it.</summary>
[Collection(ApiCollection.Name)]
public sealed class StoriesTests(ApiHosts hosts)
{
    public static TheoryData<DatabaseProvider, string> StoriesOnEveryProvider()
    {
        var data = new TheoryData<DatabaseProvider, string>();
        foreach (var provider in TestDatabase.Available)
            foreach (var story in Stories.Names) data.Add(provider, story);
        return data;
    }

    [Theory, MemberData(nameof(StoriesOnEveryProvider))]
    public async Task Story_Replayed_GivesAnIdenticalJournal(DatabaseProvider provider, string story)
    {
        var sim = await Stories.TellAsync(hosts.Client(provider), story);

        var report = await sim.ReplayAsync();

        Assert.True(report.Identical, $"{story}: replay differs at {report.FirstDifference}");
        Assert.Equal(report.StoredEvents, report.ReplayedEvents);
        Assert.Equal(await sim.VersionAsync(), report.Commands);
        Assert.Equal((await sim.ClockAsync()).NowNs, report.NowNs);
    }

    [Theory, MemberData(nameof(StoriesOnEveryProvider))]
    public async Task Story_ExportedThenRun_GivesTheSameJournal(DatabaseProvider provider, string story)
    {
        var client = hosts.Client(provider);
        var sim = await Stories.TellAsync(client, story);
        var journal = await sim.JournalAsync();

        var run = await client.RunScenarioAsync(await sim.ExportAsync());

        Assert.True(run.Passed, $"{story}: {string.Join("; ", run.Errors.Select(e => $"{e.Path}: {e.Message}"))}");
        var rerun = new SimulationDriver(client, run.SimulationId);
        Assert.Equal(journal, await rerun.JournalAsync());
        Assert.Equal((await sim.ClockAsync()).NowNs, run.NowNs);
    }
}
