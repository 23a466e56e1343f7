using System.Globalization;
using SimService.Domain.Commands;
using SimService.Persistence.Serialization;
using SimService.Persistence.Sqlite;

namespace SimService.Api.Infrastructure;

/// <summary>
/// The service's settings checked before anything is built from them (tester38 MEDIUM-9): a value the service cannot take
/// — <c>Persistence:Provider=mysql</c>, <c>Engines:Capacity=abc</c>, <c>Limits:MaxRequestBodyBytes=-1</c> — was .NET's
/// unhandled exception at start-up, a stack trace and SIGABRT (exit 134), in whatever words the code that read it used
/// (Kestrel's for the body limit); one outside its range was taken (<c>RateLimit:PerSecond=-5</c>, <c>Engines:SliceMs=0</c>)
/// or silently clamped. Now the first bad one is one line naming the setting, its value and what it takes, and exit 1, as
/// for a port the service cannot listen on. A setting left out keeps its default; each is read where it is used, by the
/// same rules (an integer in the invariant culture).
/// </summary>
public static class ServiceSettings
{
    private sealed record Rule(string Key, Func<string, bool> Takes, string What);

    private static Rule Integer(string key, long min, long max) => new(key,
        value => long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max,
        $"an integer from {min.ToString("N0", CultureInfo.InvariantCulture)} to {max.ToString("N0", CultureInfo.InvariantCulture)}");

    private static Rule OneOf(string key, params string[] names) => new(key,
        value => names.Contains(value, StringComparer.OrdinalIgnoreCase), string.Join(" or ", names));

    private static readonly Rule[] Rules =
    [
        OneOf("Persistence:Provider", "sqlite", "postgres"),
        OneOf("Persistence:SqliteSynchronous", SqliteSynchronous.Normal, SqliteSynchronous.Full),
        Integer("Persistence:JournalPageRows", 1, int.MaxValue),
        Integer("Persistence:PurgePageRows", 1, int.MaxValue),
        Integer("Persistence:JournalPageEvents", 1, JournalPageCodec.MaxEvents),
        Integer("Engines:Capacity", 1, int.MaxValue),
        Integer("Engines:MemoryBudgetMB", 1, long.MaxValue >> 20),
        Integer("Engines:HeavyParallelism", 1, int.MaxValue),
        Integer("Engines:HeavySliceMs", 0, int.MaxValue),
        Integer("Engines:SliceMs", 1, int.MaxValue),
        Integer("Limits:RequestSeconds", 1, int.MaxValue),
        Integer("Limits:WorkloadSeconds", 1, int.MaxValue),
        Integer("Limits:HeavySeconds", 1, int.MaxValue),
        Integer("Limits:MaxRequestBodyBytes", 0, long.MaxValue),
        Integer("Limits:JournalEventsPerRequest", 1, int.MaxValue),
        Integer("Limits:InstantEventsPerRequest", 1, CommandApplier.SameInstantBudget),
        Integer("RateLimit:PerSecond", 0, int.MaxValue),
        Integer("RateLimit:Burst", 1, int.MaxValue),
        new("RateLimit:PeriodSeconds", value => double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s)
            && s > 0 && s <= TimeSpan.MaxValue.TotalSeconds, "a number of seconds above 0"),
        Integer("Quotas:Simulations", 0, long.MaxValue),
        Integer("Quotas:JournalBytes", 0, long.MaxValue),
        Integer("Quotas:HostsPerSimulation", 0, long.MaxValue),
        Integer("Quotas:SocketsPerSimulation", 0, long.MaxValue),
        OneOf("ApiKeys:Required", "true", "false"),
    ];

    /// <summary>The first setting the service cannot take, as one line (no "SimService.Api: " before it), or null.</summary>
    public static string? Refusal(IConfiguration configuration)
    {
        foreach (var rule in Rules)
        {
            if (configuration[rule.Key] is { } value && !rule.Takes(value))
                return $"configuration {rule.Key} is '{value}': it takes {rule.What}";
        }
        if (string.Equals(configuration["Persistence:Provider"], "postgres", StringComparison.OrdinalIgnoreCase)
            && string.IsNullOrEmpty(configuration.GetConnectionString("Postgres")))
            return "configuration ConnectionStrings:Postgres is not set: Persistence:Provider postgres needs it";
        return null;
    }
}
