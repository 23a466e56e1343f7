using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "workload" profile of <c>simservice fuzz --profile workload</c>: a small <c>workload</c> step (1–6 connections of a
/// client to a server, a request and a response of 0–40,000 bytes, a think time, either end or both closing first in
/// any <c>closeStyle</c>, the workload's socket options) over a link that loses by segment, under per-namespace sysctls
/// no other profile draws (<c>tcp_window_scaling</c>, <c>tcp_retries1</c> — which the timers profile draws too —, <c>tcp_rto_min_us</c>, <c>tcp_rto_max_ms</c>,
/// <c>tcp_syn_linear_timeouts</c>, <c>tcp_thin_linear_timeouts</c>, <c>tcp_slow_start_after_idle</c>,
/// <c>tcp_shrink_window</c>, <c>tcp_challenge_ack_limit</c>, <c>tcp_invalid_ratelimit</c>, the <c>tcp_comp_sack_*</c>
/// three, <c>tcp_pingpong_thresh</c>, <c>tcp_backlog_ack_defer</c>, <c>tcp_app_win</c>, <c>tcp_adv_win_scale</c>,
/// <c>tcp_moderate_rcvbuf</c>, <c>tcp_no_metrics_save</c>, <c>tcp_reordering</c>, <c>tcp_max_reordering</c>,
/// <c>tcp_retrans_collapse</c>, <c>tcp_workaround_signed_windows</c>, <c>tcp_congestion_control</c> reno,
/// <c>tcp_min_rtt_wlen</c>, <c>tcp_early_demux</c>, <c>tcp_migrate_req</c>); while the connections close, sysctl steps on
/// either host and link changes: a one-way black hole healed later, a one-way loss of 5–30 % of the segments (the same
/// ones on both sides: <c>lossBySegment</c>) lifted or not, a one-way delay raised. A pure function of (seed, case number),
/// like <see cref="FuzzCase.Draw"/>.
/// </summary>
/// <remarks>
/// Kept within what the kernel runner takes for a workload (README "Workload steps on the kernel"): named clients, at
/// most 6 connections arriving at least 5 ms apart. The machine-wide sysctls (<c>net.core.*</c>, <c>tcp_mem</c>,
/// <c>tcp_max_orphans</c>) and those the engine takes at their default only (<c>SysctlDefinition.DefaultOnly</c>) are
/// not drawn; nor are the port sysctls (<c>ip_local_reserved_ports</c>, <c>ip_unprivileged_port_start</c>), which only
/// move which ephemeral port a connection gets. A raised delay keeps the round trip off a multiple of 4 ms (see
/// <see cref="FuzzCase"/>) and is raised from the delay in force at its time, so never lowers one: a segment overtaking an earlier one would be a reordering the link
/// emulator does not make.
/// </remarks>
public static class WorkloadFuzzCase
{
    /// <summary>
    /// One-way delays (odd milliseconds, see <see cref="FuzzCase"/>), none under 5 ms as in the loss profile: over a 1 ms
    /// link a lossy bulk transfer's segments leave the link emulator ~1 ms after the engine's, and a timer armed then
    /// lands in the next jiffy (fuzz-workload-39001-5: a FIN sent at 263 ms on the engine, 264.13 ms on the kernel, each
    /// retransmitted 52 jiffies on, 468 and 472.1 ms).
    /// </summary>
    static readonly int[] DelaysMs = [5, 7, 11, 15, 21];

    /// <summary>The latest end of a case's virtual time.</summary>
    public const long LongestNs = 30_000_000_000;

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the workload profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("workload", 0x3014ad, seed, number, random => new Drawer(random));

    /// <summary>The sysctls a step may change mid-run, each with the values drawn (all read when a timer fires, a state is entered or a segment arrives).</summary>
    static readonly (string Name, int[] Values)[] MidRun =
    [
        ("tcp_fin_timeout", [1, 2, 5]), ("tcp_orphan_retries", [0, 1, 2]), ("tcp_retries2", [1, 2, 3]),
        ("tcp_rto_min_us", [50_000, 100_000]), ("tcp_rto_max_ms", [1000, 2000]), ("tcp_timestamps", [0]), ("tcp_sack", [0]),
        ("tcp_window_scaling", [0]), ("tcp_no_metrics_save", [1]), ("tcp_tw_reuse", [0, 1, 2]), ("tcp_max_tw_buckets", [0, 1, 2]),
        ("tcp_synack_retries", [1, 2]), ("tcp_syn_retries", [1, 2]), ("tcp_shrink_window", [1]), ("tcp_slow_start_after_idle", [0]),
    ];

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random)
    {
        public override JsonObject Document(string name)
        {
            var hosts = ClientAndServer();
            long d = Pick(DelaysMs) * 1_000_000L;
            Delays = [d];
            var links = new JsonArray(new JsonObject
            {
                ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(d), ["loss"] = 0, ["lossBySegment"] = true,
            });

            // The workload: its listener and first connection at 1 ms, the others 5–50 ms apart.
            int count = 1 + Below(6);
            int rate = Pick(new[] { 20, 50, 100, 200 });
            long think = Chance(0.5) ? 0 : Ms(1, 300);
            var spec = new JsonObject
            {
                ["clients"] = new JsonArray("client"), ["server"] = "server", ["rate"] = rate, ["count"] = count,
                ["requestBytes"] = Bytes(), ["responseBytes"] = Bytes(),
            };
            if (think > 0) spec["thinkTime"] = FuzzSteps.Duration(think);
            string style = Pick(new[] { "close", "shutdown-then-close", "linger-zero", "linger", "kill" });
            // A kill is the client's: the server's one process holds every accepted connection.
            spec["closeFirst"] = style == "kill" ? "client" : Pick(new[] { "client", "server", "both" });
            spec["closeStyle"] = style;
            if (style == "linger") spec["lingerSeconds"] = Below(3);
            if (Chance(0.3)) spec["reuseaddr"] = true;
            if (Chance(0.2)) spec["linger2"] = Pick(new[] { -1, 0, 1, 3 });
            if (Chance(0.2)) spec["keepalive"] = true;
            if (Chance(0.2)) spec["userTimeoutMs"] = Pick(new[] { 500, 1500, 3000 });
            Add(1_000_000, new JsonObject { ["workload"] = spec });
            Departures.AddRange(Enumerable.Range(0, count).Select(i => 1_000_000 + (long)Math.Floor(i * (1e9 / rate))));

            // The closes come about a request's and a response's round trips and the think time after each arrival.
            long lastArrival = 1_000_000 + (count - 1) * 1_000_000_000L / rate;
            long closing = lastArrival + think + 6 * d;
            long at = 1_000_000;

            // Link changes and sysctl steps while the connections close (1 ms after the first arrival to 0.5 s past the last close),
            // their times drawn first and taken in order: a delay is raised from the one in force then (review39b S-2: two raises
            // drawn out of time order each from the link's first delay lowered it mid-run, 15 ms then 9 ms).
            int changes = Below(4);
            var times = Enumerable.Range(0, changes).Select(_ => Away(2_000_000 + Ms(0, Math.Max(1, (closing + 500_000_000 - 2_000_000) / 1_000_000)))).ToList();
            times.Sort();
            long[] oneWay = [d, d]; // client->server, server->client
            foreach (long t in times)
                at = Math.Max(at, Below(3) switch
                {
                    0 => BlackHole(t),
                    1 => Loss(t),
                    _ => SlowerOrSysctl(t, oneWay),
                });
            if (Chance(0.25)) Add(Away(Math.Max(2_000_000, Ms(2, Math.Max(3, closing / 1_000_000)))), new JsonObject { ["expect"] = new JsonObject() });

            return Finish(name,
                "Drawn by simservice fuzz --profile workload: a small workload under sysctls the other profiles never draw, with sysctl steps and link changes (a black hole healed, loss by segment, a slower direction) while it closes; run on the engine and on the kernel.",
                hosts, links, Math.Max(at, closing), 4000, LongestNs);
        }

        /// <summary>Request and response sizes: none, a byte, a segment's worth, a few segments, a window's worth.</summary>
        int Bytes() => Pick(new[] { 0, 1, 100, 1448, 5000, 40_000 });

        static string Direction(bool toServer) => toServer ? "client->server" : "server->client";

        /// <summary>A one-way black hole from <paramref name="at"/>, healed 0.1–3 s later (or, one time in five, never); the time of the last step.</summary>
        long BlackHole(long at)
        {
            string direction = Direction(Chance(0.5));
            Add(at, FuzzSteps.LinkLoss(direction, 1.0));
            if (Chance(0.2)) return at;
            long healed = Away(at + Ms(100, 3000));
            Add(healed, FuzzSteps.LinkLoss(direction, 0.0));
            return healed;
        }

        /// <summary>One direction losing 5–30 % of its segments by segment, lifted 0.1–3 s later or never; the time of the last step.</summary>
        long Loss(long at)
        {
            string direction = Direction(Chance(0.5));
            Add(at, FuzzSteps.LinkLoss(direction, Pick(new[] { 0.05, 0.1, 0.2, 0.3 })));
            if (Chance(0.4)) return at;
            long lifted = Away(at + Ms(100, 3000));
            Add(lifted, FuzzSteps.LinkLoss(direction, 0.0));
            return lifted;
        }

        /// <summary>
        /// One direction's delay raised from the one it has (<paramref name="oneWay"/>: client->server, server->client, updated),
        /// the round trip — it and the other direction's — kept off a multiple of 4 ms; or a sysctl of one host changed.
        /// </summary>
        long SlowerOrSysctl(long at, long[] oneWay)
        {
            if (Chance(0.3))
            {
                int way = Chance(0.5) ? 0 : 1;
                long raised = oneWay[way] + 2_000_000 * (1 + Below(5)), other = oneWay[1 - way];
                if ((other + raised) / 1_000_000 % 4 == 0) raised += 2_000_000;
                oneWay[way] = raised;
                Delays = [.. Delays.Append(raised).Append(other + raised).Distinct()];
                Add(at, FuzzSteps.LinkChange(Direction(way == 0), new JsonObject { ["delay"] = FuzzSteps.Duration(raised) }));
                return at;
            }
            var (sysctl, values) = Pick(MidRun);
            Add(at, FuzzSteps.Sysctl(Chance(0.5) ? "client" : "server", $"net.ipv4.{sysctl}", Pick(values)));
            return at;
        }

        /// <summary>A host's sysctls: teardown ones now and then, and each of those no other profile draws one time in nine.</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            sysctls.Maybe(0.2, "tcp_fin_timeout", Pick(new[] { 1, 2, 5 }));
            sysctls.Maybe(0.2, "tcp_orphan_retries", Below(3));
            sysctls.Maybe(0.2, "tcp_retries2", 1 + Below(5));
            const double p = 1.0 / 9;
            sysctls.Maybe(p, "tcp_window_scaling", 0);
            sysctls.Maybe(p, "tcp_retries1", 1 + Below(4));
            sysctls.Maybe(p, "tcp_rto_min_us", Pick(new[] { 20_000, 50_000, 100_000, 300_000 }));
            sysctls.Maybe(p, "tcp_rto_max_ms", Pick(new[] { 1000, 2000, 5000 }));
            sysctls.Maybe(p, "tcp_syn_linear_timeouts", Below(5));
            sysctls.Maybe(p, "tcp_thin_linear_timeouts", 1);
            sysctls.Maybe(p, "tcp_slow_start_after_idle", 0);
            sysctls.Maybe(p, "tcp_shrink_window", 1);
            sysctls.Maybe(p, "tcp_challenge_ack_limit", Pick(new[] { 1, 2, 100 }));
            sysctls.Maybe(p, "tcp_invalid_ratelimit", Pick(new[] { 0, 100, 2000 }));
            sysctls.Maybe(p, "tcp_comp_sack_nr", Pick(new[] { 0, 1, 5 }));
            sysctls.Maybe(p, "tcp_comp_sack_delay_ns", Pick(new[] { 100_000, 5_000_000 }));
            sysctls.Maybe(p, "tcp_comp_sack_slack_ns", Pick(new[] { 0, 1_000_000 }));
            sysctls.Maybe(p, "tcp_pingpong_thresh", 1 + Below(3));
            sysctls.Maybe(p, "tcp_backlog_ack_defer", 0);
            sysctls.Maybe(p, "tcp_app_win", Pick(new[] { 0, 1, 31 }));
            sysctls.Maybe(p, "tcp_adv_win_scale", Pick(new[] { -2, 0, 2 }));
            sysctls.Maybe(p, "tcp_moderate_rcvbuf", 0);
            sysctls.Maybe(p, "tcp_no_metrics_save", 1);
            sysctls.Maybe(p, "tcp_reordering", Pick(new[] { 1, 10 }));
            sysctls.Maybe(p, "tcp_max_reordering", Pick(new[] { 3, 10 }));
            sysctls.Maybe(p, "tcp_retrans_collapse", 0);
            sysctls.Maybe(p, "tcp_workaround_signed_windows", 1);
            sysctls.Maybe(p, "tcp_congestion_control", "reno");
            sysctls.Maybe(p, "tcp_min_rtt_wlen", Pick(new[] { 0, 1, 10 }));
            sysctls.Maybe(p, "tcp_early_demux", 0);
            sysctls.Maybe(p, "tcp_migrate_req", 1);
            return sysctls.Host(address);
        }
    }
}
