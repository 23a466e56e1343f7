using System.Net;
using System.Net.Sockets;

namespace SimService.Api.Tests.Reliability;

/// <summary>The API binary started as an operator starts it, where it cannot listen.</summary>
[Collection(RealProcessCollection.Name)]
public sealed class StartupTests
{
    /// <summary>
    /// A port another program holds: one line on standard error and exit 1 — it was .NET's unhandled exception, a 40-line
    /// stack trace and SIGABRT (exit 134).
    /// </summary>
    [Fact]
    public async Task PortInUse_OneLineOnStandardErrorAndExitOne()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (exit, _, error) = await RunOnTemporarySqliteAsync($"http://127.0.0.1:{port}");

        Assert.Equal((1, $"SimService.Api: cannot listen: Failed to bind to address http://127.0.0.1:{port}: address already in use.\n"),
            (exit, error));
    }

    /// <summary>
    /// An address that is not one (tester39 MEDIUM-4): one line and exit 1, as for a taken port — each was .NET's unhandled
    /// exception, a 14- to 23-line trace and SIGABRT (exit 134).
    /// </summary>
    [Theory]
    [InlineData("notaurl")]
    [InlineData("ftp://127.0.0.1:5196")]
    [InlineData("http://127.0.0.1:99999")]
    [InlineData("http://127.0.0.1:5196;notaurl")]
    [InlineData("http://127.0.0.1:5196; http://127.0.0.1:5197")]
    public async Task NotAnAddress_OneLineOnStandardErrorAndExitOne(string urls)
    {
        var (exit, _, error) = await RunOnTemporarySqliteAsync(urls);

        Assert.Equal((1, $"SimService.Api: configuration urls is '{urls}': it takes addresses to listen on: http:// or https://, "
            + "a host and a port from 0 to 65,535, separated by ';'\n"), (exit, error));
    }

    const string PeriodTakes = "it takes a number of seconds from 0.0000001 (one 100-ns tick) to 922,337,203,685";

    /// <summary>
    /// Addresses the check takes and Kestrel then refuses — a path base, https without a certificate (review39b M-1: a
    /// narrower catch made them a stack trace and SIGABRT again): one line, Kestrel's words, and exit 1.
    /// </summary>
    [Theory]
    [InlineData("http://127.0.0.1:0/base", "A path base can only be configured using IApplicationBuilder.UsePathBase().")]
    [InlineData("https://127.0.0.1:0", "Unable to configure HTTPS endpoint. No server certificate was specified")]
    public async Task AnAddressKestrelRefuses_OneLineOnStandardErrorAndExitOne(string urls, string reason)
    {
        var (exit, _, error) = await RunOnTemporarySqliteAsync(urls);

        Assert.Equal(1, exit);
        Assert.StartsWith($"SimService.Api: cannot listen: {reason}", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    /// <summary>
    /// A setting the service cannot take (tester38 MEDIUM-9): one line naming it, its value and what it takes, and exit 1,
    /// as for a taken port — each was .NET's unhandled exception at start-up, a stack trace and SIGABRT (exit 134), in
    /// the words of the code that read it (Kestrel's "ArgumentOutOfRangeException" for the body limit); a negative rate
    /// and a 0 ms slice were taken without a word.
    /// </summary>
    [Theory]
    [InlineData("Persistence:Provider", "mysql", "it takes sqlite or postgres")]
    [InlineData("Engines:Capacity", "abc", "it takes an integer from 1 to 2,147,483,647")]
    [InlineData("Limits:MaxRequestBodyBytes", "-1", "it takes an integer from 0 to 9,223,372,036,854,775,807")]
    [InlineData("RateLimit:PerSecond", "-5", "it takes an integer from 0 to 2,147,483,647")]
    [InlineData("Engines:SliceMs", "0", "it takes an integer from 1 to 2,147,483,647")]
    [InlineData("RateLimit:PeriodSeconds", "0", PeriodTakes)]
    // tester39 MEDIUM-6: half a 100-ns tick is a period of 0 ticks, which the token bucket throws on: every request 500ed.
    [InlineData("RateLimit:PeriodSeconds", "0.00000005", PeriodTakes)]
    // tester39: each was taken, then every request 500ed (a timeout past CancelAfter's 2^32 - 2 ms), or the service
    // ended with a stack trace and SIGABRT (exit 134) while building what it read, or it answered Location: notaurl/….
    [InlineData("Limits:RequestSeconds", "4294968", "it takes an integer from 1 to 4,294,967")]
    [InlineData("Limits:HeavySeconds", "2147483647", "it takes an integer from 1 to 4,294,967")]
    [InlineData("ForwardedHeaders:KnownProxies:0", "notanip", "it takes IP addresses")]
    [InlineData("ConnectionStrings:Sqlite", "Data Source=x.db;Mode=Bogus", "it takes a connection string its provider reads (keyword=value pairs separated by ';')")]
    [InlineData("ConnectionStrings:Postgres", "Host=db;Port=notaport", "it takes a connection string its provider reads (keyword=value pairs separated by ';')")]
    [InlineData("Api:PublicBaseUrl", "notaurl", "it takes an absolute http or https URL (scheme, host, port and path base)")]
    [InlineData("Cors:AllowedOrigins:0", "https://app.example/path", "it takes origins: an http or https scheme, a host and a port, no path")]
    [InlineData("Cors:AllowedOrigins:0", "https://app.example/", "it takes origins: an http or https scheme, a host and a port, no path")]
    [InlineData("ForwardedHeaders:KnownProxies:0", " 10.0.0.1", "it takes IP addresses")]
    public async Task BadSetting_OneLineNamingItOnStandardErrorAndExitOne(string key, string value, string takes)
    {
        var (exit, output, error) = await ApiProcess.RunToExitAsync(["--urls", "http://127.0.0.1:0", $"--{key}={value}"]);

        Assert.Equal((1, "", $"SimService.Api: configuration {key} is '{value}': {takes}\n"), (exit, output, error));
    }

    /// <summary>
    /// A database the service cannot use — a file that is not SQLite's (tester39 MEDIUM-2; also a folder it cannot make, a
    /// PostgreSQL that refuses): one line and exit 1, as for a bad setting — it was a stack trace and SIGABRT (exit 134).
    /// </summary>
    [Fact]
    public async Task DatabaseItCannotUse_OneLineOnStandardErrorAndExitOne()
    {
        var (exit, output, error) = await RunOnTemporarySqliteAsync("http://127.0.0.1:0", file =>
            File.WriteAllText(file, "these bytes are not an SQLite database header, and there are enough of them to read one\n"));

        Assert.Equal((1, "SimService.Api: the configured database could not be used: SQLite Error 26: 'file is not a database'.\n"),
            (exit, error));
        Assert.DoesNotContain("Unhandled exception", output);
    }

    /// <summary>
    /// The API binary run to its exit with <c>--urls <paramref name="urls"/></c> on a SQLite file in a temporary folder,
    /// removed afterwards; <paramref name="prepare"/> may write the file first.
    /// </summary>
    private static async Task<(int Exit, string Out, string Error)> RunOnTemporarySqliteAsync(string urls, Action<string>? prepare = null)
    {
        var folder = Directory.CreateTempSubdirectory("simservice-startup-").FullName;
        try
        {
            var file = Path.Combine(folder, "startup.db");
            prepare?.Invoke(file);
            return await ApiProcess.RunToExitAsync(["--urls", urls], new Dictionary<string, string>
            {
                ["Persistence__Provider"] = "sqlite",
                ["ConnectionStrings__Sqlite"] = $"Data Source={file}",
            });
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
