extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;
using cli::SimService.Cli.Kernel;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile limits</c>: the many-connection generator is a pure function of (seed, case); every case
/// is a schema-valid scenario the kernel runner takes and passes on the engine with its results written in, with at most
/// 200 connections and 20 s of virtual time; it draws what it says (a 4–40-port range on every client, fixed-port binds
/// with SO_REUSEADDR, kills, SO_LINGER {1, 0}), and on the engine its cases reach the limits the profile is about:
/// connect() EADDRNOTAVAIL, TCPTimeWaitOverflow, a TIME-WAIT taken over by connect() (TWRecycled) and a SYN accepted by
/// the server's TIME-WAIT; no case depends on the seed's port secret (the calls' results and sockstats the same with
/// another seed).
/// </summary>
public sealed class LimitsFuzzTests
{
    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument() => FuzzTests.AssertDeterministic(LimitsFuzzCase.Draw, "fuzz-limits-7-3");

    [Fact]
    public void Draw_TwelveCases_ValidRunOnTheEngineAndReachTheLimits()
    {
        int kills = 0, aborts = 0, fixedBinds = 0, notAvailable = 0, overflows = 0, recycled = 0, twSyns = 0;
        for (int number = 0; number < 12; number++)
        {
            string json = FuzzTests.CalibratedRunningOnTheEngine(LimitsFuzzCase.Draw(1, number), number, LimitsFuzzCase.LongestNs);

            var doc = JsonNode.Parse(json)!;
            var steps = doc["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
            Assert.InRange(steps.Count(s => s["call"]?.GetValue<string>() == "connect"), 1, LimitsFuzzCase.MostConnections);
            foreach (var (name, host) in doc["hosts"]!.AsObject().Where(h => h.Key != "server"))
            {
                var range = host!["sysctls"]!["net.ipv4.ip_local_port_range"]!.GetValue<string>().Split(' ').Select(int.Parse).ToList();
                Assert.InRange(range[1] - range[0] + 1, 4, 40);
            }
            if (steps.Any(s => s["kill"] is not null)) kills++;
            if (steps.Any(s => s["option"]?.GetValue<string>() == "SO_LINGER")) aborts++;
            if (steps.Any(s => s["call"]?.GetValue<string>() == "bind" && s["port"]!.GetValue<int>() != 0)) fixedBinds++;
            notAvailable += steps.Count(s => s["call"]?.GetValue<string>() == "connect" && s["expect"]?["result"]?.ToString() == "EADDRNOTAVAIL");
            Assert.Equal("expect", steps[^1].Select(p => p.Key).Last(k => k != "at"));

            var run = ScenarioRunner.Run(ScenarioParser.Parse(json).Document!);
            overflows += run.Simulation.Hosts.Sum(h => (int)h.Mib[MibCounter.TcpExtTCPTimeWaitOverflow]);
            recycled += run.Simulation.Hosts.Sum(h => (int)h.Mib[MibCounter.TcpExtTWRecycled]);
            twSyns += run.Simulation.Journal.OfType<StateChanged>().Count(s => s.Cause == "tcp_v4_rcv (TCP_TW_SYN)");
        }
        Assert.InRange(kills, 1, 12);
        Assert.InRange(aborts, 1, 12);
        Assert.InRange(fixedBinds, 4, 12);
        Assert.True(notAvailable > 0, "no connect() returned EADDRNOTAVAIL");
        Assert.True(overflows > 0, "no TIME-WAIT overflowed its buckets");
        Assert.True(recycled > 0, "no TIME-WAIT was taken over by connect()");
        Assert.True(twSyns > 0, "no SYN was accepted by a TIME-WAIT");
    }

    /// <summary>
    /// The port choices the kernel makes with its boot's secret are left out: a case calibrated with seed 1 passes with
    /// other seeds too — every call's result and every sockstat the same — though the engine's ephemeral ports differ.
    /// </summary>
    [Fact]
    public void Draw_Cases_PassWithAnotherSeed()
    {
        for (int number = 0; number < 4; number++)
        {
            var doc = JsonNode.Parse(FuzzCase.Calibrate(LimitsFuzzCase.Draw(2, number).Draft).Json!)!.AsObject();
            foreach (int seed in new[] { 7, 8 })
            {
                doc["seed"] = seed;
                var run = ScenarioRunner.Run(ScenarioParser.Parse(FuzzCase.Text(doc)).Document!);
                Assert.True(run.Passed, $"case {number}, seed {seed}: " + string.Join("; ", run.FailedChecks.Take(3)));
            }
        }
    }

    /// <summary>
    /// Seed 11, case 4: c12's connect() at 2165 ms finds the range's three even ports held and the three odd ones free
    /// (43613, 43615, 43617, used by c1, c5 and c7 before), so the port is the secret's choice; with the seeds 2–5 the
    /// engine took 43613 as seed 1 did, and 6.18.44 took 43615 in one run and 43617 in the others (session 20). The draw
    /// now runs with more seeds, and a case it keeps takes the same ports, named by first use, under seeds it never tried.
    /// </summary>
    [Fact]
    public void Draw_SecretsPortChoice_IsDroppedThoughFourOtherSeedsAgreed()
    {
        var draft = LimitsFuzzCase.Draw(11, 4).Draft;
        var ports = new[] { 1, 10, 11, 12, 13 }.Select(seed =>
        {
            var doc = (JsonObject)draft.DeepClone();
            doc["seed"] = seed;
            var steps = doc["steps"]!.AsArray();
            for (int i = steps.Count - 1; i >= 0; i--)
                if (steps[i]!["call"] is null) steps.RemoveAt(i);
                else steps[i]!.AsObject().Remove("expect");
            var run = ScenarioRunner.Run(ScenarioParser.Parse(FuzzCase.Text(doc)).Document!);
            var names = new Dictionary<ushort, string>();
            return string.Join(" ", run.Simulation.Journal.OfType<SegmentSent>()
                .Where(s => s.Flags.Has(TcpFlags.Syn) && !s.Flags.Has(TcpFlags.Ack))
                .Select(s => names.TryGetValue(s.Tuple.Local.Port, out var n) ? n : names[s.Tuple.Local.Port] = $"~{names.Count + 1}"));
        }).ToList();
        Assert.All(ports, p => Assert.Equal(ports[0], p));
    }

    /// <summary>
    /// The closing SO_LINGER {1, 0} aborts keep clear of the peer's: seeds 3-2, 4-7 and 5-4 (the first session-19 run)
    /// closed the server's end 0–1 ms after the client's RST arrived on the engine (which then found it CLOSE and sent
    /// nothing), while on the kernel the runner's step came first and sent its own RST in all three runs. Each end's abort
    /// is now six ms or more from the arrival of its peer's, one link delay after it.
    /// </summary>
    [Theory]
    [InlineData(3, 2)]
    [InlineData(4, 7)]
    [InlineData(5, 4)]
    public void Draw_ClosingAborts_KeepClearOfThePeersReset(int seed, int number)
    {
        var draft = LimitsFuzzCase.Draw(seed, number).Draft;
        var delays = draft["links"]!.AsArray().ToDictionary(l => l!["between"]![0]!.GetValue<string>(), l => Ns(l!["delay"]!.GetValue<string>()));
        var steps = draft["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
        // An abort: SO_LINGER {1, 0} and close() of one socket in one instant.
        var aborts = steps.Where(s => s["option"]?.GetValue<string>() == "SO_LINGER" && s["value"]!["linger"]!.GetValue<int>() == 0)
            .Select(s => (Alias: s["socket"]!.GetValue<string>(), Host: s["host"]!.GetValue<string>(), At: Ns(s["at"]!.GetValue<string>())))
            .Where(a => steps.Any(s => s["call"]?.GetValue<string>() == "close" && s["socket"]?.GetValue<string>() == a.Alias && Ns(s["at"]!.GetValue<string>()) == a.At))
            .ToDictionary(a => a.Alias, StringComparer.Ordinal);
        var pairs = aborts.Values.Where(a => a.Alias.StartsWith('c') && aborts.ContainsKey("s" + a.Alias[1..])).Select(c => (Client: c, Server: aborts["s" + c.Alias[1..]])).ToList();
        Assert.NotEmpty(pairs);
        foreach (var (client, server) in pairs)
        {
            long d = delays[client.Host];
            Assert.True(Math.Abs(server.At - (client.At + d)) >= 6_000_000 && Math.Abs(client.At - (server.At + d)) >= 6_000_000,
                $"{client.Alias} aborted at {client.At / 1e6} ms, {server.Alias} at {server.At / 1e6} ms over a {d / 1e6} ms link");
        }
    }

    /// <summary>
    /// A fixed-port connect() onto a connection the server still holds completes its handshake only after the challenge
    /// ACK, the RST and the SYN again (5 delays + 10 ms): seed 13, case 1 accepted exactly then (6257 ms), and the
    /// kernel's accept() found the queue empty in all three runs. A segment of the old connection arriving before that
    /// SYN (the server's FIN of a close meanwhile) arms the SYN timer again, up to 10 ms later: seed 35006, case 9's
    /// engine completed at 7687 ms, the accept's ms, and the kernel's accept() found the queue empty in all three runs.
    /// Every accept() of a fixed-port connection keeps 8 ms clear of the whole span.
    /// </summary>
    [Theory]
    [InlineData(13, 1)]
    [InlineData(1, 1)]
    [InlineData(35006, 9)]
    public void Draw_FixedPortAccepts_KeepClearOfTheRetriedHandshake(int seed, int number)
    {
        var draft = LimitsFuzzCase.Draw(seed, number).Draft;
        var delays = draft["links"]!.AsArray().ToDictionary(l => l!["between"]![0]!.GetValue<string>(), l => Ns(l!["delay"]!.GetValue<string>()));
        var steps = draft["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
        var fixedPort = steps.Where(s => s["call"]?.GetValue<string>() == "bind" && s["port"]!.GetValue<int>() != 0).Select(s => s["socket"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        int checkedAccepts = 0;
        foreach (var connect in steps.Where(s => s["call"]?.GetValue<string>() == "connect" && fixedPort.Contains(s["socket"]!.GetValue<string>())))
        {
            string server = "s" + connect["socket"]!.GetValue<string>()[1..];
            if (steps.FirstOrDefault(s => s["as"]?.GetValue<string>() == server) is not { } accept) continue;
            long retried = Ns(connect["at"]!.GetValue<string>()) + 5 * delays[connect["host"]!.GetValue<string>()] + LimitsFuzzCase.RetriedSynNs;
            long rearmed = retried + LimitsFuzzCase.RetriedSynNs, accepted = Ns(accept["at"]!.GetValue<string>());
            Assert.True(accepted <= retried - LimitsFuzzCase.AcceptClearNs || accepted >= rearmed + LimitsFuzzCase.AcceptClearNs,
                $"{server} accepted at {accept["at"]}, the retried handshake of {connect["socket"]} completes from {retried / 1e6} to {rearmed / 1e6} ms");
            checkedAccepts++;
        }
        Assert.True(checkedAccepts > 0);
    }

    static long Ns(string duration) => duration.EndsWith("us", StringComparison.Ordinal)
        ? long.Parse(duration[..^2], System.Globalization.CultureInfo.InvariantCulture) * 1000
        : long.Parse(duration[..^2], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000;

    /// <summary>
    /// A seq or ack of the 4-tuple's old incarnation (a challenge ACK's, the RST after it) differs by the ISN clock times the
    /// runner's lateness: up to 12 ms of 64-ns units counts as time; near 0 or further apart it is a difference.
    /// </summary>
    [Theory]
    [InlineData("seq 4287375269 → 4287370859", true)]
    [InlineData("ack 4293092298 → 4293111953", true)]
    [InlineData("ack 4293092298 → 4292892298", false)]
    [InlineData("seq 1 → 4401", false)]
    [InlineData("win 63 → 64", false)]
    public void Judge_OldIncarnationsSequenceNumber_IsTheIsnClock(string what, bool timing) => Assert.Equal(timing, OutcomeDiff.IsnClock(what));
}
