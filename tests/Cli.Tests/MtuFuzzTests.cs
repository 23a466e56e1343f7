extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile mtu</c> (session 41): the MTU probing and ECN generator is a pure function of (seed, case);
/// every case is a schema-valid scenario the kernel runner takes and passes on the engine within 30 s of virtual time; over
/// 40 cases it draws each probing and ECN sysctl at each value it names, and the engine's runs reach what the profile is
/// about: black-hole detection cutting the MSS, probes acknowledged and lost, ECN agreed in a handshake, CWR on new data, a
/// retransmitted SYN stripped of ECE and CWR.
/// </summary>
public sealed class MtuFuzzTests
{
    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument() => FuzzTests.AssertDeterministic(MtuFuzzCase.Draw, "fuzz-mtu-7-3");

    [Fact]
    public void Draw_FortyCases_ValidRunOnTheEngineAndReachWhatTheProfileSays()
    {
        var reached = new HashSet<string>(StringComparer.Ordinal);
        for (int number = 0; number < 40; number++)
        {
            string json = FuzzTests.CalibratedRunningOnTheEngine(MtuFuzzCase.Draw(1, number), number, MtuFuzzCase.LongestNs);
            var doc = JsonNode.Parse(json)!;
            foreach (var host in doc["hosts"]!.AsObject())
                foreach (var (name, value) in host.Value!["sysctls"]?.AsObject() ?? [])
                    reached.Add($"{name["net.ipv4.".Length..]} {value}");
            var steps = doc["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
            if (steps.Any(s => s["sysctl"] is not null)) reached.Add("sysctl step");
            if (steps.Any(s => s["link"]?["loss"]?.GetValue<double>() is > 0 and < 1)) reached.Add("loss by segment");

            var run = ScenarioRunner.Run(ScenarioParser.Parse(json).Document!);
            var sent = run.Simulation.Journal.OfType<SegmentSent>().ToList();
            if (run.Simulation.Hosts.Any(h => h.Mib[MibCounter.TcpExtTCPMTUPSuccess] > 0)) reached.Add("probe acknowledged");
            if (run.Simulation.Hosts.Any(h => h.Mib[MibCounter.TcpExtTCPMTUPFail] > 0)) reached.Add("probe lost");
            // tcp_mtu_probing()'s cut (or a failed probe's tcp_simple_retransmit()): a full-sized segment resent shorter from its start.
            var firstLen = new Dictionary<(string, uint), int>();
            foreach (var s in sent.Where(s => s.Len > 0))
                if (!firstLen.TryAdd((s.Host, s.SeqNo), s.Len) && s.Len < firstLen[(s.Host, s.SeqNo)] && firstLen[(s.Host, s.SeqNo)] >= 1400) reached.Add("resent shorter");
            if (sent.Any(s => s.Reason == "tcp_mtu_probe")) reached.Add("probe sent");
            var syns = sent.Where(s => s.Flags == TcpFlags.Syn || s.Flags == (TcpFlags.Syn | TcpFlags.Ece | TcpFlags.Cwr)).ToList();
            if (syns.Count > 1 && syns[0].Flags.Has(TcpFlags.Ece))
                reached.Add(syns[^1].Flags.Has(TcpFlags.Ece) ? "retransmitted SYN keeps ECE|CWR" : "retransmitted SYN falls back");
            if (sent.Any(s => s.Flags == (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Ece))) reached.Add("ECN agreed");
            if (sent.Any(s => s.Len > 0 && s.Flags.Has(TcpFlags.Cwr))) reached.Add("CWR on data");
        }
        string[] wanted =
        [
            "tcp_mtu_probing 0", "tcp_mtu_probing 1", "tcp_mtu_probing 2", "tcp_ecn 0", "tcp_ecn 1", "tcp_ecn 2", "tcp_ecn_fallback 0",
            "tcp_base_mss 512", "tcp_mtu_probe_floor 256", "tcp_min_snd_mss 536", "tcp_probe_interval 1", "tcp_probe_threshold 300", "tcp_retries1 1",
            "tcp_timestamps 0", "tcp_sack 0", "sysctl step", "loss by segment",
            "probe sent", "probe acknowledged", "probe lost", "resent shorter", "retransmitted SYN falls back",
            "ECN agreed", "CWR on data",
        ];
        Assert.Empty(wanted.Except(reached));
    }
}
