using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "timers" profile of <c>simservice fuzz --profile timers</c>: teardown driven by timers under loss. One or two
/// connections over a link of 1–49 ms one-way delay, data in flight (or a zero window from a peer that never reads)
/// when a one-way or two-way black hole starts, then close, shutdown, kill and SO_LINGER in random order, random
/// <c>tcp_retries1</c>/<c>tcp_retries2</c>, <c>tcp_orphan_retries</c>, <c>tcp_fin_timeout</c>, keepalive sysctls and
/// per-socket <c>TCP_USER_TIMEOUT</c>, keepalive options and <c>TCP_LINGER2</c> (negative too), the black hole lifted
/// at a random moment or never, expect steps; since session 33, drawn last, a timer sysctl of one host changed while the
/// timers run; 8–90 s of virtual time. A pure function of (seed, case number), like
/// <see cref="FuzzCase.Draw"/>; the calls' results and sockstats are written in by <see cref="FuzzCase.Calibrate"/>.
/// </summary>
/// <remarks>
/// Loss is 0 or 1 only: a loss between them is drawn by the engine's generator and by the link emulator's differently,
/// so the two sides would lose other segments. A lingering close (SO_LINGER on with a timeout) only on a client's own
/// process, which is then never killed (its exit would sleep in close() and hold up every later step on the kernel).
/// </remarks>
public static class TimersFuzzCase
{
    /// <summary>One-way delays (odd milliseconds: an RTT of a multiple of 4 ms puts the RTO exactly on a jiffy, see <see cref="FuzzCase"/>).</summary>
    static readonly int[] DelaysMs = [1, 3, 5, 7, 11, 15, 21, 31, 41, 49];

    /// <summary>The latest end of a case's virtual time: the kernel runner refuses a scenario of more than ~130 s.</summary>
    public const long LongestNs = 90_000_000_000;

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the timers profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("timers", 0x7153e5, seed, number, random => new Drawer(random));

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random)
    {
        /// <summary>When the black hole started: the timers run from then on.</summary>
        long _holeAt;

        public override JsonObject Document(string name)
        {
            var hosts = ClientAndServer();
            long d = Pick(DelaysMs) * 1_000_000L;
            Delays = [d];
            var links = new JsonArray(new JsonObject { ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(d) });

            // One or two connections, each from its own client process, handshakes 8 ms + a delay apart; accepted in order.
            var (pairs, at) = ListenConnectAccept(1 + Below(2), d + 8_000_000, 3 * d + 10_000_000);

            // Timer options on the ends, before anything is sent.
            var lingering = new HashSet<string>(StringComparer.Ordinal);
            foreach (var end in pairs.SelectMany(p => new[] { p.Client, p.Server }))
                foreach (var option in Options(Below(3), end.Host == "client"))
                {
                    if (option["option"]!.GetValue<string>() == "SO_LINGER" && option["value"]!["linger"]!.GetValue<int>() > 0) lingering.Add(end.Process);
                    Add(at, Call(end, "setsockopt", option));
                }
            at += 5_000_000;

            // Data in flight: each connection's sender writes past a window, or keeps writing to a peer that never reads
            // (a zero window: persist probes, and once the sender closes, an orphan in FIN-WAIT-1).
            foreach (var (client, server) in pairs)
            {
                var sender = Chance(0.5) ? client : server;
                bool zeroWindow = Chance(0.35);
                int writes = zeroWindow ? 3 + Below(4) : 1 + Below(2);
                for (int w = 0; w < writes; w++)
                {
                    at = Away(at + Ms(1, zeroWindow ? 300 : 40));
                    int bytes = zeroWindow ? 200_000 + Below(800_000) : 1 + Below(Chance(0.5) ? 3000 : 60_000);
                    Add(at, Call(sender, "send", new JsonObject { ["bytes"] = bytes, ["flags"] = new JsonArray("MSG_DONTWAIT") }));
                }
            }

            // The black hole: one way or both, within a round trip of the last write (data in flight), or later.
            long holeAt = _holeAt = Away(at + (Chance(0.7) ? Ms(1, Math.Max(2, 2 * d / 1_000_000)) : Ms(100, 3000)));
            string[] directions = Below(3) switch
            {
                0 => ["client->server"],
                1 => ["server->client"],
                _ => ["client->server", "server->client"],
            };
            foreach (var direction in directions) Add(holeAt, FuzzSteps.LinkLoss(direction, 1.0));
            long liftAt = Chance(0.6) ? holeAt + Ms(200, 40_000) : long.MaxValue;

            // The teardown calls on every end, in random order at random gaps; the lift and expect steps among them.
            var ends = pairs.SelectMany(p => new[] { p.Client, p.Server }).ToList();
            var closed = new HashSet<string>(StringComparer.Ordinal);
            at = holeAt;
            bool serverKilled = false;
            foreach (var end in ends.OrderBy(_ => Below(1000)).ToList())
            {
                at = Away(at + (Chance(0.5) ? Ms(5, 500) : Ms(500, 8000)));
                if (liftAt <= at)
                {
                    Lift(directions, liftAt = Away(liftAt));
                    at = Away(Math.Max(at, liftAt + 1_000_000));
                    liftAt = long.MaxValue;
                }
                if (Chance(0.2)) Add(at = Away(at), new JsonObject { ["expect"] = new JsonObject() });
                at = Away(at + 6_000_000);
                if (closed.Contains(end.Alias)) continue;
                int kind = Below(100);
                if (kind < 15)
                {
                    Add(at, Call(end, "shutdown", new JsonObject { ["how"] = Pick(new[] { "SHUT_WR", "SHUT_RDWR" }) }));
                    if (Chance(0.5)) continue;
                    at = Away(at + Ms(5, 3000));
                }
                if (kind is >= 15 and < 27 && end.Host == "client" && !lingering.Contains(end.Process))
                {
                    Add(at, FuzzSteps.Kill("client", end.Process));
                    closed.Add(end.Alias);
                    continue;
                }
                if (kind is >= 15 and < 22 && end.Host == "server" && !serverKilled)
                {
                    // The server's process: its listener and every accepted connection closed at once.
                    Add(at, FuzzSteps.Kill("server", "srv"));
                    foreach (var s in ends.Where(e => e.Host == "server")) closed.Add(s.Alias);
                    serverKilled = true;
                    continue;
                }
                if (kind is >= 27 and < 40)
                    Add(at, Call(end, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject
                    {
                        ["onoff"] = 1, ["linger"] = end.Host == "client" && Chance(0.3) ? 1 + Below(2) : 0,
                    })));
                Add(at, Call(end, "close", []));
                closed.Add(end.Alias);
            }
            if (liftAt != long.MaxValue && Chance(0.7)) Lift(directions, at = Away(Math.Max(at + 6_000_000, liftAt)));

            // The end: an expect step a random time on, then a run-until that keeps the whole case within LongestNs.
            return Finish(name,
                "Drawn by simservice fuzz --profile timers: data in flight or a zero window when a black hole starts, teardown calls, timer sysctls and options; run on the engine and on the kernel.",
                hosts, links, at, 25_000, LongestNs, SysctlChanged);
        }

        /// <summary>
        /// Since session 33, drawn after everything else (a case without it is the one its seed drew before): with
        /// probability 0.4 a <c>sysctl</c> step on one host between the black hole and 2 s after <paramref name="at"/>
        /// (the last teardown call; <c>tcp_retries2</c> in the first half of that span), while retransmissions, probes and the teardown's timers run, setting one timer
        /// sysctl the kernel reads when a timer fires or a state is entered: <c>tcp_retries2</c> (tcp_write_timeout(),
        /// tcp_probe_timer() of a socket not yet orphaned), <c>tcp_orphan_retries</c> (tcp_orphan_retries() of an
        /// orphan's), <c>tcp_fin_timeout</c> (tcp_fin_time() at close(), at the FIN's ACK and in tcp_keepalive_timer()),
        /// <c>tcp_keepalive_intvl</c>/<c>tcp_keepalive_probes</c> (keepalive_intvl_when(), keepalive_probes() of a
        /// socket without TCP_KEEPINTVL/TCP_KEEPCNT) — a timer armed before the change keeps its expiry and reads the
        /// new value when it fires. The later of the step's time and <paramref name="at"/>.
        /// </summary>
        long SysctlChanged(long at)
        {
            if (!Chance(0.4)) return at;
            string host = Chance(0.5) ? "client" : "server";
            var (sysctl, value) = Below(8) switch
            {
                < 3 => ("tcp_retries2", 1 + Below(6)),
                < 5 => ("tcp_orphan_retries", Below(4)),
                < 7 => ("tcp_fin_timeout", Pick(new[] { 1, 2, 5, 10, 30 })),
                _ => Chance(0.5) ? ("tcp_keepalive_intvl", 1 + Below(3)) : ("tcp_keepalive_probes", 1 + Below(4)),
            };
            // tcp_retries2 in the span's first half, while most ends are open (an orphan's retries are tcp_orphan_retries).
            long latest = Math.Min(at + 2_000_000_000, LongestNs - 3_000_000_000);
            if (sysctl == "tcp_retries2") latest = _holeAt + (latest - _holeAt) / 2;
            long t = Away(_holeAt + Ms(0, Math.Max(1, (latest - _holeAt) / 1_000_000)));
            Add(t, FuzzSteps.Sysctl(host, $"net.ipv4.{sysctl}", value));
            return Math.Max(at, t);
        }

        void Lift(string[] directions, long at)
        {
            foreach (var direction in directions) Add(at, FuzzSteps.LinkLoss(direction, 0.0));
        }

        /// <summary><paramref name="count"/> timer options: TCP_USER_TIMEOUT, keepalive, TCP_LINGER2, SO_LINGER.</summary>
        IEnumerable<JsonObject> Options(int count, bool lingerMayWait)
        {
            for (int i = 0; i < count; i++)
            {
                switch (Below(6))
                {
                    case 0:
                        yield return FuzzSteps.Option("TCP_USER_TIMEOUT", Pick(new[] { 500, 1500, 3000, 6000, 12_000, 25_000 }));
                        break;
                    case 1:
                        yield return FuzzSteps.Option("SO_KEEPALIVE", 1);
                        yield return FuzzSteps.Option("TCP_KEEPIDLE", 1 + Below(4));
                        break;
                    case 2:
                        yield return FuzzSteps.Option(Chance(0.5) ? "TCP_KEEPINTVL" : "TCP_KEEPCNT", 1 + Below(3));
                        break;
                    case 3:
                        yield return FuzzSteps.Option("TCP_LINGER2", Pick(new[] { -1, 0, 1, 3, 8 }));
                        break;
                    default:
                        int linger = lingerMayWait && Chance(0.3) ? 1 + Below(2) : 0;
                        yield return FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = Chance(0.8) ? 1 : 0, ["linger"] = linger });
                        break;
                }
            }
        }

        /// <summary>A host's timer sysctls, each drawn or left at its default.</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            sysctls.Maybe(0.3, "tcp_retries1", 1 + Below(3));
            sysctls.Maybe(0.5, "tcp_retries2", 1 + Below(6));
            sysctls.Maybe(0.5, "tcp_orphan_retries", Below(4));
            sysctls.Maybe(0.4, "tcp_fin_timeout", Pick(new[] { 1, 2, 5, 10, 30 }));
            sysctls.Maybe(0.3, "tcp_keepalive_time", 1 + Below(5));
            sysctls.Maybe(0.3, "tcp_keepalive_intvl", 1 + Below(3));
            sysctls.Maybe(0.3, "tcp_keepalive_probes", 1 + Below(4));
            return sysctls.Host(address);
        }
    }
}
