using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>What a newcomer sees first: the start of a real API process on a database it has to create and migrate.</summary>
[Collection(RealProcessCollection.Name)]
public sealed class StartupLogTests
{
    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    /// <summary>The process logs at warning level and above (see <see cref="ApiProcess"/>); migrations run before Kestrel listens.</summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task FirstStart_OnFreshDatabase_LogsNoWarningBeforeListening(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var api = await ApiProcess.StartAsync(database.Settings);

        var beforeListening = api.Output.Split('\n').TakeWhile(l => !l.Contains("Now listening on", StringComparison.Ordinal)).ToList();
        var warnings = beforeListening.Where(l => l.StartsWith("warn:", StringComparison.Ordinal)
            || l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count == 0, "logged before listening:\n" + api.Output);
    }
}
