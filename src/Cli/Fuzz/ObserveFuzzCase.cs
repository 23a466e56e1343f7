using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "observe" profile of <c>simservice fuzz --profile observe</c>: teardowns of the core format looked at as a judged
/// scenario looks at them, which no other profile does. Every expect step checks each alias's state, <c>timer</c> and
/// <c>timerLeft</c> (the difference report compares states alone); <c>getsockopt</c> reads every core option
/// (<c>SO_LINGER</c>, <c>TCP_LINGER2</c>, <c>SO_REUSEADDR</c>, <c>SO_KEEPALIVE</c>, <c>TCP_KEEPIDLE</c>/<c>INTVL</c>/<c>CNT</c>,
/// <c>TCP_USER_TIMEOUT</c>, <c>SO_SNDBUF</c>, <c>SO_RCVBUF</c>, <c>SO_ERROR</c>) and TCP_INFO's counts and its state, with
/// SO_MEMINFO's drops and queued memory before each close (<see cref="FuzzLooks.MeminfoFields"/>), through open and
/// closed aliases; a client's <c>SO_LINGER</c> {1, N} close under a black hole, its <c>returnsAfter</c> checked
/// (the linger time running out mid-close, or the FIN acknowledged first); the brief's teardown sysctls drawn together
/// (<c>tcp_fin_timeout</c>, <c>tcp_orphan_retries</c>, <c>tcp_retries2</c>, <c>tcp_max_tw_buckets</c>, <c>tcp_tw_reuse</c>,
/// <c>tcp_rfc1337</c>, <c>tcp_abort_on_overflow</c>, <c>tcp_syn_retries</c>, <c>tcp_synack_retries</c>,
/// <c>tcp_syncookies</c>, <c>net.core.somaxconn</c>, keepalive), a process holding several connections killed. The
/// values are the engine's, written in by <see cref="FuzzCase.Calibrate"/>, and checked on the kernel.
/// </summary>
/// <remarks>
/// Kept comparable as the default profile is: odd one-way delays, loss 0 or 1, <c>MSG_DONTWAIT</c> sends and receives,
/// accepts of connections already queued, a lingering close only as the last call of a client process of its own.
/// <c>SO_SNDBUF</c> and, since session 37, <c>SO_RCVBUF</c> are set (a locked receive buffer advertises its free space,
/// which the TUN device's skbs fill; the engine's receive skbs are the TUN's since D125).
/// </remarks>
public static class ObserveFuzzCase
{
    static readonly int[] DelaysMs = [1, 3, 5, 7, 11, 15, 21];

    const long LastActionNs = 12_000_000_000;

    /// <summary>The latest a case runs to on the engine: the last action, the closes and looks after it and the run-until.</summary>
    public const long LongestNs = 25_000_000_000;

    /// <summary>Options getsockopt reads; TCP_INFO's value is cut to its counts (<see cref="FuzzLooks.TcpInfoFields"/>).</summary>
    static readonly string[] ReadOptions =
    [
        "SO_LINGER", "TCP_LINGER2", "SO_REUSEADDR", "SO_KEEPALIVE", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT",
        "TCP_USER_TIMEOUT", "SO_SNDBUF", "SO_RCVBUF", "SO_ERROR", "SO_ERROR", "TCP_INFO", "TCP_INFO",
    ];

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the observe profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("observe", 0x0b5e7e, seed, number, random => new Drawer(random));

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random)
    {
        sealed class Side(End end)
        {
            public End End { get; } = end;
            public bool Closed { get; set; }
            public bool Lingers { get; set; }
        }

        public override JsonObject Document(string name)
        {
            var hosts = ClientAndServer();
            long d = Pick(DelaysMs) * 1_000_000L;
            Delays = [d];
            var links = new JsonArray(new JsonObject { ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(d) });

            // The listener, by hand now and then (SO_REUSEADDR, SO_LINGER or SO_KEEPALIVE for its children), backlog 1–8 or 128.
            var listener = new End("l", "server", "srv");
            int backlog = Chance(0.3) ? 1 + Below(8) : 128;
            var listen = new JsonObject { ["port"] = 80, ["backlog"] = backlog };
            if (Chance(0.3))
            {
                Add(0, FuzzSteps.Call("server", "srv", "socket", new JsonObject { ["as"] = "l" }));
                Add(0, Call(listener, "setsockopt", Pick(new[]
                {
                    FuzzSteps.Option("SO_REUSEADDR", 1), FuzzSteps.Option("SO_KEEPALIVE", 1),
                    FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 0 }),
                })));
                Add(0, Call(listener, "bind", new JsonObject { ["port"] = 80 }));
                listen.Remove("port");
                Add(0, Call(listener, "listen", listen));
            }
            else
            {
                listen["as"] = "l";
                Add(0, FuzzSteps.Call("server", "srv", "listen", listen));
            }
            // Accepts never sleep: a connection the queue overflowed (a small backlog or somaxconn) is EAGAIN, not a block.
            Add(0, Call(listener, "fcntl", new JsonObject { ["nonblock"] = true }));

            // 1–4 connections, from their own processes or (40 %) from one pool process; options set before connect.
            // No more than the accept queue holds (backlog capped by somaxconn, and one more: sk_acceptq_is_full()), so
            // every accept finds its connection: an overflowed handshake's retried SYN-ACK races the accepts.
            backlog = Math.Min(backlog, hosts["server"]!["sysctls"]?["net.core.somaxconn"]?.GetValue<int>() ?? 4096);
            int connections = Math.Min(1 + Below(4), backlog + 1);
            bool pool = Chance(0.4);
            var sides = new List<Side>();
            long at = 1_000_000;
            for (int i = 1; i <= connections; i++, at += 2 * d + 8_000_000)
            {
                var client = new Side(new End($"c{i}", "client", pool ? "pool" : $"c{i}"));
                Add(at, FuzzSteps.Call("client", client.End.Process, "socket", new JsonObject { ["as"] = client.End.Alias }));
                for (int o = Below(3); o > 0; o--) Add(at, Call(client.End, "setsockopt", Option(client, mayWait: !pool)));
                if (!pool && Chance(0.25))
                {
                    // A lingering close to come (timed at the end).
                    Add(at, Call(client.End, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 1 + Below(2) })));
                    client.Lingers = true;
                }
                Add(at, Call(client.End, "connect", new JsonObject { ["to"] = "server:80" }));
                sides.Add(client);
            }
            at = Away(at + 3 * d + 10_000_000);
            for (int i = 1; i <= connections; i++, at += 1_000_000)
            {
                Add(at, Call(listener, "accept", new JsonObject { ["as"] = $"s{i}" }));
                sides.Add(new Side(new End($"s{i}", "server", "srv")));
            }
            var aliases = sides.Select(s => s.End.Alias).Prepend("l").ToList();

            // Actions at random gaps: sends, reads, shutdowns, options set and read, expect steps, black holes, kills, closes.
            string? hole = null;
            bool serverKilled = false, poolKilled = false;
            for (int a = 6 + Below(14); a > 0 && at < LastActionNs; a--)
            {
                at = Away(at + (Chance(0.5) ? Ms(2, 60) : Chance(0.8) ? Ms(60, 900) : Ms(900, 4000)));
                int kind = Below(100);
                if (kind < 14)
                {
                    Add(at, Look(aliases));
                    at += 6_000_000;
                    continue;
                }
                if (kind < 24)
                {
                    // A one-way black hole, lifted by a later draw (or never).
                    if (hole is { } on)
                    {
                        Add(at, FuzzSteps.LinkLoss(on, 0.0));
                        hole = null;
                    }
                    else
                    {
                        hole = Pick(new[] { "client->server", "server->client" });
                        Add(at, FuzzSteps.LinkLoss(hole, 1.0));
                    }
                    continue;
                }
                if (kind < 34)
                {
                    // getsockopt through any alias, closed ones too (EBADF) — not a lingering close's process, whose last call that was.
                    var who = Pick(sides.Where(s => !(s.Closed && s.Lingers)).ToList());
                    Add(at, Call(who.End, "getsockopt", new JsonObject { ["option"] = Pick(ReadOptions) }));
                    continue;
                }
                var open = sides.Where(s => !s.Closed).ToList();
                if (open.Count == 0) break;
                var side = Pick(open);
                if (kind < 37 && !serverKilled && side.End.Host == "server")
                {
                    Add(at, FuzzSteps.Kill("server", "srv"));
                    foreach (var s in sides.Where(s => s.End.Host == "server")) s.Closed = true;
                    serverKilled = true;
                    continue;
                }
                if (kind < 40 && pool && !poolKilled && side.End.Host == "client")
                {
                    // The pool process holding every client socket: each closed as at exit.
                    Add(at, FuzzSteps.Kill("client", "pool"));
                    foreach (var s in sides.Where(s => s.End.Host == "client")) s.Closed = true;
                    poolKilled = true;
                    continue;
                }
                if (kind < 58)
                {
                    Add(at, Call(side.End, "send", new JsonObject { ["bytes"] = SendSize(), ["flags"] = new JsonArray("MSG_DONTWAIT", "MSG_NOSIGNAL") }));
                    continue;
                }
                if (kind < 68)
                {
                    Add(at, Call(side.End, "recv", new JsonObject { ["flags"] = new JsonArray("MSG_DONTWAIT") }));
                    continue;
                }
                if (kind < 74)
                {
                    Add(at, Call(side.End, "shutdown", new JsonObject { ["how"] = Pick(new[] { "SHUT_WR", "SHUT_WR", "SHUT_RD", "SHUT_RDWR" }) }));
                    continue;
                }
                if (kind < 86)
                {
                    Add(at, Call(side.End, "setsockopt", Option(side, mayWait: side.End.Host == "client" && !pool)));
                    continue;
                }
                AddClose(at, side);
            }

            // Most ends closed in the end, lingering clients last; then a look.
            foreach (var side in sides.Where(s => !s.Closed).OrderBy(s => s.Lingers).ToList())
            {
                if (!Chance(0.75)) continue;
                at = Away(at + (Chance(0.5) ? Ms(2, 40) : Ms(40, 900)));
                if (side.Lingers && Chance(0.7))
                {
                    // The linger time running out mid-close: data unacknowledged behind a black hole that stays.
                    Add(at, Call(side.End, "send", new JsonObject { ["bytes"] = 1 + Below(60_000), ["flags"] = new JsonArray("MSG_DONTWAIT", "MSG_NOSIGNAL") }));
                    if (hole is null)
                    {
                        hole = Pick(new[] { "client->server", "server->client" });
                        Add(at = Away(at + Ms(2, 3 * d / 1_000_000 + 3)), FuzzSteps.LinkLoss(hole, 1.0));
                    }
                    at = Away(at + Ms(6, 200));
                }
                AddClose(at, side);
            }
            at = Away(at + Ms(6, 2500));
            Add(at, Look(aliases));
            at = Away(at + Ms(6, 3000));
            Add(at, Look(aliases));
            return FuzzSteps.Document(name,
                "Drawn by simservice fuzz --profile observe: teardown calls with each alias's state, timer and time left checked, options read back, lingering closes timed; run on the engine and on the kernel.",
                hosts, links, Steps, FuzzSteps.Duration(Ms(300, 3000)));
        }

        /// <summary>An expect step whose socket checks <see cref="FuzzCase.Calibrate"/> fills for every alias (state, timer, time left).</summary>
        static JsonObject Look(IEnumerable<string> aliases) =>
            new() { ["expect"] = new JsonObject { ["sockets"] = new JsonArray([.. aliases.Select(a => (JsonNode)new JsonObject { ["socket"] = a })]) } };

        /// <summary>
        /// A side's close, with SO_MEMINFO read through it just before (since session 32; nothing is drawn for it, so a
        /// seed's case is as before but for these reads): <c>sk_drops</c> as each input site that discards counted it
        /// (D79) — a CLOSE-WAIT end's ACKs of its data, old or out-of-window text —, what the sender still has queued.
        /// </summary>
        void AddClose(long at, Side side)
        {
            Add(at, Call(side.End, "getsockopt", new JsonObject { ["option"] = "SO_MEMINFO" }));
            Add(at, Close(side));
        }

        JsonObject Close(Side side)
        {
            side.Closed = true;
            var close = Call(side.End, "close", []);
            // A lingering close blocks until its FIN is acknowledged or the time runs out: how long is checked.
            if (side.Lingers) close["expect"] = new JsonObject { ["returnsAfter"] = "0s" };
            return close;
        }

        int SendSize() => Below(10) switch
        {
            < 4 => 1 + Below(1448),
            < 8 => 1449 + Below(30_000),
            _ => 30_000 + Below(400_000),
        };

        /// <summary>One core option with a value; SO_LINGER {1, N} only where a close may block (a client process of its own).</summary>
        JsonObject Option(Side side, bool mayWait)
        {
            switch (Below(10))
            {
                case 0:
                case 1:
                    int linger = mayWait && Chance(0.5) ? 1 + Below(3) : 0;
                    int onoff = Chance(0.9) ? 1 : 0;
                    if (onoff == 1 && linger > 0) side.Lingers = true;
                    return FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = onoff, ["linger"] = linger });
                case 2:
                    return FuzzSteps.Option("TCP_LINGER2", Pick(new[] { -1, 0, 1, 2, 4, 90, 200 }));
                case 3:
                    return FuzzSteps.Option("SO_KEEPALIVE", Chance(0.8) ? 1 : 0);
                case 4:
                    return FuzzSteps.Option(Pick(new[] { "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT" }), 1 + Below(3));
                case 5:
                    return FuzzSteps.Option("TCP_USER_TIMEOUT", Pick(new[] { 0, 300, 900, 1500, 3000 }));
                case 6:
                    return FuzzSteps.Option("SO_REUSEADDR", Below(2));
                case 7:
                    // Since session 37 SO_RCVBUF as well: a locked receive buffer, filled by the TUN device's skbs on the
                    // kernel and by the same skbs on the engine since D125.
                    return Chance(0.5) ? FuzzSteps.Option("SO_SNDBUF", Pick(new[] { 1, 2048, 4608, 16384, 65536 }))
                        : FuzzSteps.Option("SO_RCVBUF", Pick(new[] { 1, 2048, 4608, 16384, 65536 }));
                default:
                    return FuzzSteps.Option(Pick(new[] { "SO_KEEPALIVE", "TCP_KEEPIDLE" }), 1);
            }
        }

        /// <summary>The teardown sysctls, each drawn or left at its default.</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            sysctls.Maybe(0.35, "tcp_fin_timeout", Pick(new[] { 1, 2, 3, 5 }));
            sysctls.Maybe(0.3, "tcp_orphan_retries", Below(4));
            sysctls.Maybe(0.3, "tcp_retries2", 1 + Below(5));
            sysctls.Maybe(0.2, "tcp_max_tw_buckets", Below(3));
            sysctls.Maybe(0.25, "tcp_tw_reuse", Below(3));
            sysctls.Maybe(0.25, "tcp_rfc1337", 1);
            sysctls.Maybe(0.2, "tcp_abort_on_overflow", 1);
            sysctls.Maybe(0.15, "tcp_syn_retries", 1 + Below(3));
            sysctls.Maybe(0.15, "tcp_synack_retries", 1 + Below(3));
            sysctls.Maybe(0.15, "tcp_syncookies", Below(3));
            sysctls.Maybe(0.25, "tcp_keepalive_time", 1 + Below(3));
            sysctls.Maybe(0.2, "tcp_keepalive_intvl", 1 + Below(2));
            sysctls.Maybe(0.2, "tcp_keepalive_probes", 1 + Below(3));
            var host = sysctls.Host(address);
            if (Chance(0.15))
            {
                var all = host["sysctls"] as JsonObject ?? [];
                all["net.core.somaxconn"] = 1 + Below(4);
                host["sysctls"] = all;
            }
            return host;
        }
    }
}
