using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "close" profile of <c>simservice fuzz --profile close</c> (session 30): teardown edges the other profiles reach
/// seldom or never. One or two connections over one link of 5–41 ms (odd), each telling one story: <b>crossing-close</b>
/// — both ends close (or shut down for writing) at the same instant or less than a one-way delay apart, so the FINs
/// cross (CLOSING, TIME-WAIT on both ends), sometimes with data unread or <c>SO_LINGER</c> {1, 0} on one end (an RST
/// crossing a FIN), over a link that from after the handshakes loses a drawn share of each direction's segments by
/// segment (the same ones on both sides: a FIN, its ACK, a retransmitted FIN); <b>linger-zero-window</b> — a client
/// writes past a peer that never reads (a zero window), then closes with <c>SO_LINGER</c> {1, N}: close() sleeps the
/// linger time with the FIN unsent, and the orphan probes the window (<c>tcp_orphan_retries</c>) until the peer reads,
/// closes with data unread (an RST) or never; <b>user-timeout-zero-window</b> — an end with <c>TCP_USER_TIMEOUT</c> (set
/// before the writes, or once the window has closed) writes past a peer that answers its window probes but never reads:
/// the user timeout counts from the first unanswered-by-data probe (<c>icsk_probes_tstamp</c>), not the last ACK; the
/// writer may close meanwhile (an orphan), the peer may read once (the window reopens), and after the timeout the
/// writer's <c>SO_ERROR</c>, send and recv and the peer's send and recv look at the abort. A pure function of (seed,
/// case number), like <see cref="FuzzCase.Draw"/>; the calls' results and sockstats are written in by
/// <see cref="FuzzCase.Calibrate"/>.
/// </summary>
/// <remarks>
/// Sends and receives are MSG_DONTWAIT; the lingering close is the last call of a client process of its own, and no
/// process is killed. Two closes drawn for one instant are two steps at that instant on two hosts: the kernel runner
/// runs them microseconds apart, far less than the link's 5 ms. Other steps keep clear of the arrivals of earlier ones
/// (<see cref="FuzzDrawer"/>).
/// </remarks>
public static class CloseFuzzCase
{
    /// <summary>One-way delays (odd milliseconds, see <see cref="FuzzCase"/>); 5 ms and up, so that two closes of one instant cross.</summary>
    static readonly int[] DelaysMs = [5, 7, 11, 15, 21, 31, 41];

    /// <summary>A direction's loss by segment from after the handshakes (a crossing close has few segments: high shares too).</summary>
    static readonly double[] Losses = [0, 0, 0.1, 0.2, 0.3, 0.5];

    /// <summary>The latest end of a case's virtual time.</summary>
    public const long LongestNs = 25_000_000_000;

    /// <summary>The stories a connection tells, by the name the tests count them under.</summary>
    public static readonly string[] Stories = ["crossing-close", "linger-zero-window", "user-timeout-zero-window"];

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the close profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("close", 0xc105e0, seed, number, random => new Drawer(random));

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random)
    {
        long _d;

        /// <summary>Past this after a writer's last write, its peer's window has closed: slow start has filled the peer's buffer.</summary>
        long WindowClosed => 16 * _d + 300_000_000;

        public override JsonObject Document(string name)
        {
            var hosts = ClientAndServer();
            _d = Pick(DelaysMs) * 1_000_000L;
            Delays = [_d];
            var links = new JsonArray(new JsonObject
            {
                ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(_d), ["loss"] = 0, ["lossBySegment"] = true,
            });

            // One or two connections, each from its own client process, handshakes d + 8 ms apart; accepted in order; a story each.
            var (ends, at) = ListenConnectAccept(1 + Below(2), _d + 8_000_000, 3 * _d + 10_000_000);
            var pairs = ends.Select(p => (p.Client, p.Server, Story: Pick(Stories))).ToList();

            // The loss by segment, each direction its own, from after the handshakes: drawn when a crossing close is told.
            if (pairs.Any(p => p.Story == "crossing-close") && Chance(0.7))
                foreach (var direction in new[] { "client->server", "server->client" })
                    if (Pick(Losses) is > 0 and var loss) Add(at, FuzzSteps.LinkLoss(direction, loss));

            long end = at;
            foreach (var (client, server, story) in pairs)
            {
                long start = at + Ms(1, 300);
                end = Math.Max(end, story switch
                {
                    "crossing-close" => CrossingClose(client, server, start),
                    "linger-zero-window" => LingerZeroWindow(client, server, start),
                    _ => UserTimeoutZeroWindow(client, server, start),
                });
            }
            return Finish(name,
                "Drawn by simservice fuzz --profile close: crossing closes over a link losing segments by segment, a lingering close against a zero window, TCP_USER_TIMEOUT against a zero window whose probes are answered; run on the engine and on the kernel.",
                hosts, links, end, 6000, LongestNs);
        }

        /// <summary>A step at <paramref name="at"/> moved clear of earlier arrivals; its time.</summary>
        long Place(long at, JsonObject step)
        {
            at = Away(at);
            Add(at, step);
            return at;
        }

        /// <summary>Both ends close or shut down for writing at one instant or less than a delay apart; the time of the story's last step.</summary>
        long CrossingClose(End c, End s, long at)
        {
            bool clientWrites = Chance(0.6), serverWrites = Chance(0.5);
            if (clientWrites) at = Place(at, Call(c, "send", Send(1 + Below(3000))));
            if (serverWrites) at = Place(at + Ms(1, 30), Call(s, "send", Send(1 + Below(3000))));
            // Read what came (or leave it unread: that end's close sends an RST, not a FIN); on one end now and then
            // SO_LINGER {1, 0}, an RST as well.
            at += 2 * _d + Ms(5, 100);
            if (clientWrites && Chance(0.7)) at = Place(at, Call(s, "recv", Recv()));
            if (serverWrites && Chance(0.7)) at = Place(at + 1_000_000, Call(c, "recv", Recv()));
            var (first, second) = Chance(0.5) ? (c, s) : (s, c);
            if (Chance(0.15))
                at = Place(at + Ms(1, 20), Call(Chance(0.5) ? first : second, "setsockopt",
                    FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 0 })));
            // The two closes: the second at the first's instant, or 6 ms to a delay less 6 ms after it (before the
            // first's FIN arrives, clear of the runner's lag).
            long firstAt = Place(at + Ms(1, 50), Closing(first, out bool firstShut));
            long maxGapMs = _d / 1_000_000 - 6;
            long secondAt = maxGapMs >= 6 && Chance(0.6) ? firstAt + Ms(6, maxGapMs + 1) : firstAt;
            Add(secondAt, Closing(second, out bool secondShut));
            at = secondAt;
            // An end shut for writing reads the peer's FIN (or RST) later, and closes.
            foreach (var (end, shut) in new[] { (first, firstShut), (second, secondShut) })
                if (shut)
                {
                    at = Place(at + 3 * _d + Ms(5, 1500), Call(end, "recv", Recv()));
                    if (Chance(0.3)) at = Place(at + Ms(1, 20), Call(end, "send", Send(1 + Below(100))));
                    at = Place(at + Ms(1, 1500), Call(end, "close", []));
                }
            return at;
        }

        /// <summary>close(), or (30 %) shutdown(SHUT_WR) with the close later.</summary>
        JsonObject Closing(End end, out bool shut)
        {
            shut = Chance(0.3);
            return shut ? Call(end, "shutdown", new JsonObject { ["how"] = "SHUT_WR" }) : Call(end, "close", []);
        }

        /// <summary>Writes past a peer that never reads: 3–5 writes of 200 kB–1 MB, 1–300 ms apart; the time of the last.</summary>
        long FillWindow(End writer, long at)
        {
            for (int w = 3 + Below(3); w > 0; w--) at = Place(at + Ms(1, 300), Call(writer, "send", Send(200_000 + Below(800_000))));
            return at;
        }

        /// <summary>A client writes past a server that never reads, then closes with SO_LINGER {1, N}: the linger runs out on a zero window.</summary>
        long LingerZeroWindow(End c, End s, long at)
        {
            long closeAt = Away(FillWindow(c, at) + WindowClosed + Ms(0, 500));
            int linger = 1 + Below(2);
            Add(closeAt, Call(c, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = linger })));
            Add(closeAt, Call(c, "close", []));
            // The server: reads (during the linger or after it: the window reopens), closes with data unread (an RST to
            // the orphan), or leaves the orphan probing.
            at = closeAt;
            switch (Below(3))
            {
                case 0:
                    at = Place(at + Ms(200, 1000L * linger + 3000), Call(s, "recv", Recv()));
                    if (Chance(0.5)) at = Place(at + Ms(5, 2000), Call(s, "recv", Recv()));
                    at = Place(at + Ms(5, 3000), Call(s, "close", []));
                    break;
                case 1:
                    at = Place(at + Ms(200, 1000L * linger + 6000), Call(s, "close", []));
                    break;
            }
            return at;
        }

        /// <summary>An end with TCP_USER_TIMEOUT writes past a peer that answers its probes but never reads (or reads once).</summary>
        long UserTimeoutZeroWindow(End c, End s, long at)
        {
            var (writer, reader) = Chance(0.5) ? (c, s) : (s, c);
            int timeout = Pick(new[] { 500, 1500, 3000, 6000 });
            var option = FuzzSteps.Option("TCP_USER_TIMEOUT", timeout);
            bool before = Chance(0.7);
            if (before) at = Place(at, Call(writer, "setsockopt", option));
            at = Away(FillWindow(writer, at + 1_000_000) + WindowClosed + Ms(0, 300));
            if (!before) at = Place(at, Call(writer, "setsockopt", option));
            long deadline = at + timeout * 1_000_000L;
            bool closed = false;
            // Meanwhile: the reader reads once (the window reopens, the probes' clock starts again), the writer closes (an orphan).
            if (Chance(0.3)) Place(at + Ms(100, timeout + 200), Call(reader, "recv", Recv()));
            if (Chance(0.3))
            {
                Place(at + Ms(50, timeout), Call(writer, "close", []));
                closed = true;
            }
            // After the timeout: what the writer and the reader see.
            at = deadline + Ms(1500, 4000);
            if (!closed)
            {
                at = Place(at, Call(writer, "getsockopt", new JsonObject { ["option"] = "SO_ERROR" }));
                if (Chance(0.5)) at = Place(at + Ms(1, 50), Call(writer, "send", Send(1 + Below(100))));
                if (Chance(0.5)) at = Place(at + Ms(1, 50), Call(writer, "recv", Recv()));
            }
            if (Chance(0.5)) at = Place(at + Ms(1, 50), Call(reader, "send", Send(1 + Below(100))));
            at = Place(at + 2 * _d + Ms(5, 50), Call(reader, "recv", Recv()));
            if (!closed) at = Place(at + Ms(1, 100), Call(writer, "close", []));
            return Place(at + Ms(1, 100), Call(reader, "close", []));
        }

        static JsonObject Send(int bytes) => new() { ["bytes"] = bytes, ["flags"] = new JsonArray("MSG_DONTWAIT", "MSG_NOSIGNAL") };

        static JsonObject Recv() => new() { ["flags"] = new JsonArray("MSG_DONTWAIT") };

        /// <summary>A host's teardown sysctls, each drawn or left at its default.</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            sysctls.Maybe(0.2, "tcp_timestamps", 0);
            sysctls.Maybe(0.15, "tcp_sack", 0);
            sysctls.Maybe(0.15, "tcp_rfc1337", 1);
            sysctls.Maybe(0.4, "tcp_orphan_retries", Below(4));
            sysctls.Maybe(0.3, "tcp_retries2", 1 + Below(5));
            sysctls.Maybe(0.3, "tcp_fin_timeout", Pick(new[] { 1, 2, 5 }));
            return sysctls.Host(address);
        }
    }
}
