using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "loss" profile of <c>simservice fuzz --profile loss</c>: teardown while data is in flight over a lossy, delayed
/// link. One or two connections over a link of 5–49 ms one way, often another delay the other way; after the handshakes
/// each direction loses a random share of its segments (0–30 %, drawn per segment by the link's <c>lossBySegment</c>, so
/// the kernel behind the link emulator loses the same segments as the engine: a FIN, the FIN's ACK, the last data
/// segment, an ACK carrying SACK blocks, a retransmission); bulk writes of several MSS up to TSO size from one end or
/// both; reads now and then or never; close, shutdown, SO_LINGER {1, 0} (an abort) and a lingering close at random
/// moments — within a few round trips of the writes (in recovery) or later; recovery sysctls (<c>tcp_sack</c>,
/// <c>tcp_dsack</c>, <c>tcp_timestamps</c>, <c>tcp_early_retrans</c>, <c>tcp_recovery</c>, <c>tcp_frto</c>,
/// <c>tcp_retries2</c>, <c>tcp_orphan_retries</c>; since session 40 <c>tcp_congestion_control</c> reno or cubic and
/// <c>tcp_slow_start_after_idle</c> 0 or 1, with idle gaps past the RTO between writes, small SO_SNDBUF and SO_RCVBUF,
/// and a last read just before a reader's teardown); the loss lifted at a random moment or never; expect steps; at most
/// 60 s of virtual time. A pure function of (seed, case number), like <see cref="FuzzCase.Draw"/>.
/// </summary>
/// <remarks>
/// A lingering close (SO_LINGER on with a timeout) only on a client's own process: a process sleeping in close() would
/// hold up every later step on the kernel. Since session 37 a client's process is killed now and then instead of its
/// close (until then there were no kills: a kill's close of a lingering socket slept in the runner, fixed in session 36).
/// Sends and receives are MSG_DONTWAIT.
/// </remarks>
public static class LossFuzzCase
{
    /// <summary>
    /// One-way delays (odd milliseconds: an RTT of a multiple of 4 ms puts the RTO exactly on a jiffy, see <see cref="FuzzCase"/>);
    /// none under 5 ms: over a 1 ms link the emulator's spread of a burst (see <see cref="RaceNs"/>) is a whole RTT, and
    /// which ACK a cwnd-limited skb is split at, and so where its PSH lands, follows the spread (seed 1, case 2).
    /// </summary>
    static readonly int[] DelaysMs = [5, 7, 11, 15, 21, 31, 41, 49];

    /// <summary>The loss of a direction, drawn per segment.</summary>
    static readonly double[] Losses = [0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3];

    /// <summary>The latest end of a case's virtual time.</summary>
    public const long LongestNs = 60_000_000_000;

    /// <summary>The MSS over the links (1500-byte MTU, timestamps on): a write of several of them.</summary>
    const int Mss = 1448;

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the loss profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("loss", 0x1055ed, seed, number, random => new Drawer(random));

    /// <summary>
    /// How near a step may come to the arrivals of what earlier steps sent: twice the other profiles' 6 ms. A burst of ten
    /// segments leaves the kernel over the TUN device and the user-space emulator up to ~9 ms spread (the first at once,
    /// the rest as the emulator reads them), so its ACKs come back as spread, where the engine's come in one instant
    /// (seed 1, case 1 of the first run: a send step 6 ms after the ACKs' arrival met them half-arrived on the kernel).
    /// </summary>
    const long RaceNs = 12_000_000;

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random, RaceNs)
    {
        public override JsonObject Document(string name)
        {
            var hosts = ClientAndServer();
            long up = Pick(DelaysMs) * 1_000_000L;
            long down = Chance(0.7) ? Pick(DelaysMs) * 1_000_000L : up;
            // Two odd delays can still sum to a multiple of 4 ms (21 + 7): the engine's srtt, and so its loss probe's and
            // RTO's jiffies, then sit exactly on a jiffy that the kernel's slightly longer RTT rounds up past — every such
            // timer one jiffy later on the kernel (loss-37150-15, session 37). Drawn again until the RTT is not.
            while ((up + down) / 1_000_000 % 4 == 0) down = Pick(DelaysMs) * 1_000_000L;
            Delays = [up, down, up + down];
            var links = new JsonArray(new JsonObject
            {
                ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(up), ["loss"] = 0, ["lossBySegment"] = true,
            });
            if (down != up) Add(0, FuzzSteps.LinkChange("server->client", new JsonObject { ["delay"] = FuzzSteps.Duration(down) }));

            // One or two connections, each from its own client process; accepted in order.
            var (pairs, at) = ListenConnectAccept(1 + Below(2), up + down + 8_000_000, 2 * (up + down) + 10_000_000);

            // The loss, each direction its own, from after the handshakes; at least one direction loses.
            at = Away(at + 5_000_000);
            double toServer = Pick(Losses), toClient = Pick(Losses);
            if (toServer == 0 && toClient == 0) toServer = Pick(Losses.Skip(1).ToList());
            foreach (var (direction, loss) in new[] { ("client->server", toServer), ("server->client", toClient) })
                if (loss > 0) Add(at, FuzzSteps.LinkLoss(direction, loss));
            long liftAt = Chance(0.4) ? at + Ms(500, 20_000) : long.MaxValue;

            // Bulk writes: from the client, the server or both; several MSS, TSO-sized, or up to 100 kB.
            var ends = pairs.SelectMany(p => new[] { p.Client, p.Server }).ToList();
            var readers = new List<End>();
            long lastWrite = at;
            foreach (var (client, server) in pairs)
            {
                var senders = Below(4) switch { 0 => new[] { client, server }, 1 => [server], _ => [client] };
                foreach (var sender in senders)
                {
                    // Since session 40 a small send buffer now and then (its writes partial, the rest queued behind
                    // the window) and a small receive buffer on the reader (its window closing before the teardown).
                    var reader = sender == client ? server : client;
                    if (Chance(0.2)) Add(at, Call(sender, "setsockopt", FuzzSteps.Option("SO_SNDBUF", Pick(new[] { 4096, 8192, 16_384 }))));
                    if (Chance(0.2)) Add(at, Call(reader, "setsockopt", FuzzSteps.Option("SO_RCVBUF", Pick(new[] { 2048, 4096, 8192 }))));
                    int writes = 1 + Below(3);
                    long t = at;
                    for (int w = 0; w < writes; w++)
                    {
                        // Now and then an idle gap past the RTO before a write (tcp_cwnd_restart() under
                        // tcp_slow_start_after_idle 1, the cwnd kept under 0); else back to back, cwnd-limited.
                        t = Away(t + (w > 0 && Chance(0.25) ? Ms(300, 3000) : Ms(1, 60)));
                        Add(t, Call(sender, "send", new JsonObject { ["bytes"] = WriteSize(), ["flags"] = new JsonArray("MSG_DONTWAIT") }));
                    }
                    lastWrite = Math.Max(lastWrite, t);
                    readers.Add(reader);
                }
            }

            // Reads now and then on a receiving end (or never: its window closes).
            foreach (var reader in readers.Where(_ => Chance(0.6)).Distinct().ToList())
                for (int r = 1 + Below(3); r > 0; r--)
                    Add(Away(lastWrite + Ms(5, 4000)), Call(reader, "recv", new JsonObject { ["flags"] = new JsonArray("MSG_DONTWAIT") }));

            // The teardown calls on every end in random order: most within a few round trips of the last write (the loss
            // being recovered), the others later; the lift and expect steps among them.
            long rttMs = (up + down) / 1_000_000;
            at = lastWrite;
            foreach (var end in ends.OrderBy(_ => Below(1000)).ToList())
            {
                at = Away(at + (Chance(0.6) ? Ms(1, 1 + 4 * rttMs) : Ms(100, 5000)));
                if (liftAt <= at)
                {
                    Lift(liftAt = Away(liftAt));
                    at = Away(Math.Max(at, liftAt + 1_000_000));
                    liftAt = long.MaxValue;
                }
                if (Chance(0.2)) Add(at = Away(at), new JsonObject { ["expect"] = new JsonObject() });
                at = Away(at + 6_000_000);
                // Since session 40 a reader now and then reads once more just before its own teardown: a window that
                // reopens under a peer that may already have closed (an orphan with data queued behind the window).
                if (readers.Contains(end) && Chance(0.4))
                {
                    Add(at, Call(end, "recv", new JsonObject { ["flags"] = new JsonArray("MSG_DONTWAIT") }));
                    at = Away(at + Ms(5, 2000));
                }
                int kind = Below(100);
                if (kind < 20)
                {
                    Add(at, Call(end, "shutdown", new JsonObject { ["how"] = Pick(new[] { "SHUT_WR", "SHUT_WR", "SHUT_RDWR" }) }));
                    if (Chance(0.4)) continue;
                    at = Away(at + Ms(5, 3000));
                }
                else if (kind < 35)
                    Add(at, Call(end, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 0 })));
                else if (kind < 45 && end.Host == "client")
                    Add(at, Call(end, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 1 + Below(3) })));
                // Since session 37 a client's process (its own) is now and then killed instead of closing, lingering or not:
                // do_exit() closes its descriptors with tcp_close(sk, 0), as the kernel runner's kill does since session 36.
                if (kind >= 35 && end.Host == "client" && Chance(kind < 45 ? 0.5 : 0.2)) Add(at, FuzzSteps.Kill(end.Host, end.Process));
                else Add(at, Call(end, "close", []));
            }
            if (liftAt != long.MaxValue && Chance(0.7)) Lift(at = Away(Math.Max(at + 6_000_000, liftAt)));

            // The end: an expect step a random time on, then a run-until that keeps the whole case within LongestNs.
            return Finish(name,
                "Drawn by simservice fuzz --profile loss: bulk writes over a lossy link (loss by segment, each direction its own) and delays, teardown calls during recovery, recovery sysctls; run on the engine and on the kernel.",
                hosts, links, at, 30_000, LongestNs);
        }

        void Lift(long at)
        {
            foreach (var direction in new[] { "client->server", "server->client" }) Add(at, FuzzSteps.LinkLoss(direction, 0.0));
        }

        /// <summary>Several MSS (a multiple, or with a remainder), a TSO-sized burst, or anything up to 100 kB.</summary>
        int WriteSize() => Below(10) switch
        {
            < 4 => (2 + Below(11)) * Mss + (Chance(0.5) ? 0 : 1 + Below(Mss - 1)),
            < 6 => Pick(new[] { 45 * Mss, 65_160, 65_536 }),
            < 8 => 1 + Below(3 * Mss),
            _ => 1 + Below(100_000),
        };

        /// <summary>A host's recovery sysctls, each drawn or left at its default.</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            sysctls.Maybe(0.2, "tcp_sack", 0);
            sysctls.Maybe(0.2, "tcp_dsack", 0);
            sysctls.Maybe(0.2, "tcp_timestamps", 0);
            sysctls.Maybe(0.3, "tcp_early_retrans", Below(5));
            sysctls.Maybe(0.3, "tcp_recovery", Pick(new[] { 0, 1, 3, 5 }));
            sysctls.Maybe(0.3, "tcp_frto", Below(3));
            sysctls.Maybe(0.4, "tcp_retries2", 1 + Below(8));
            sysctls.Maybe(0.4, "tcp_orphan_retries", Below(4));
            sysctls.Maybe(0.3, "tcp_fin_timeout", Pick(new[] { 1, 2, 5, 10 }));
            // Since session 40: the congestion control (reno or the default cubic) and the restart after idle.
            sysctls.Maybe(0.3, "tcp_congestion_control", Pick(new[] { "reno", "cubic" }));
            sysctls.Maybe(0.3, "tcp_slow_start_after_idle", Below(2));
            return sysctls.Host(address);
        }
    }
}
