extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile close</c>: the teardown-edge generator is a pure function of (seed, case); every case is a
/// schema-valid scenario the kernel runner takes and passes on the engine within 25 s of virtual time; over 30 cases
/// it draws each story, and the engine's runs show them reached: FINs crossing into CLOSING, a lingering close, and
/// TCP_USER_TIMEOUT aborting a socket (<c>TCPAbortOnTimeout</c>, ETIMEDOUT read back).
/// </summary>
public sealed class CloseFuzzTests
{
    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument() => FuzzTests.AssertDeterministic(CloseFuzzCase.Draw, "fuzz-close-7-3");

    [Fact]
    public void Draw_ThirtyCases_ValidRunOnTheEngineAndReachTheEdgesTheProfileSays()
    {
        var reached = new HashSet<string>(StringComparer.Ordinal);
        for (int number = 0; number < 30; number++)
        {
            var drawn = CloseFuzzCase.Draw(1, number);
            string json = FuzzTests.CalibratedRunningOnTheEngine(drawn, number, CloseFuzzCase.LongestNs);
            var steps = JsonNode.Parse(json)!["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
            foreach (var step in steps)
            {
                if (step["link"]?["loss"]?.GetValue<double>() is > 0 and < 1) reached.Add("loss by segment");
                if (step["option"]?.GetValue<string>() == "SO_LINGER" && step["value"]!["linger"]!.GetValue<int>() > 0) reached.Add("lingering close");
                if (step["option"]?.GetValue<string>() == "TCP_USER_TIMEOUT") reached.Add("TCP_USER_TIMEOUT");
                if (step["option"]?.GetValue<string>() == "SO_ERROR" && step["expect"]?["value"]?.ToString() == "ETIMEDOUT") reached.Add("ETIMEDOUT");
            }
            // Two closes of one instant on the two hosts.
            var closes = steps.Where(s => s["call"]?.GetValue<string>() is "close" or "shutdown").GroupBy(s => s["at"]!.GetValue<string>());
            if (closes.Any(g => g.Select(s => s["host"]!.GetValue<string>()).Distinct().Count() == 2)) reached.Add("closes of one instant");

            var run = ScenarioRunner.Run(ScenarioParser.Parse(json).Document!);
            if (run.Simulation.Journal.OfType<StateChanged>().Any(s => s.To == TcpState.Closing)) reached.Add("CLOSING");
            if (run.Simulation.Hosts.Any(h => h.Mib[MibCounter.TcpExtTCPAbortOnTimeout] > 0)) reached.Add("TCPAbortOnTimeout");
        }
        Assert.Empty(new[] { "loss by segment", "lingering close", "TCP_USER_TIMEOUT", "ETIMEDOUT", "closes of one instant", "CLOSING", "TCPAbortOnTimeout" }.Except(reached));
    }

    /// <summary>The lingering close is the last call of its client process, never a server's, and nothing is killed.</summary>
    [Fact]
    public void Draw_LingeringClose_OnlyAsTheLastCallOfAClientProcess_NoKills()
    {
        for (long seed = 1; seed <= 4; seed++)
            for (int number = 0; number < 30; number++)
            {
                var steps = CloseFuzzCase.Draw(seed, number).Draft["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
                Assert.DoesNotContain(steps, s => s.ContainsKey("kill"));
                for (int i = 0; i < steps.Count; i++)
                {
                    if (steps[i]["option"]?.GetValue<string>() != "SO_LINGER" || steps[i]["value"]!["linger"]!.GetValue<int>() == 0) continue;
                    string process = steps[i]["process"]!.GetValue<string>();
                    Assert.Equal("client", steps[i]["host"]!.GetValue<string>());
                    var later = steps.Skip(i + 1).Where(s => s["process"]?.GetValue<string>() == process).ToList();
                    Assert.True(later.Count == 1 && later[0]["call"]!.GetValue<string>() == "close", $"seed {seed}, case {number}");
                }
            }
    }
}
