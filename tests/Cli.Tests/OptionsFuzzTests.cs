extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile options</c>: the options generator is a pure function of (seed, case); every case is a
/// schema-valid scenario the kernel runner takes and passes on the engine with its results (and getsockopt's values)
/// written in within 20 s of virtual time; over a few seeds it draws every option and flag it names, and the engine's
/// results show the stories happened (a TCP_SYNCNT connect timing out, IP_LOCAL_PORT_RANGE running out of ports, a plain
/// bind refused beside SO_REUSEPORT listeners, a reconnect onto a loopback TIME-WAIT in progress).
/// </summary>
public sealed class OptionsFuzzTests
{
    [Fact]
    public void Draw_FortyCasesOfThreeSeeds_ValidRunOnTheEngineAndDrawWhatTheProfileSays()
    {
        var drawn = new HashSet<string>(StringComparer.Ordinal);
        var results = new HashSet<string>(StringComparer.Ordinal);
        var steps = new long[] { 1, 2, 3 }.SelectMany(seed => Enumerable.Range(0, 40).Select(number =>
            FuzzTests.CalibratedRunningOnTheEngine(OptionsFuzzCase.Draw(seed, number), number, OptionsFuzzCase.LongestNs)))
            .SelectMany(json => JsonNode.Parse(json)!["steps"]!.AsArray().Select(s => s!.AsObject()));
        foreach (var step in steps)
        {
            string? call = step["call"]?.GetValue<string>();
            if (step["option"]?.GetValue<string>() is { } option) drawn.Add(option);
            foreach (var flag in step["flags"]?.AsArray() ?? []) drawn.Add(flag!.GetValue<string>());
            if (call == "connect" && step["to"]?.GetValue<string>() == "127.0.0.1:80") drawn.Add("loopback");
            if (step["expect"]?["result"] is JsonValue r && r.TryGetValue<string>(out var errno)) results.Add($"{call} {errno}");
            if (call == "getsockopt" && step["expect"]?["value"] is JsonObject) results.Add($"value {step["option"]}");
        }
        Assert.Empty(new[] { "MSG_PEEK", "MSG_DONTWAIT", "SO_RCVLOWAT", "TCP_NOTSENT_LOWAT", "TCP_QUICKACK", "TCP_MAXSEG", "SO_SNDTIMEO",
            "SO_RCVTIMEO", "IP_LOCAL_PORT_RANGE", "TCP_SYNCNT", "TCP_DEFER_ACCEPT", "SO_REUSEPORT", "SO_REUSEADDR", "loopback" }.Except(drawn));
        Assert.Empty(new[] { "connect ETIMEDOUT", "connect EADDRNOTAVAIL", "connect EINPROGRESS", "bind EADDRINUSE", "setsockopt EINVAL",
            "recv EAGAIN", "value IP_LOCAL_PORT_RANGE", "value SO_RCVTIMEO" }.Except(results));
    }

    /// <summary>
    /// A blocking call (a send under SO_SNDTIMEO, a recv under SO_RCVTIMEO, a connect under a black hole) is made by a client
    /// process of its own: no other connection's calls go through that process.
    /// </summary>
    [Fact]
    public void Draw_BlockingCalls_OnlyInAClientProcessOfTheirOwn()
    {
        for (long seed = 1; seed <= 4; seed++)
            for (int number = 0; number < 40; number++)
            {
                var steps = OptionsFuzzCase.Draw(seed, number).Draft["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
                foreach (var step in steps)
                {
                    bool blocks = step["call"]?.GetValue<string>() is "send" or "recv" && step["flags"]?.AsArray().Any(f => f!.GetValue<string>() == "MSG_DONTWAIT") != true;
                    if (!blocks) continue;
                    string process = step["process"]!.GetValue<string>(), socket = step["socket"]!.GetValue<string>();
                    Assert.Equal("client", step["host"]!.GetValue<string>());
                    Assert.All(steps.Where(s => s["process"]?.GetValue<string>() == process && s["socket"] is not null),
                        s => Assert.Equal(socket, s["socket"]!.GetValue<string>()));
                }
            }
    }

    /// <summary>
    /// Seed 3499 case 12 gave the port-range connection the one-port range 40004, the even port c1's plain connect() had
    /// taken: its connect() failed EADDRNOTAVAIL and the drawn accept of its child never returned (tester34 LOW-4). Every
    /// range now holds an odd port, which no plain connect() takes.
    /// </summary>
    [Fact]
    public void Draw_OnePortRangeAfterAPlainConnect_IsValid() =>
        FuzzTests.CalibratedRunningOnTheEngine(OptionsFuzzCase.Draw(3499, 12), 12, OptionsFuzzCase.LongestNs);

    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument() => FuzzTests.AssertDeterministic(OptionsFuzzCase.Draw, "fuzz-options-7-3");
}
