namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>Small scenario documents for runner tests: client 10.0.0.1 and server 10.0.0.2, 10 ms apart, as in scenarios/examples/.</summary>
internal static class RunnerScenarios
{
    /// <summary>A listener on server:80 at 0 ms; client "c" connects and server accepts "s" at 1 ms.</summary>
    public const string Connected = """
        { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
        { "at": "1ms", "host": "client", "call": "connect", "to": "server:80", "as": "c", "expect": { "result": 0 } },
        { "at": "1ms", "host": "server", "call": "accept", "socket": "listener", "as": "s" }
        """;

    /// <summary>A document with the two hosts and one link; <paramref name="top"/> adds top-level members (with a trailing comma).</summary>
    public static string TwoHosts(string steps, string? expect = null, string top = "", double loss = 0) => $$"""
        {
          "name": "runner-test", {{top}}
          "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
          "links": [ { "between": ["client", "server"], "delay": "10ms", "loss": {{loss.ToString(System.Globalization.CultureInfo.InvariantCulture)}} } ],
          "steps": [ {{steps}} ]{{(expect is null ? "" : $",\n  \"expect\": {expect}")}}
        }
        """;
}
