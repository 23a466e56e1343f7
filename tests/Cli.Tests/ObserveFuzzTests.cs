extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile observe</c>: a pure function of (seed, case); every case is a schema-valid scenario the
/// kernel runner takes and passes on the engine with what it looks at written in — each alias's state, timer and time
/// left at every look, each getsockopt's value (TCP_INFO cut to its counts, SO_MEMINFO to its drops, queued memory and, since session 37, its receive memory), a lingering close's returnsAfter — and it
/// draws the core options read back, the brief's teardown sysctls and a pool process killed.
/// </summary>
public sealed class ObserveFuzzTests
{
    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument() => FuzzTests.AssertDeterministic(ObserveFuzzCase.Draw, "fuzz-observe-7-3");

    [Fact]
    public void Draw_TwentyCasesOfFourSeeds_ValidRunOnTheEngineWithTheirLooksWrittenIn()
    {
        var drawn = new HashSet<string>(StringComparer.Ordinal);
        foreach (long seed in new long[] { 1, 2, 3, 4 })
            for (int number = 0; number < 20; number++)
            {
                var json = JsonNode.Parse(FuzzTests.CalibratedRunningOnTheEngine(ObserveFuzzCase.Draw(seed, number), number, ObserveFuzzCase.LongestNs))!;
                foreach (var (name, _) in json["hosts"]!.AsObject().SelectMany(h => h.Value!["sysctls"]?.AsObject() ?? [])) drawn.Add(name);
                foreach (var step in json["steps"]!.AsArray().Select(s => s!.AsObject()))
                {
                    if (step["call"]?.GetValue<string>() == "getsockopt" && step["expect"]!["result"] is JsonValue r && r.TryGetValue<long>(out _))
                    {
                        drawn.Add($"read {step["option"]}");
                        if (step["option"]!.GetValue<string>() is "SO_LINGER" or "TCP_INFO") Assert.NotNull(step["expect"]!["value"]);
                        if (step["expect"]!["value"] is JsonObject info && step["option"]!.GetValue<string>() == "TCP_INFO")
                            Assert.Empty(info.Select(f => f.Key).Except(FuzzLooks.TcpInfoFields));
                        if (step["option"]!.GetValue<string>() == "SO_MEMINFO")
                        {
                            var meminfo = step["expect"]!["value"]!.AsObject();
                            Assert.Equal(FuzzLooks.MeminfoFields, meminfo.Select(f => f.Key));
                            if (meminfo["drops"]!.GetValue<long>() > 0) drawn.Add("meminfo drops");
                            if (meminfo["wmem_queued"]!.GetValue<long>() > 0) drawn.Add("meminfo wmem_queued");
                            if (meminfo["rmem_alloc"]!.GetValue<long>() > 0) drawn.Add("meminfo rmem_alloc");
                        }
                    }
                    if (step["expect"]?["returnsAfter"] is { } after) drawn.Add($"returnsAfter {(after.GetValue<string>().StartsWith("0ms..", StringComparison.Ordinal) ? "0" : "blocked")}");
                    if (step["call"]?.GetValue<string>() == "setsockopt") drawn.Add($"set {step["option"]}");
                    if (step["kill"]?["process"]?.GetValue<string>() is { } killed) drawn.Add($"kill {killed}");
                    foreach (var look in step["expect"]?["sockets"]?.AsArray() ?? [])
                    {
                        Assert.NotNull(look!["state"]);
                        if (look["timerLeft"] is not null) drawn.Add($"timerLeft {look["timer"]}");
                    }
                }
            }
        Assert.Empty(new[]
        {
            "read SO_LINGER", "read TCP_LINGER2", "read SO_REUSEADDR", "read SO_KEEPALIVE", "read TCP_KEEPIDLE", "read TCP_KEEPINTVL",
            "read TCP_KEEPCNT", "read TCP_USER_TIMEOUT", "read SO_SNDBUF", "read SO_RCVBUF", "read SO_ERROR", "read TCP_INFO",
            "read SO_MEMINFO", "meminfo drops", "meminfo wmem_queued", "meminfo rmem_alloc", "set SO_RCVBUF",
            "returnsAfter blocked", "kill srv", "kill pool", "timerLeft timewait", "timerLeft on", "timerLeft keepalive",
            "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_rfc1337", "net.ipv4.tcp_abort_on_overflow",
            "net.ipv4.tcp_syncookies", "net.core.somaxconn", "net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_fin_timeout",
        }.Except(drawn));
    }

    /// <summary>The engine's rows as its socket check describes them, written back as checks: a lone row with its time left, two rows counted.</summary>
    [Fact]
    public void Written_RowsOfTheEnginesCheck_StateTimerAndTimeLeftPerAlias()
    {
        var looks = new JsonArray(new JsonObject { ["socket"] = "c1" }, new JsonObject { ["socket"] = "c2" }, new JsonObject { ["socket"] = "s1" });
        string?[] actual =
        [
            "FIN-WAIT-2 10.0.0.1:40000->10.0.0.2:80 timer=timewait left=1.2s",
            "CLOSED 10.0.0.1:40002->10.0.0.2:80 timer=off, TIME-WAIT 10.0.0.1:40002->10.0.0.2:80 timer=timewait left=59.5s",
            "no socket (CLOSED)",
        ];

        var written = FuzzLooks.Written(looks, i => actual[i]);

        Assert.Equal("""[{"socket":"c1","state":"FIN-WAIT-2","timer":"timewait","timerLeft":"1148ms..1252ms"},"""
            + """{"socket":"c2","state":"CLOSED","count":1,"timer":"off"},"""
            + """{"socket":"c2","state":"TIME-WAIT","count":1,"timer":"timewait","timerLeft":"57699ms..61301ms"},"""
            + """{"socket":"s1","state":"CLOSED"}]""", written.ToJsonString());
        Assert.Equal("954ms..1046ms", FuzzLooks.ReturnsAfter("returned after 1s"));
        Assert.Null(FuzzLooks.ReturnsAfter("still blocked at the end of the run"));
    }
}
