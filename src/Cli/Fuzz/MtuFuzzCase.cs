using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "mtu" profile of <c>simservice fuzz --profile mtu</c> (session 41): MTU probing and ECN, which no other profile draws.
/// One connection over a link of 5–21 ms one way; a bulk transfer (one to three MSG_DONTWAIT writes of 20–150 kB under a
/// large SO_SNDBUF) from the client or from the accepted server socket, read now and then; while it runs a one-way black hole,
/// mostly in the data's direction, healed 0.3–8 s later or never (its RTOs past <c>tcp_retries1</c> are
/// <c>tcp_mtu_probing()</c>'s black-hole detection; after the heal, in TCP_CA_Open, <c>tcp_mtu_probe()</c>'s probes), or a
/// loss of 2–10 % of the segments by segment (a lost probe: <c>tcp_mtup_probe_failed()</c>); now and then the handshake's SYN
/// lost (a retransmitted SYN asking for ECN: <c>tcp_ecn_clear_syn()</c> under <c>tcp_ecn_fallback</c>); the sysctls of each
/// host: <c>tcp_mtu_probing</c> 0, 1 or 2, <c>tcp_base_mss</c>, <c>tcp_mtu_probe_floor</c>, <c>tcp_min_snd_mss</c>,
/// <c>tcp_probe_interval</c>, <c>tcp_probe_threshold</c>, <c>tcp_retries1</c>, <c>tcp_ecn</c> 0, 1 or 2,
/// <c>tcp_ecn_fallback</c>, <c>tcp_timestamps</c> and <c>tcp_sack</c> (each changes the MSS or what a probe needs); now and
/// then one of the probing sysctls changed mid-run; the two ends closed (or shut down, then closed) after the transfer. A
/// pure function of (seed, case number), like <see cref="FuzzCase.Draw"/>.
/// </summary>
/// <remarks>
/// Every link is Ethernet's 1500-byte MTU on both sides (the engine has no link MTU and no ICMP "fragmentation needed"), so
/// the path's MTU never shrinks: the black hole that heals is what makes <c>tcp_mtu_probing</c> 1 cut the MSS and probe it
/// back up. Writes are MSG_DONTWAIT (a sleeping send would hold up the runner's later steps).
/// </remarks>
public static class MtuFuzzCase
{
    /// <summary>One-way delays (odd milliseconds, see <see cref="FuzzCase"/>), none under 5 ms as in the loss profile.</summary>
    static readonly int[] DelaysMs = [5, 7, 11, 15, 21];

    /// <summary>The latest end of a case's virtual time.</summary>
    public const long LongestNs = 30_000_000_000;

    /// <summary>How near a step may come to the arrivals of what earlier steps sent: the loss profile's (a bulk transfer's bursts).</summary>
    const long RaceNs = 12_000_000;

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the mtu profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("mtu", 0x3707e5, seed, number, random => new Drawer(random));

    /// <summary>The probing sysctls a step may change mid-run, each with the values drawn (read at an RTO, a probe or a reprobe).</summary>
    static readonly (string Name, int[] Values)[] MidRun =
    [
        ("tcp_mtu_probing", [0, 1, 2]), ("tcp_probe_interval", [1, 2]), ("tcp_probe_threshold", [8, 100, 1000]),
        ("tcp_base_mss", [512, 1024]), ("tcp_mtu_probe_floor", [48, 512]), ("tcp_retries1", [1, 3]),
    ];

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random, RaceNs)
    {
        public override JsonObject Document(string name)
        {
            var hosts = ClientAndServer();
            long d = Pick(DelaysMs) * 1_000_000L;
            Delays = [d, 2 * d];
            var links = new JsonArray(new JsonObject
            {
                ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(d), ["loss"] = 0, ["lossBySegment"] = true,
            });

            // The handshake, its first SYN lost one time in four (retransmitted 1 s on), then the accept once it is done.
            bool synLost = Chance(0.25);
            if (synLost)
            {
                Add(0, FuzzSteps.LinkLoss("client->server", 1.0));
                Add(Ms(100, 900), FuzzSteps.LinkLoss("client->server", 0.0));
            }
            var (pairs, at) = ListenConnectAccept(1, 0, (synLost ? 1_000_000_000 : 0) + 2 * d + 10_000_000);
            var (client, server) = pairs[0];
            var (sender, reader) = Chance(0.7) ? (client, server) : (server, client);
            string toReader = sender == client ? "client->server" : "server->client";

            // The transfer: a send buffer that takes it all (SO_SNDBUF 212992, net.core.wmem_max, doubled), one to three writes.
            at = Away(at + 5_000_000);
            Add(at, Call(sender, "setsockopt", FuzzSteps.Option("SO_SNDBUF", 212_992)));
            long start = at = Away(at + 1_000_000);
            for (int w = 1 + Below(3); w > 0; w--)
            {
                Add(at, Call(sender, "send", new JsonObject { ["bytes"] = 20_000 + Below(130_001), ["flags"] = new JsonArray("MSG_DONTWAIT") }));
                at = Away(at + Ms(1, 400));
            }

            // The path: a black hole (mostly the data's way) healed or not, or a loss by segment lifted or not; or neither.
            long last = at;
            switch (Below(10))
            {
                case < 6:
                    string way = Chance(0.8) ? toReader : Reverse(toReader);
                    long dark = Away(start + Ms(0, 300));
                    Add(dark, FuzzSteps.LinkLoss(way, 1.0));
                    last = dark;
                    if (Chance(0.85)) Add(last = Away(dark + Ms(300, 8000)), FuzzSteps.LinkLoss(way, 0.0));
                    break;
                case < 9:
                    long lossy = Away(start + Ms(0, 200));
                    Add(lossy, FuzzSteps.LinkLoss(toReader, Pick(new[] { 0.02, 0.05, 0.1 })));
                    last = lossy;
                    if (Chance(0.6)) Add(last = Away(lossy + Ms(500, 6000)), FuzzSteps.LinkLoss(toReader, 0.0));
                    break;
            }

            // A probing sysctl changed on one host mid-run, now and then.
            if (Chance(0.3))
            {
                var (sysctl, values) = Pick(MidRun);
                Add(Away(start + Ms(50, 4000)), FuzzSteps.Sysctl(Chance(0.7) ? sender.Host : reader.Host, $"net.ipv4.{sysctl}", Pick(values)));
            }

            // Reads on the receiving end from the start of the transfer to past the heal.
            long readUntil = Math.Max(at, last) + Ms(500, 3000);
            for (int r = 2 + Below(5); r > 0; r--)
                Add(Away(start + Ms(20, Math.Max(21, (readUntil - start) / 1_000_000))), Call(reader, "recv", new JsonObject { ["flags"] = new JsonArray("MSG_DONTWAIT") }));

            // The teardown: each end closes (or shuts down, then closes) after the transfer, in either order.
            at = readUntil;
            foreach (var end in Chance(0.5) ? new[] { sender, reader } : [reader, sender])
            {
                at = Away(at + Ms(5, 2000));
                if (Chance(0.25))
                {
                    Add(at, Call(end, "shutdown", new JsonObject { ["how"] = "SHUT_WR" }));
                    at = Away(at + Ms(5, 1000));
                }
                Add(at, Call(end, "close", []));
            }
            return Finish(name,
                "Drawn by simservice fuzz --profile mtu: a bulk transfer under MTU probing (tcp_mtu_probing 0, 1, 2 and the sysctls of its search) and ECN (tcp_ecn 0, 1, 2, tcp_ecn_fallback) on each side, through a black hole that heals or a loss by segment, a SYN lost now and then; run on the engine and on the kernel.",
                hosts, links, at, 4000, LongestNs);
        }

        static string Reverse(string direction) => direction == "client->server" ? "server->client" : "client->server";

        /// <summary>A host's probing and ECN sysctls, each drawn or left at its default.</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            sysctls.Maybe(0.8, "tcp_mtu_probing", Pick(new[] { 0, 1, 2 }));
            sysctls.Maybe(0.3, "tcp_base_mss", Pick(new[] { 256, 512, 1024, 1200 }));
            sysctls.Maybe(0.25, "tcp_mtu_probe_floor", Pick(new[] { 48, 256, 576 }));
            sysctls.Maybe(0.2, "tcp_min_snd_mss", Pick(new[] { 48, 256, 536 }));
            sysctls.Maybe(0.3, "tcp_probe_interval", Pick(new[] { 1, 2, 5 }));
            sysctls.Maybe(0.3, "tcp_probe_threshold", Pick(new[] { 0, 8, 64, 300 }));
            sysctls.Maybe(0.4, "tcp_retries1", 1 + Below(2));
            sysctls.Maybe(0.6, "tcp_ecn", Pick(new[] { 0, 1, 2 }));
            sysctls.Maybe(0.3, "tcp_ecn_fallback", 0);
            sysctls.Maybe(0.2, "tcp_timestamps", 0);
            sysctls.Maybe(0.15, "tcp_sack", 0);
            return sysctls.Host(address);
        }
    }
}
