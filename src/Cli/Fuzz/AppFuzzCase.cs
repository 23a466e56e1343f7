using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "app" profile of <c>simservice fuzz --profile app</c>: how applications tear connections down, the calls and
/// orderings the other profiles never draw. One server listening on port 80 (now and then built by hand with options its
/// children inherit: <c>SO_LINGER</c> {1, 0}, <c>SO_SNDBUF</c>, <c>TCP_NODELAY</c>, <c>SO_KEEPALIVE</c>), one to four
/// clients (each its own process, or all in one pool process), each connection telling one story: a request and a
/// response closed by the server or the client first; a close with the request unread (an RST) and the peer's sends,
/// recv and <c>SO_ERROR</c> after it; a half close (<c>SHUT_WR</c>) read to EOF; <c>SHUT_RD</c> then data arriving; a
/// forked server (<c>dup</c>/<c>dup2</c>, the descriptors closed in turn, a shutdown through one); <c>TCP_CORK</c>,
/// <c>MSG_MORE</c> and <c>TCP_NODELAY</c> around close; <c>connect(AF_UNSPEC)</c> with data unread or in flight;
/// <c>SO_LINGER</c> {1, 0} with data in flight, and {1, N} blocking a client's close with data unacknowledged; a zero
/// window from a tiny <c>SO_RCVBUF</c> under a server that writes and closes (an orphan probing it); keepalive with
/// <c>TCP_USER_TIMEOUT</c>; a client reconnecting from its fixed port (<c>SO_REUSEADDR</c>) onto a TIME-WAIT; children
/// never accepted, then the listener closed or the server's process killed with them in its queue; a kill of the pool
/// process holding every client socket; a client asleep in recv() (<c>SO_RCVTIMEO</c>) or poll() with a timeout while
/// the server answers, closes, aborts or stays silent; since session 32 a process of its own killed while its recv(), poll(),
/// send(), accept() or connect() is asleep (<c>KillWhileBlocked</c>). <c>poll</c> and <c>getsockopt(SO_ERROR)</c> look on now and then; a one-way
/// black hole may come and go; timestamps, <c>tcp_tw_reuse</c>, <c>tcp_rfc1337</c>, retries, orphan retries,
/// <c>tcp_fin_timeout</c>, keepalive and <c>tcp_abort_on_overflow</c> sysctls. A pure function of (seed, case number),
/// like <see cref="FuzzCase.Draw"/>; the calls' results and sockstats are written in by <see cref="FuzzCase.Calibrate"/>.
/// </summary>
/// <remarks>
/// No call sleeps where a later step needs it not to: sends and receives are MSG_DONTWAIT, accept() takes connections
/// already queued, the reconnect is non-blocking, and a lingering close (SO_LINGER {1, N}) is the last call of a client
/// process of its own, which is never killed; a blocking recv() or poll() is a lone client process's, answered well within
/// its 3 s. A read of a bulk transfer waits until the transfer has stalled or ended.
/// </remarks>
public static class AppFuzzCase
{
    /// <summary>One-way delays (odd milliseconds, see <see cref="FuzzCase"/>).</summary>
    static readonly int[] DelaysMs = [1, 3, 5, 7, 11, 15, 21];

    /// <summary>The latest end of a case's virtual time.</summary>
    public const long LongestNs = 20_000_000_000;

    /// <summary>No act is placed after this: the case's end stays within <see cref="LongestNs"/>.</summary>
    const long LastActNs = 14_000_000_000;

    /// <summary>The stories a connection tells, by the name the tests count them under.</summary>
    public static readonly string[] Stories =
    [
        "server-closes", "client-closes", "unread-close", "half-close", "shut-rd", "fork", "cork", "disconnect",
        "linger-abort", "linger-wait", "zero-window", "keepalive", "reconnect", "never-accepted", "blocking-read",
    ];

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the app profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("app", 0xa9917e, seed, number, random => new Drawer(random));

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random)
    {
        /// <summary>A connection: its ends (the server's null while never accepted), its story, its acts so far.</summary>
        sealed class Connection(int index, End client, string story)
        {
            public int Index { get; } = index;
            public End Client { get; } = client;
            public End? Server { get; set; }
            public string Story { get; set; } = story;

            /// <summary>The acts still to place, each with the least time after the connection's act before it.</summary>
            public Queue<(long After, Func<JsonObject?> Step)> Acts { get; } = new();

            public long Last { get; set; }
        }

        long _d;
        /// <summary>The direction of a black hole the acts left open to the end (never lifted), else null.</summary>
        string? _openHole;

        /// <summary>A bulk write's readers wait this long: the transfer has ended or stalled on a closed window by then.</summary>
        long Stall => 1_200_000_000 + 24 * _d;

        /// <summary>The least time after a write of <paramref name="bytes"/> before its reader acts: the last segment has come.</summary>
        long Arrival(int bytes) => bytes <= 14_480 ? _d + 1_000_000 : bytes <= 60_000 ? 9 * _d + 1_000_000 : Stall;

        public override JsonObject Document(string name)
        {
            var hosts = ClientAndServer();
            _d = Pick(DelaysMs) * 1_000_000L;
            Delays = [_d];
            var links = new JsonArray(new JsonObject { ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(_d) });

            // The listener: the short form, or socket + options its children inherit + bind + listen.
            var listener = new End("l", "server", "srv");
            if (Chance(0.3))
            {
                Add(0, NewSocket(listener));
                foreach (var option in ListenerOptions()) Add(0, Call(listener, "setsockopt", option));
                Add(0, Call(listener, "bind", new JsonObject { ["port"] = 80 }));
                Add(0, Call(listener, "listen", new JsonObject { ["backlog"] = Pick(new[] { 4, 16, 128 }) }));
            }
            else Add(0, FuzzSteps.Call("server", "srv", "listen", new JsonObject { ["port"] = 80, ["as"] = "l" }));

            // The connections: each from its own client process or all from one pool; handshakes d + 8 ms apart, so the
            // accept queue holds them in order; the later ones now and then never accepted.
            int count = 1 + Below(4);
            bool pooled = Chance(0.35);
            var connections = new List<Connection>();
            long at = 1_000_000;
            for (int i = 1; i <= count; i++, at += _d + 8_000_000)
            {
                string story = Pick(Stories);
                if (pooled && story == "linger-wait") story = "linger-abort";
                if (pooled && story == "blocking-read") story = "server-closes";
                var client = new End($"c{i}", "client", pooled ? "pool" : $"c{i}");
                var connection = new Connection(i, client, story);
                connections.Add(connection);
                var options = ClientOptions(story).ToList();
                int port = 50_000 + i;
                if (options.Count > 0 || story == "reconnect")
                {
                    Add(at, NewSocket(client));
                    foreach (var option in options) Add(at, Call(client, "setsockopt", option));
                    if (story == "reconnect") Add(at, Call(client, "bind", new JsonObject { ["port"] = port }));
                    Add(at, Call(client, "connect", new JsonObject { ["to"] = "server:80" }));
                }
                else Add(at, FuzzSteps.Call(client.Host, client.Process, "connect", new JsonObject { ["to"] = "server:80", ["as"] = client.Alias }));
            }
            at += 3 * _d + 10_000_000;
            bool stopAccepting = false;
            foreach (var connection in connections)
            {
                stopAccepting |= connection.Story == "never-accepted";
                if (stopAccepting)
                {
                    connection.Story = "never-accepted";
                    continue;
                }
                connection.Server = new End($"s{connection.Index}", "server", "srv");
                Add(at, FuzzSteps.Call("server", "srv", "accept", new JsonObject { ["socket"] = "l", ["as"] = connection.Server.Alias }));
                at += 1_000_000;
            }
            foreach (var connection in connections)
            {
                Tell(connection);
                connection.Last = at;
            }

            // The acts, connection by random connection; a black hole may come and go among them, and look-ons.
            string? hole = Chance(0.25) ? Pick(new[] { "client->server", "server->client" }) : null;
            long holeAt = hole is null ? long.MaxValue : at + Ms(20, 3000);
            long liftAt = hole is not null && Chance(0.8) ? holeAt + Ms(300, 4000) : long.MaxValue;
            while (connections.Any(c => c.Acts.Count > 0) && at < LastActNs)
            {
                var connection = Pick(connections.Where(c => c.Acts.Count > 0).ToList());
                var (after, make) = connection.Acts.Dequeue();
                at = Away(Math.Max(at + Ms(1, Chance(0.6) ? 40 : 400), connection.Last + after));
                if (holeAt <= at)
                {
                    Add(holeAt = Away(holeAt), FuzzSteps.LinkLoss(hole!, 1.0));
                    _openHole = hole;
                    at = Away(Math.Max(at, holeAt + 6_000_000));
                    holeAt = long.MaxValue;
                }
                if (liftAt <= at && holeAt == long.MaxValue)
                {
                    Add(liftAt = Away(liftAt), FuzzSteps.LinkLoss(hole!, 0.0));
                    _openHole = null;
                    at = Away(Math.Max(at, liftAt + 6_000_000));
                    liftAt = long.MaxValue;
                }
                if (Chance(0.1))
                {
                    Add(at, new JsonObject { ["expect"] = new JsonObject() });
                    at = Away(at + 6_000_000);
                }
                if (make() is { } step) Add(at, step);
                connection.Last = at;
                // A look-on (poll, SO_ERROR), never through a process asleep in a lingering close() or a blocking read.
                var lookable = connections.Where(c => c.Story is not ("linger-wait" or "blocking-read")).ToList();
                if (lookable.Count > 0 && Chance(0.12)) Add(at = Away(at + Ms(1, 30)), LookOn(Pick(lookable)));
            }

            // The end of the application: the listener closed with children still queued, the server's process killed
            // holding every socket it has, or the pool process killed; or neither.
            at = Away(at + Ms(5, 800));
            int ending = Below(10);
            if (ending < 3) Add(at, Call(listener, "close", []));
            else if (ending < 5) Add(at, FuzzSteps.Kill("server", "srv"));
            else if (ending < 8 && pooled) Add(at, FuzzSteps.Kill("client", "pool"));

            return Finish(name,
                "Drawn by simservice fuzz --profile app: application teardown stories per connection (request and response, unread data, half close, SHUT_RD, dup'ed descriptors, TCP_CORK/MSG_MORE, AF_UNSPEC, SO_LINGER, zero window, keepalive, reconnect onto TIME-WAIT, children never accepted, a kill while a call is blocked), run on the engine and on the kernel.",
                hosts, links, at, 12_000, LongestNs, KillWhileBlocked);
        }

        /// <summary>The calls a killed process may be asleep in.</summary>
        static readonly string[] BlockedCalls = ["recv", "poll", "send", "accept", "connect"];

        /// <summary>
        /// Since session 32, drawn after everything else (a case without it is the one its seed drew before): after the
        /// application's end, a process of its own killed while one of its calls is asleep — recv(), poll() or send() on a
        /// connection to a second listener (port 81, process "ksrv"; the sleeper the client "k" or the server), accept() on
        /// that listener with nothing queued, or connect() whose SYN the listener's full queue (backlog 0, one child of "k0"
        /// queued) drops. A recv, poll or accept sleeper's descriptor may first be closed by another thread of its process:
        /// the sleeping call holds the file, so that close sends nothing, and the kill's EINTR return drops the last
        /// reference (fdput() → ____fput() in task_work_run(), before do_exit() → exit_files()); such a poll() returns 1
        /// with POLLNVAL instead, its last do_poll() scan finding the descriptor gone (D95). The time of the kill, or
        /// <paramref name="at"/> when nothing is drawn.
        /// </summary>
        long KillWhileBlocked(long at)
        {
            if (!Chance(0.35)) return at;
            string call = Pick(BlockedCalls);
            bool closedFirst = call is "recv" or "poll" or "accept" && Chance(0.5);
            var listener = new End("kl", "server", "ksrv");
            var client = new End("k", "client", "k");
            at = Away(at + Ms(5, 100));
            long listenAt = at;
            Add(at, FuzzSteps.Call("server", "ksrv", "listen", new JsonObject { ["port"] = 81, ["backlog"] = call == "connect" ? 0 : 16, ["as"] = "kl" }));
            var sleeper = call == "accept" ? listener : client;
            if (call == "connect")
                // k0's child fills the queue: k's SYN is dropped and its connect() sleeps (the SYN is resent after 1 s).
                Add(at = Away(at + 1_000_000), FuzzSteps.Call("client", "k0", "connect", new JsonObject { ["to"] = "server:81", ["as"] = "k0" }));
            else if (call != "accept")
            {
                Add(at = Away(at + 1_000_000), FuzzSteps.Call("client", "k", "connect", new JsonObject { ["to"] = "server:81", ["as"] = "k" }));
                // The child is queued when k's ACK arrives: three one-way delays (SYN, SYN-ACK, ACK) after connect().
                Add(at = Away(at + 3 * _d + Ms(5, 30)), Call(listener, "accept", new JsonObject { ["as"] = "ks" }));
                if (Chance(0.5))
                {
                    sleeper = new End("ks", "server", "ksrv");
                    // The child's calls need its accept() to return, so the handshake must cross the link: a black hole
                    // the acts left open is lifted when the listener is made (seed 3477 case 197: k's SYN was lost, the
                    // accept slept through the case and "ks" named no socket).
                    if (_openHole is not null) Add(listenAt, FuzzSteps.LinkLoss(_openHole, 0.0));
                }
                if (call == "send") Add(at = Away(at + Ms(1, 20)), Call(sleeper, "setsockopt", FuzzSteps.Option("SO_SNDBUF", 4096)));
            }
            at = Away(at + (call == "connect" ? 2 * _d + Ms(5, 30) : Ms(1, 30)));
            Add(at, call switch
            {
                "accept" => Call(listener, "accept", new JsonObject { ["as"] = "ks" }),
                "connect" => FuzzSteps.Call("client", "k", "connect", new JsonObject { ["to"] = "server:81", ["as"] = "k" }),
                "send" => Call(sleeper, "send", new JsonObject { ["bytes"] = 300_000 + Below(300_000), ["flags"] = new JsonArray("MSG_NOSIGNAL") }),
                "poll" => Call(sleeper, "poll", new JsonObject { ["events"] = new JsonArray("POLLIN", "POLLRDHUP"), ["timeout"] = 10_000 }),
                _ => Call(sleeper, "recv", []),
            });
            if (closedFirst) Add(at = Away(at + Ms(1, 50)), Call(sleeper, "close", []));
            Add(at = Away(at + Ms(call == "connect" ? 50 : 20, call == "connect" ? 800 : 300)), FuzzSteps.Kill(sleeper.Host, sleeper.Process));
            return at;
        }

        /// <summary>The connection's story, as acts queued on it.</summary>
        void Tell(Connection connection)
        {
            var c = connection.Client;
            var s = connection.Server;
            var acts = connection.Acts;
            void Act(long after, Func<JsonObject?> step) => acts.Enqueue((after, step));
            void Do(long after, End end, string call, JsonObject arguments) => Act(after, () => Call(end, call, arguments));
            int request = 1 + Below(Chance(0.7) ? 2000 : 14_000);
            int response = Response();
            long Gap() => Ms(0, 50);
            switch (connection.Story)
            {
                case "server-closes":
                    Do(0, c, "send", Send(request));
                    Do(Arrival(request), s!, "recv", Recv());
                    Do(Gap(), s!, "send", Send(response));
                    if (Chance(0.4)) Do(Gap(), s!, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                    Do(Gap(), s!, "close", []);
                    Do(Arrival(response), c, "recv", Recv());
                    if (Chance(0.6)) Do(Gap(), c, "recv", Recv());
                    if (Chance(0.3)) Do(Gap(), c, "send", Send(1 + Below(500)));
                    Do(Gap(), c, "close", []);
                    break;
                case "client-closes":
                    Do(0, c, "send", Send(request));
                    Do(Arrival(request), s!, "recv", Recv());
                    Do(Gap(), s!, "send", Send(response));
                    if (Chance(0.7)) Do(Arrival(response), c, "recv", Recv());
                    Do(Gap(), c, "close", []);
                    if (Chance(0.5)) Do(2 * _d + 1_000_000, s!, "send", Send(1 + Below(3000)));
                    if (Chance(0.5)) Do(2 * _d + 1_000_000, s!, "send", Send(1 + Below(3000)));
                    Do(_d + 1_000_000, s!, "recv", Recv());
                    if (Chance(0.4)) Do(Gap(), s!, "getsockopt", new JsonObject { ["option"] = "SO_ERROR" });
                    Do(Gap(), s!, "close", []);
                    break;
                case "unread-close":
                    Do(0, c, "send", Send(request));
                    Do(Arrival(request), s!, "close", []);
                    Do(Chance(0.5) ? _d + 1_000_000 : 0, c, "send", Send(1 + Below(3000)));
                    if (Chance(0.6)) Do(2 * _d + 1_000_000, c, "send", Send(1 + Below(3000)));
                    if (Chance(0.5)) Do(Gap(), c, "getsockopt", new JsonObject { ["option"] = "SO_ERROR" });
                    Do(Gap(), c, "recv", Recv());
                    Do(Gap(), c, "close", []);
                    break;
                case "half-close":
                    Do(0, c, "send", Send(request));
                    Do(0, c, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                    Do(Arrival(request), s!, "recv", Recv());
                    Do(Gap(), s!, "recv", Recv());
                    Do(Gap(), s!, "send", Send(response));
                    if (Chance(0.5)) Do(Gap(), s!, "close", []);
                    else Do(Gap(), s!, "shutdown", new JsonObject { ["how"] = Pick(new[] { "SHUT_WR", "SHUT_RDWR" }) });
                    Do(Arrival(response), c, "recv", Recv());
                    Do(Gap(), c, "recv", Recv());
                    Do(Gap(), c, "close", []);
                    if (Chance(0.5)) Do(Gap(), s!, "close", []);
                    break;
                case "shut-rd":
                    {
                        var (reader, writer) = Chance(0.5) ? (c, s!) : (s!, c);
                        Do(0, reader, "shutdown", new JsonObject { ["how"] = "SHUT_RD" });
                        Do(Gap(), writer, "send", Send(request));
                        Do(Arrival(request), reader, "recv", Recv());
                        if (Chance(0.5)) Do(Gap(), reader, "send", Send(1 + Below(3000)));
                        Do(Gap(), reader, "close", []);
                        Do(2 * _d + 1_000_000, writer, "recv", Recv());
                        Do(Gap(), writer, "close", []);
                        break;
                    }
                case "fork":
                    {
                        // The server's process forks: the child's descriptor (dup, or dup2 onto a fixed number) and the parent's.
                        var child = new End($"s{connection.Index}d", "server", "srv");
                        Do(0, c, "send", Send(request));
                        if (Chance(0.5)) Do(0, s!, "dup", new JsonObject { ["as"] = child.Alias });
                        else Do(0, s!, "dup2", new JsonObject { ["newfd"] = 10 + connection.Index, ["as"] = child.Alias });
                        var (first, second) = Chance(0.7) ? (s!, child) : (child, s!);
                        Do(Gap(), first, "close", []);
                        Do(Arrival(request), second, "recv", Recv());
                        Do(Gap(), second, "send", Send(response));
                        if (Chance(0.3)) Do(Gap(), second, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                        if (Chance(0.2)) Do(Gap(), first, "close", []);
                        Do(Gap(), second, "close", []);
                        Do(Arrival(response), c, "recv", Recv());
                        Do(Gap(), c, "close", []);
                        break;
                    }
                case "cork":
                    {
                        var (writer, reader) = Chance(0.5) ? (c, s!) : (s!, c);
                        int mode = Below(3);
                        if (mode == 0) Do(0, writer, "setsockopt", FuzzSteps.Option("TCP_CORK", 1));
                        int writes = 1 + Below(3);
                        for (int w = 0; w < writes; w++)
                        {
                            var send = Send(1 + Below(1400));
                            if (mode == 1) send["flags"] = new JsonArray("MSG_DONTWAIT", "MSG_MORE");
                            Do(Ms(0, 30), writer, "send", send);
                        }
                        int finish = Below(3);
                        if (finish == 0) Do(Ms(0, 300), writer, "setsockopt", FuzzSteps.Option(mode == 0 ? "TCP_CORK" : "TCP_NODELAY", mode == 0 ? 0 : 1));
                        else if (finish == 1) Do(Ms(0, 300), writer, "send", Send(1 + Below(3000)));
                        Do(Ms(0, 400), writer, "close", []);
                        Do(Stall, reader, "recv", Recv());
                        Do(Gap(), reader, "close", []);
                        break;
                    }
                case "disconnect":
                    Do(0, c, "send", Send(request));
                    Do(Arrival(request), s!, "send", Send(response));
                    Do(Chance(0.5) ? Arrival(response) : _d + 1_000_000, c, "connect", new JsonObject { ["family"] = "AF_UNSPEC" });
                    if (Chance(0.5)) Do(Gap(), c, "getsockopt", new JsonObject { ["option"] = "SO_ERROR" });
                    if (Chance(0.3)) Do(Gap(), c, "send", Send(1 + Below(100)));
                    Do(_d + 1_000_000, s!, "recv", Recv());
                    Do(Gap(), s!, "close", []);
                    Do(Gap(), c, "close", []);
                    break;
                case "linger-abort":
                    {
                        var (writer, peer) = Chance(0.5) ? (c, s!) : (s!, c);
                        Do(0, writer, "send", Send(Chance(0.5) ? Response() : 1 + Below(1400)));
                        Do(Ms(0, 3 * _d / 1_000_000 + 2), writer, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 0 }));
                        Do(0, writer, "close", []);
                        Do(2 * _d + 1_000_000, peer, "recv", Recv());
                        if (Chance(0.5)) Do(Gap(), peer, "send", Send(1 + Below(100)));
                        Do(Gap(), peer, "close", []);
                        break;
                    }
                case "linger-wait":
                    // The client's process sleeps in close() until its data is acknowledged or the linger time runs out.
                    Do(0, c, "send", Send(20_000 + Below(300_000)));
                    Do(0, c, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 1 + Below(2) }));
                    Do(Ms(0, 100), c, "close", []);
                    if (Chance(0.6)) Do(Ms(5, 1500), s!, "recv", Recv());
                    Do(Stall, s!, "recv", Recv());
                    Do(Gap(), s!, "close", []);
                    break;
                case "zero-window":
                    // The client's tiny receive buffer (set before connect()) fills; the server writes on and closes.
                    Do(0, s!, "send", Send(100_000 + Below(400_000)));
                    Do(Ms(20, 600), s!, "close", []);
                    // A read drains the queue: part of it frees a TUN device's uncoalesced skbs where the engine's (a NIC's,
                    // coalesced) stay charged, and the window reopens on the kernel only (app-3-29, app-3-36).
                    if (Chance(0.5)) Do(Ms(300, 3000), c, "recv", Recv());
                    Do(Ms(300, 4000), c, "close", []);
                    break;
                case "keepalive":
                    Do(0, c, "send", Send(request));
                    Do(Arrival(request), s!, "recv", Recv());
                    Do(Ms(500, 5000), c, "recv", Recv());
                    Do(Gap(), c, "close", []);
                    Do(Ms(100, 3000), s!, "close", []);
                    break;
                case "reconnect":
                    {
                        // The client closes first (its TIME-WAIT) or the server does (the server's), then a new socket binds
                        // the same port with SO_REUSEADDR and connects again without blocking.
                        bool clientFirst = Chance(0.5);
                        var again = new End($"c{connection.Index}r", "client", $"c{connection.Index}r");
                        var (first, second) = clientFirst ? (c, s!) : (s!, c);
                        Do(0, first, "close", []);
                        Do(2 * _d + Ms(1, 30), second, "recv", Recv());
                        Do(Gap(), second, "close", []);
                        Act(2 * _d + Ms(1, 1500), () => NewSocket(again));
                        Do(0, again, "setsockopt", FuzzSteps.Option("SO_REUSEADDR", 1));
                        Do(0, again, "bind", new JsonObject { ["port"] = 50_000 + connection.Index });
                        Do(0, again, "fcntl", new JsonObject { ["nonblock"] = true });
                        Do(0, again, "connect", new JsonObject { ["to"] = "server:80" });
                        // Closed clear of the SYN's retransmissions (1 s and 3 s after it, when a TIME-WAIT refused it).
                        Do(Ms(1100, 2400), again, "close", []);
                        break;
                    }
                case "blocking-read":
                    {
                        // The client sleeps in recv() or poll() (SO_RCVTIMEO 3 s, a 3 s poll) while the server answers with one
                        // segment, its FIN or an RST, or stays silent; the answer comes well before the timeout, which ends
                        // on the wheel at 3.0–3.3 s. One segment only: a reader woken late would find more bytes.
                        bool polls = Chance(0.4);
                        if (!polls) Do(0, c, "setsockopt", FuzzSteps.Option("SO_RCVTIMEO", new JsonObject { ["sec"] = 3, ["usec"] = 0 }));
                        Do(0, c, "send", Send(request));
                        Do(0, c, polls ? "poll" : "recv", polls
                            ? new JsonObject { ["events"] = new JsonArray("POLLIN", "POLLRDHUP"), ["timeout"] = 3000 }
                            : new JsonObject());
                        Do(Arrival(request), s!, "recv", Recv());
                        int answer = Below(4);
                        if (answer == 0) Do(Ms(1, 300), s!, "send", Send(1 + Below(1400)));
                        else if (answer == 1) Do(Ms(1, 300), s!, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                        else if (answer == 2)
                        {
                            Do(Ms(1, 300), s!, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 0 }));
                            Do(0, s!, "close", []);
                        }
                        Do(answer == 3 ? Ms(3500, 4000) : 2 * _d + Ms(5, 100), c, "recv", Recv());
                        Do(Gap(), c, "close", []);
                        if (answer != 2) Do(Gap(), s!, "close", []);
                        break;
                    }
                default:
                    // Never accepted: the child is queued on the listener; the client writes to it, maybe closes.
                    Do(0, c, "send", Send(Chance(0.7) ? request : 20_000 + Below(200_000)));
                    if (Chance(0.5)) Do(Ms(1, 500), c, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                    if (Chance(0.5)) Do(Ms(1, 500), c, "close", []);
                    break;
            }
        }

        /// <summary>A response's size: a few bytes, a few segments, or past the initial window.</summary>
        int Response() => Below(10) switch
        {
            < 5 => 1 + Below(1448),
            < 8 => 1449 + Below(13_000),
            _ => 14_481 + Below(45_000),
        };

        /// <summary>socket(): a fresh socket for <paramref name="end"/>'s process, named by its alias.</summary>
        static JsonObject NewSocket(End end) => FuzzSteps.Call(end.Host, end.Process, "socket", new JsonObject { ["as"] = end.Alias });

        static JsonObject Send(int bytes) => new() { ["bytes"] = bytes, ["flags"] = new JsonArray("MSG_DONTWAIT", "MSG_NOSIGNAL") };

        static JsonObject Recv(int? bytes = null)
        {
            var recv = new JsonObject { ["flags"] = new JsonArray("MSG_DONTWAIT") };
            if (bytes is { } n) recv["bytes"] = n;
            return recv;
        }

        /// <summary>A look at a connection's client or server end: poll (no timeout) or getsockopt(SO_ERROR).</summary>
        JsonObject LookOn(Connection connection)
        {
            var end = connection.Server is { } s && Chance(0.5) ? s : connection.Client;
            return Chance(0.6)
                ? Call(end, "poll", new JsonObject { ["events"] = new JsonArray("POLLIN", "POLLOUT", "POLLRDHUP") })
                : Call(end, "getsockopt", new JsonObject { ["option"] = "SO_ERROR" });
        }

        /// <summary>Options set on a client's socket before connect(), as its story needs or drawn.</summary>
        IEnumerable<JsonObject> ClientOptions(string story)
        {
            if (story == "reconnect") yield return FuzzSteps.Option("SO_REUSEADDR", 1);
            if (story == "zero-window") yield return FuzzSteps.Option("SO_RCVBUF", Pick(new[] { 1024, 2048, 4096 }));
            if (story == "keepalive")
            {
                yield return FuzzSteps.Option("SO_KEEPALIVE", 1);
                yield return FuzzSteps.Option("TCP_KEEPIDLE", 1 + Below(2));
                yield return FuzzSteps.Option("TCP_KEEPINTVL", 1 + Below(2));
                if (Chance(0.5)) yield return FuzzSteps.Option("TCP_KEEPCNT", 1 + Below(3));
                if (Chance(0.6)) yield return FuzzSteps.Option("TCP_USER_TIMEOUT", Pick(new[] { 500, 1500, 3000, 6000 }));
            }
            if (Chance(0.2)) yield return FuzzSteps.Option("TCP_NODELAY", 1);
            if (Chance(0.1)) yield return FuzzSteps.Option("SO_SNDBUF", Pick(new[] { 4096, 8192, 16_384 }));
        }

        /// <summary>
        /// One or two options of the listener's, which accept() hands to its children. Not SO_RCVBUF: a locked receive
        /// buffer advertises its free space, which the TUN device's skbs fill at another truesize than a NIC's (app-1-16:
        /// every window of a 46720-byte burst 300–1400 lower on the kernel; docs/kernel-check.md).
        /// </summary>
        IEnumerable<JsonObject> ListenerOptions()
        {
            int count = 1 + Below(2);
            for (int i = 0; i < count; i++)
                yield return Below(4) switch
                {
                    0 => FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 0 }),
                    1 => FuzzSteps.Option("SO_SNDBUF", Pick(new[] { 4096, 16_384, 65_536 })),
                    2 => FuzzSteps.Option("TCP_NODELAY", 1),
                    _ => FuzzSteps.Option("SO_KEEPALIVE", 1),
                };
        }

        /// <summary>A host's application sysctls, each drawn or left at its default (the server's listen-queue one too).</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            sysctls.Maybe(0.2, "tcp_timestamps", 0);
            sysctls.Maybe(0.3, "tcp_tw_reuse", Below(3));
            sysctls.Maybe(0.15, "tcp_rfc1337", 1);
            sysctls.Maybe(0.3, "tcp_fin_timeout", Pick(new[] { 1, 2, 3, 5 }));
            sysctls.Maybe(0.3, "tcp_orphan_retries", Below(4));
            sysctls.Maybe(0.2, "tcp_retries2", 1 + Below(5));
            sysctls.Maybe(0.2, "tcp_keepalive_time", 1 + Below(3));
            sysctls.Maybe(0.2, "tcp_keepalive_intvl", 1 + Below(2));
            sysctls.Maybe(0.2, "tcp_keepalive_probes", 1 + Below(3));
            if (address == "10.0.0.2") sysctls.Maybe(0.2, "tcp_abort_on_overflow", 1);
            return sysctls.Host(address);
        }
    }
}
