using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Npgsql;
using SimService.Api.Infrastructure.Tenancy;
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
    /// <summary>A setting's rule; <paramref name="Each"/>: the setting is a list (<c>Key:0</c>, <c>Key:1</c>, …) and each item takes it.</summary>
    private sealed record Rule(string Key, Func<string, bool> Takes, string What, bool Each = false);

    /// <summary>
    /// The longest wall-time limit: a request's timeout is a <see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/>,
    /// which takes at most 2^32 − 2 ms (tester39 MEDIUM-1: 4,294,968 s was taken here and every request then 500ed).
    /// </summary>
    public const int MaxWallSeconds = (int)((uint.MaxValue - 1L) / 1000);

    private static Rule WallSeconds(string key) => Integer(key, 1, MaxWallSeconds);

    /// <summary>An absolute http or https URL; <paramref name="originOnly"/>: scheme, host and port alone, as a browser's Origin.</summary>
    /// <remarks>Read as it is used, untrimmed; an origin as a browser sends it, without a path or a trailing '/' (review39a
    /// S-4, N-2; any case, an explicit default port: review39b S-1).</remarks>
    private static bool IsHttpUrl(string value, bool originOnly) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0
        && (!originOnly || (uri.AbsolutePath == "/" && !value.EndsWith('/')));

    /// <summary>A connection string its provider's own builder parses (keywords and their values, e.g. SQLite's Mode).</summary>
    private static Rule ConnectionString(string key, Action<string> parse) => new(key, value =>
    {
        try { parse(value); return true; }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException) { return false; }
    }, "a connection string its provider reads (keyword=value pairs separated by ';')");

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
        WallSeconds("Limits:RequestSeconds"),
        WallSeconds("Limits:WorkloadSeconds"),
        WallSeconds("Limits:HeavySeconds"),
        Integer("Limits:MaxRequestBodyBytes", 0, long.MaxValue),
        Integer("Limits:JournalEventsPerRequest", 1, int.MaxValue),
        Integer("Limits:InstantEventsPerRequest", 1, CommandApplier.SameInstantBudget),
        Integer("RateLimit:PerSecond", 0, int.MaxValue),
        Integer("RateLimit:Burst", 1, int.MaxValue),
        new("RateLimit:PeriodSeconds", value => double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s)
            && TenantRateLimits.Period(s) is not null,
            $"a number of seconds from 0.0000001 (one 100-ns tick) to {Math.Floor(TimeSpan.MaxValue.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture)}"),
        Integer("Quotas:Simulations", 0, long.MaxValue),
        Integer("Quotas:JournalBytes", 0, long.MaxValue),
        Integer("Quotas:HostsPerSimulation", 0, long.MaxValue),
        Integer("Quotas:SocketsPerSimulation", 0, long.MaxValue),
        OneOf("ApiKeys:Required", "true", "false"),
        ConnectionString("ConnectionStrings:Sqlite", value => _ = new SqliteConnectionStringBuilder(value).Mode),
        ConnectionString("ConnectionStrings:Postgres", value => _ = new NpgsqlConnectionStringBuilder(value).Host),
        new("Api:PublicBaseUrl", value => IsHttpUrl(value, originOnly: false), "an absolute http or https URL (scheme, host, port and path base)"),
        new("Cors:AllowedOrigins", value => IsHttpUrl(value, originOnly: true), "origins: an http or https scheme, a host and a port, no path", Each: true),
        new("ForwardedHeaders:KnownProxies", value => IPAddress.TryParse(value, out _), "IP addresses", Each: true),
        new("urls", value => value.Split(';', StringSplitOptions.RemoveEmptyEntries).All(IsListenAddress),
            "addresses to listen on: http:// or https://, a host and a port from 0 to 65,535, separated by ';'"),
    ];

    /// <summary>
    /// An address Kestrel can be asked to listen on (<c>--urls</c>, <c>ASPNETCORE_URLS</c>; tester39 MEDIUM-4: <c>notaurl</c>,
    /// port 99999 or an ftp:// scheme ended in a stack trace and SIGABRT): what <see cref="BindingAddress.Parse"/> reads, an
    /// http or https scheme, a port in range. Whether it can be bound (in use, not this machine's) is known only by binding.
    /// </summary>
    private static bool IsListenAddress(string url)
    {
        try
        {
            var address = BindingAddress.Parse(url); // untrimmed, as Kestrel reads it (review39b M-1)
            return (address.Scheme is "http" or "https") && address.Port is >= 0 and <= 65535;
        }
        catch (FormatException) { return false; }
    }

    /// <summary>The first setting the service cannot take, as one line (no "SimService.Api: " before it), or null.</summary>
    public static string? Refusal(IConfiguration configuration)
    {
        foreach (var rule in Rules)
        {
            var items = rule.Each
                ? configuration.GetSection(rule.Key).GetChildren().Select(item => (Key: item.Path, item.Value))
                : [(rule.Key, configuration[rule.Key])];
            foreach (var (key, value) in items)
            {
                if (value is not null && !rule.Takes(value))
                    return $"configuration {key} is '{value}': it takes {rule.What}";
            }
        }
        if (string.Equals(configuration["Persistence:Provider"], "postgres", StringComparison.OrdinalIgnoreCase)
            && string.IsNullOrEmpty(configuration.GetConnectionString("Postgres")))
            return "configuration ConnectionStrings:Postgres is not set: Persistence:Provider postgres needs it";
        return null;
    }

    /// <summary>
    /// Whether <paramref name="exception"/> says the database could not be used — the provider's own error, a file or folder
    /// that is not there or not ours, a server that refuses or does not answer — rather than a fault of the service's code,
    /// which stays a stack trace (review39a N-1).
    /// </summary>
    public static bool IsDatabaseFailure(Exception exception) => Chain(exception).Any(e =>
        e is System.Data.Common.DbException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException
            or TimeoutException or System.Security.Authentication.AuthenticationException);

    /// <summary>
    /// Whether <paramref name="exception"/> is Kestrel refusing an address it was asked to listen on — raised by Kestrel's
    /// own code (review39b M-1: a narrower list of types let a path base, https without a certificate or a bad
    /// Kestrel:Endpoints entry end in a stack trace again) — rather than a fault elsewhere in the start (review39a S-5).
    /// </summary>
    public static bool IsListenFailure(Exception exception) =>
        Chain(exception).Any(e => e.StackTrace?.Contains("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) == true);

    /// <summary>The exception and every inner one (an aggregate's first), outermost first (review39b M-2: a TLS failure
    /// is Npgsql's, then the authentication's, then OpenSSL's).</summary>
    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException) yield return e;
    }

    /// <summary>
    /// Why the configured database could not be used — it is not there, not a database, or refuses us — as one line
    /// (tester39 MEDIUM-2: the service printed .NET's stack trace and ended with SIGABRT; the key commands say the same).
    /// </summary>
    public static string DatabaseFailure(Exception exception) =>
        $"the configured database could not be used: {exception.GetBaseException().Message.ReplaceLineEndings(" ")}";
}
