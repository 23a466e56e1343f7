using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "options" profile of <c>simservice fuzz --profile options</c>: the socket options and call flags the engine takes
/// and no other profile draws, each inside a teardown story. The listener is plain, made by hand with options its children
/// inherit (<c>TCP_MAXSEG</c>, <c>TCP_NOTSENT_LOWAT</c>, <c>SO_RCVLOWAT</c>, <c>TCP_SYNCNT</c>, <c>SO_RCVTIMEO</c>), a
/// <c>TCP_DEFER_ACCEPT</c> listener (clients that write or stay silent, the listener polled while the handshakes wait), or
/// two <c>SO_REUSEPORT</c> listeners (one on 0.0.0.0, one on the server's address or closed before anyone connects; a
/// plain bind on the port refused). Each connection tells one story: <c>MSG_PEEK</c> before and after the peer's FIN;
/// <c>SO_RCVLOWAT</c> with the data in pieces and poll between; <c>TCP_NOTSENT_LOWAT</c> under a bulk write and
/// POLLOUT; <c>TCP_QUICKACK</c> 0 or 1 under small writes; <c>TCP_MAXSEG</c> before connect() (and after) with a bulk
/// exchange; a send blocked on a full window until <c>SO_SNDTIMEO</c>; a recv asleep until <c>SO_RCVTIMEO</c> or the
/// peer's answer; a connection over loopback (127.0.0.1 or the server's own address, MSS 65483) and a reconnect from its
/// fixed port onto its TIME-WAIT, bound or by a one-port <c>IP_LOCAL_PORT_RANGE</c> (<c>tcp_tw_reuse</c> 2's loopback rule); <c>IP_LOCAL_PORT_RANGE</c> inside or across the
/// host's narrow <c>ip_local_port_range</c>, further non-blocking connects to EADDRNOTAVAIL; a <c>TCP_SYNCNT</c> connect
/// under a one-way black hole. A pure function of (seed, case number), like <see cref="FuzzCase.Draw"/>; the calls' results,
/// getsockopt's values and sockstats are written in by <see cref="FuzzCase.Calibrate"/>.
/// </summary>
/// <remarks>
/// Which listener of a reuseport group on one address takes a SYN is the kernel's hash of the 4-tuple with a secret of
/// the boot (reuseport_select_sock()); the engine takes the first in listen() order. No case leaves two members of a group
/// listening when a SYN comes, so the comparison never depends on the secret. Blocking calls (send under SO_SNDTIMEO,
/// recv under SO_RCVTIMEO, a connect under a black hole) are a client process's own, and its next call comes after they
/// returned; every other send and recv is MSG_DONTWAIT; accept() takes connections already queued.
/// </remarks>
public static class OptionsFuzzCase
{
    /// <summary>One-way delays (odd milliseconds, see <see cref="FuzzCase"/>).</summary>
    static readonly int[] DelaysMs = [1, 3, 5, 7, 11, 15];

    /// <summary>The latest end of a case's virtual time.</summary>
    public const long LongestNs = 20_000_000_000;

    /// <summary>No act is placed after this.</summary>
    const long LastActNs = 14_000_000_000;

    /// <summary>The stories a connection tells.</summary>
    public static readonly string[] Stories =
    [
        "peek", "rcvlowat", "notsent-lowat", "quickack", "maxseg", "sndtimeo", "rcvtimeo", "loopback", "port-range", "syncnt",
    ];

    /// <summary>How the listener is made.</summary>
    public static readonly string[] Listeners = ["plain", "inherit", "defer-accept", "reuseport"];

    /// <summary>The client host's narrow ephemeral range when a port-range story is drawn.</summary>
    const int RangeLow = 40_000, RangeHigh = 40_015;

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the options profile.</summary>
    public static FuzzCase Draw(long seed, int number) => FuzzDrawer.Draw("options", 0x0971025, seed, number, random => new Drawer(random));

    sealed class Drawer(IRandomSource random) : FuzzDrawer(random)
    {
        /// <summary>A connection: its client end, the listener that takes it, its server end once accepted, its acts in order.</summary>
        sealed class Connection(int index, End client, string story)
        {
            public int Index { get; } = index;
            public End Client { get; } = client;
            public string Story { get; } = story;
            public string Listener { get; set; } = "l";
            public End? Server { get; set; }

            /// <summary>When the server's side of the handshake completes (the child is queued).</summary>
            public long Queued { get; set; }

            /// <summary>Each act: at least this long after the connection's act before it, and the step (or null: nothing).</summary>
            public List<(long After, Func<JsonObject?> Step)> Acts { get; } = [];

            public int Next { get; set; }
            public long Last { get; set; }
            public bool Done => Next >= Acts.Count;
        }

        long _d;
        string _listener = "plain";
        bool _specific;
        readonly List<string> _stories = [];

        public override JsonObject Document(string name)
        {
            _d = Pick(DelaysMs) * 1_000_000L;
            Delays = [_d];
            _listener = Pick(Listeners);
            int count = 1 + Below(3);
            for (int i = 0; i < count; i++)
            {
                string story = Pick(Stories);
                // One black hole per case: one syncnt or sndtimeo story at most.
                if (story is "syncnt" or "sndtimeo" && _stories.Any(s => s is "syncnt" or "sndtimeo")) story = "peek";
                _stories.Add(story);
            }
            var hosts = ClientAndServer();
            var links = new JsonArray(new JsonObject { ["between"] = new JsonArray("client", "server"), ["delay"] = FuzzSteps.Duration(_d) });

            MakeListeners();
            var connections = Connect();
            long at = Accept(connections);
            foreach (var connection in connections) Tell(connection, at);

            // The acts, the earliest ready first (a random one of equals), each kept clear of the arrivals before it.
            while (connections.Any(c => !c.Done) && at < LastActNs)
            {
                var ready = connections.Where(c => !c.Done).Select(c => (Connection: c, At: c.Last + c.Acts[c.Next].After)).ToList();
                long earliest = ready.Min(r => r.At);
                var next = Pick(ready.Where(r => r.At <= earliest + 20_000_000).ToList()).Connection;
                var (after, make) = next.Acts[next.Next++];
                at = Away(Math.Max(at + 1_000_000, next.Last + after));
                if (Chance(0.08))
                {
                    Add(at, new JsonObject { ["expect"] = new JsonObject() });
                    at = Away(at + 6_000_000);
                }
                if (make() is { } step) Add(at, step);
                next.Last = at;
            }

            // The end: the listeners closed, the server's process killed, or neither.
            at = Away(at + Ms(5, 600));
            int ending = Below(10);
            if (ending < 3) foreach (var l in ListenerAliases()) Add(at, FuzzSteps.Call("server", "srv", "close", [], l));
            else if (ending < 5) Add(at, FuzzSteps.Kill("server", "srv"));

            return Finish(name,
                "Drawn by simservice fuzz --profile options: socket options and flags in teardown stories (MSG_PEEK, SO_RCVLOWAT, TCP_NOTSENT_LOWAT, TCP_QUICKACK, TCP_MAXSEG, SO_SNDTIMEO, SO_RCVTIMEO, loopback and tcp_tw_reuse, IP_LOCAL_PORT_RANGE, TCP_SYNCNT, TCP_DEFER_ACCEPT, SO_REUSEPORT), run on the engine and on the kernel.",
                hosts, links, at, 8_000, LongestNs);
        }

        IEnumerable<string> ListenerAliases() => _listener == "reuseport" && _specific ? ["l", "l2"] : ["l"];

        static JsonObject Srv(string call, JsonObject arguments, string? socket = null) => FuzzSteps.Call("server", "srv", call, arguments, socket);

        /// <summary>The listener (or the reuseport pair) on port 80, at time 0.</summary>
        void MakeListeners()
        {
            switch (_listener)
            {
                case "plain":
                    Add(0, Srv("listen", new JsonObject { ["port"] = 80, ["as"] = "l" }));
                    return;
                case "inherit":
                    Add(0, Srv("socket", new JsonObject { ["as"] = "l" }));
                    foreach (var option in Inherited()) Add(0, Srv("setsockopt", option, "l"));
                    break;
                case "defer-accept":
                    Add(0, Srv("socket", new JsonObject { ["as"] = "l" }));
                    Add(0, Srv("setsockopt", FuzzSteps.Option("TCP_DEFER_ACCEPT", 1 + Below(3)), "l"));
                    Add(0, Srv("getsockopt", new JsonObject { ["option"] = "TCP_DEFER_ACCEPT" }, "l"));
                    break;
                default:
                    {
                        // Two listeners of one user with SO_REUSEPORT: the second on the server's address (a SYN to it takes
                        // that one, __inet_lookup_listener()'s exact match first) or on 0.0.0.0 too and closed at once
                        // (reuseport_detach_sock()); a plain socket binding the port after them is refused.
                        _specific = Chance(0.6);
                        Add(0, Srv("socket", new JsonObject { ["as"] = "l2" }));
                        Add(0, Srv("setsockopt", FuzzSteps.Option("SO_REUSEPORT", 1), "l2"));
                        var bind = new JsonObject { ["port"] = 80 };
                        if (_specific) bind["address"] = "10.0.0.2";
                        Add(0, Srv("bind", bind, "l2"));
                        Add(0, Srv("listen", new JsonObject { ["backlog"] = 16 }, "l2"));
                        Add(0, Srv("socket", new JsonObject { ["as"] = "l" }));
                        Add(0, Srv("setsockopt", FuzzSteps.Option("SO_REUSEPORT", 1), "l"));
                        break;
                    }
            }
            Add(0, Srv("bind", new JsonObject { ["port"] = 80 }, "l"));
            Add(0, Srv("listen", new JsonObject { ["backlog"] = Pick(new[] { 8, 128 }) }, "l"));
            if (_listener != "reuseport") return;
            Add(0, Srv("getsockopt", new JsonObject { ["option"] = "SO_REUSEPORT" }, "l"));
            Add(0, Srv("socket", new JsonObject { ["as"] = "x" }));
            var plain = new JsonObject { ["port"] = 80 };
            if (Chance(0.5)) plain["address"] = Chance(0.5) ? "10.0.0.2" : "127.0.0.1";
            Add(0, Srv("bind", plain, "x"));
            Add(0, Srv("close", [], "x"));
            if (!_specific) Add(0, Srv("close", [], "l2"));
        }

        /// <summary>One or two options set on the listener before listen(), which accept() hands to its children.</summary>
        IEnumerable<JsonObject> Inherited()
        {
            int count = 1 + Below(2);
            for (int i = 0; i < count; i++)
                yield return Below(5) switch
                {
                    0 => FuzzSteps.Option("TCP_MAXSEG", Pick(new[] { 536, 1000, 1200, 1400 })),
                    1 => FuzzSteps.Option("TCP_NOTSENT_LOWAT", Pick(new[] { 1, 2000, 16_384, 100_000 })),
                    2 => FuzzSteps.Option("SO_RCVLOWAT", Pick(new[] { 10, 1000, 5000 })),
                    3 => FuzzSteps.Option("TCP_SYNCNT", 1 + Below(3)),
                    _ => FuzzSteps.Option("SO_RCVTIMEO", new JsonObject { ["sec"] = 0, ["usec"] = Pick(new[] { 1, 100_000, 500_000 }) }),
                };
        }

        /// <summary>
        /// The connections, each made from its own client process (a loopback one from the server's host), their handshakes'
        /// completions at least 6 ms apart so the accept queue holds them in one order on both sides.
        /// </summary>
        List<Connection> Connect()
        {
            var connections = new List<Connection>();
            var queued = new List<long>();
            long at = 1_000_000;
            for (int i = 1; i <= _stories.Count; i++)
            {
                string story = _stories[i - 1];
                bool loopback = story == "loopback";
                var client = loopback ? new End($"c{i}", "server", $"lo{i}") : new End($"c{i}", "client", $"c{i}");
                var connection = new Connection(i, client, story);
                connections.Add(connection);
                if (story == "syncnt") continue;
                string to = loopback && Chance(0.5) ? "127.0.0.1:80" : "server:80";
                // The listener a SYN finds: the one bound to its destination address, else the one on 0.0.0.0.
                connection.Listener = _specific && to == "server:80" ? "l2" : "l";
                long handshake = loopback ? 0 : 3 * _d;
                while (queued.Any(q => Math.Abs(q - (at + handshake)) < 6_000_000)) at += 1_000_000;
                connection.Queued = at + handshake;
                queued.Add(connection.Queued);
                var options = BeforeConnect(connection).ToList();
                // A loopback client on a port of its own, for the reconnect onto its TIME-WAIT: bound to it, or given it as
                // its one-port IP_LOCAL_PORT_RANGE (connect() takes it, its bind bucket connect()'s: fastreuse −1).
                int fixedPort = !loopback ? 0 : Below(10) switch { < 3 => 0, < 6 => 1, _ => 2 };
                bool bound = fixedPort == 1;
                if (fixedPort == 2) options.Add(FuzzSteps.Option("IP_LOCAL_PORT_RANGE", new JsonObject { ["lo"] = 50_000 + i, ["hi"] = 50_000 + i }));
                if (options.Count > 0 || bound)
                {
                    Add(at, NewSocket(client));
                    if (bound) options.Insert(0, FuzzSteps.Option("SO_REUSEADDR", 1));
                    foreach (var option in options) Add(at, Call(client, "setsockopt", option));
                    if (bound) Add(at, Call(client, "bind", new JsonObject { ["port"] = 50_000 + i }));
                    Add(at, Call(client, "connect", new JsonObject { ["to"] = to }));
                }
                else Add(at, FuzzSteps.Call(client.Host, client.Process, "connect", new JsonObject { ["to"] = to, ["as"] = client.Alias }));
                connection.Last = at + handshake;
                at += _d + 8_000_000;
            }
            return connections;
        }

        /// <summary>Options a story sets on its client socket before connect().</summary>
        IEnumerable<JsonObject> BeforeConnect(Connection connection)
        {
            switch (connection.Story)
            {
                case "maxseg":
                    yield return FuzzSteps.Option("TCP_MAXSEG", Pick(new[] { 0, 88, 500, 536, 1000, 1400, 1460, 2000 }));
                    break;
                case "notsent-lowat" when Chance(0.5):
                    yield return FuzzSteps.Option("TCP_NOTSENT_LOWAT", NotsentLowat());
                    break;
                case "port-range":
                    yield return FuzzSteps.Option("IP_LOCAL_PORT_RANGE", PortRange());
                    break;
            }
        }

        int NotsentLowat() => Pick(new[] { 1, 1000, 5000, 16_384, 65_536 });

        /// <summary>
        /// The port-range connection's own range, within the lower half of the client's 40000–40015 so that it never takes
        /// one of the odd ports of <see cref="OddPort"/>: one to three ports, lo outside the host's range (that end stays the
        /// host's), both 0 (no range) or lo above hi (EINVAL). A socket with a range searches every port of it in one pass
        /// from an offset hashed with a secret of the boot, so which of them it takes is not comparable; the plain connects
        /// of the other stories search the even ports first (__inet_hash_connect()), so none of them takes an odd one. So
        /// every range holds an odd port: a one-port range on an even port an earlier connect took made connect() fail
        /// EADDRNOTAVAIL and the drawn accept of its child never return (seed 3499 case 12: c1 took 40004).
        /// </summary>
        JsonObject PortRange()
        {
            int lo = RangeLow + Below(6), kind = Below(10);
            var (l, h) = kind switch
            {
                < 5 => Below(3) is var more && more == 0 ? (lo | 1, lo | 1) : (lo, lo + more),
                < 8 => (30_000 + Below(9000), lo | 1),
                < 9 => (0, 0),
                _ => (lo + 2, lo),
            };
            return new JsonObject { ["lo"] = l, ["hi"] = h };
        }

        /// <summary>
        /// A further socket's range: one odd port of the upper half (40009–40015), which only such sockets take — the first
        /// to connect gets it, a later one to the same server:80 finds the 4-tuple taken (EADDRNOTAVAIL) — or, now and then,
        /// both 0 or lo above hi (the host's range, even ports first).
        /// </summary>
        JsonObject OddPort(int port) => Below(10) switch
        {
            < 8 => new JsonObject { ["lo"] = port, ["hi"] = port },
            < 9 => new JsonObject { ["lo"] = 0, ["hi"] = 0 },
            _ => new JsonObject { ["lo"] = port, ["hi"] = port - 2 },
        };

        /// <summary>
        /// The server's accepts, in the order the children are queued. Under TCP_DEFER_ACCEPT a child is queued when its
        /// client's data arrives, or when the ACK of the last SYN-ACK of the deferral comes (at most 3 s + a round trip for
        /// the 1–3 s drawn): the clients write (or not) and the listener is polled before one accept each, 4 s after the last
        /// connect. Returns the time the stories begin.
        /// </summary>
        long Accept(List<Connection> connections)
        {
            var accepted = connections.Where(c => c.Story != "syncnt").ToList();
            long at = accepted.Count == 0 ? 10_000_000 : accepted.Max(c => c.Queued) + 10_000_000;
            if (_listener == "defer-accept" && accepted.Count > 0)
            {
                long first = accepted.Min(c => c.Queued);
                var writes = new List<(long At, JsonObject Step)>();
                foreach (var c in accepted.Where(_ => Chance(0.6)))
                    writes.Add((c.Queued + Ms(1, 2500), Call(c.Client, "send", Send(1 + Below(1400)))));
                for (int p = Below(4); p > 0; p--)
                    writes.Add((first + Ms(50, 3800), Srv("poll", new JsonObject { ["events"] = new JsonArray("POLLIN") }, "l")));
                foreach (var (when, step) in writes.OrderBy(w => w.At)) Add(Away(when), step);
                at = Away(Math.Max(at, accepted.Max(c => c.Queued) + 4_000_000_000));
            }
            // Under TCP_DEFER_ACCEPT the order is the kernel's to find; the aliases follow what accept() returns.
            int n = 0;
            foreach (var connection in accepted.OrderBy(c => c.Queued))
            {
                connection.Server = new End($"s{connection.Index}", "server", "srv");
                Add(at + n++ * 1_000_000, Srv("accept", new JsonObject { ["as"] = connection.Server.Alias }, connection.Listener));
            }
            return at + n * 1_000_000 + 10_000_000;
        }

        /// <summary>The connection's story, as acts on it from <paramref name="start"/> on.</summary>
        void Tell(Connection connection, long start)
        {
            var c = connection.Client;
            var s = connection.Server;
            connection.Last = Math.Max(connection.Last, start);
            void Act(long after, Func<JsonObject?> step) => connection.Acts.Add((after, step));
            void Do(long after, End end, string call, JsonObject arguments) => Act(after, () => Call(end, call, arguments));
            long arrive = (connection.Story == "loopback" ? 0 : _d) + 2_000_000;
            long Gap() => Ms(0, 60);
            int request = 1 + Below(Chance(0.7) ? 1400 : 9000);
            switch (connection.Story)
            {
                case "peek":
                    {
                        Do(0, c, "send", Send(request));
                        Do(arrive, s!, "recv", Recv(Chance(0.5) ? 1 + Below(request + 100) : null, peek: true));
                        if (Chance(0.5)) Do(Gap(), s!, "recv", Recv(Chance(0.5) ? 1 + Below(request) : null));
                        Do(Gap(), s!, "send", Send(1 + Below(3000)));
                        var (first, second) = Chance(0.5) ? (s!, c) : (c, s!);
                        bool halfClose = Chance(0.3);
                        if (halfClose) Do(Gap(), first, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                        else Do(Gap(), first, "close", []);
                        Do(2 * _d + 2_000_000, second, "recv", Recv(null, peek: true));
                        Do(Gap(), second, "recv", Recv(null, peek: Chance(0.3)));
                        Do(Gap(), second, "close", []);
                        if (halfClose) Do(Gap(), first, "close", []);
                        break;
                    }
                case "rcvlowat":
                    {
                        var (reader, writer) = Chance(0.7) ? (s!, c) : (c, s!);
                        Do(0, reader, "setsockopt", FuzzSteps.Option("SO_RCVLOWAT", Pick(new[] { -1, 0, 1, 500, 3000, 10_000, 40_000 })));
                        if (Chance(0.4)) Do(0, reader, "getsockopt", new JsonObject { ["option"] = "SO_RCVLOWAT" });
                        for (int p = 1 + Below(3); p > 0; p--)
                        {
                            Do(Ms(1, 200), writer, "send", Send(100 + Below(6000)));
                            Do(arrive, reader, "poll", new JsonObject { ["events"] = new JsonArray("POLLIN", "POLLRDHUP") });
                        }
                        if (Chance(0.5)) Do(Gap(), writer, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                        Do(arrive, reader, "poll", new JsonObject { ["events"] = new JsonArray("POLLIN", "POLLRDHUP") });
                        Do(Gap(), reader, "recv", Recv(Chance(0.5) ? 1 + Below(20_000) : null));
                        Do(Gap(), reader, "close", []);
                        Do(2 * _d + 2_000_000, writer, "close", []);
                        break;
                    }
                case "notsent-lowat":
                    {
                        var (writer, reader) = Chance(0.7) ? (c, s!) : (s!, c);
                        if (writer == s || Chance(0.5)) Do(0, writer, "setsockopt", FuzzSteps.Option("TCP_NOTSENT_LOWAT", NotsentLowat()));
                        // At most 60 kB unread: a receive buffer that fills is the TUN device's to charge (see sndtimeo).
                        Do(Gap(), writer, "send", Send(20_000 + Below(40_000)));
                        Do(Ms(1, 30), writer, "poll", new JsonObject { ["events"] = new JsonArray("POLLOUT") });
                        if (Chance(0.5)) Do(Ms(1, 300), writer, "send", Send(1 + Below(10_000)));
                        Do(Ms(1, 500), writer, "poll", new JsonObject { ["events"] = new JsonArray("POLLOUT") });
                        Do(Stall, reader, "recv", Recv(null));
                        Do(Ms(1, 100), writer, "poll", new JsonObject { ["events"] = new JsonArray("POLLOUT") });
                        Do(Gap(), writer, "close", []);
                        Do(Stall, reader, "recv", Recv(null));
                        Do(Gap(), reader, "close", []);
                        break;
                    }
                case "quickack":
                    {
                        var (receiver, sender) = Chance(0.7) ? (s!, c) : (c, s!);
                        Do(0, receiver, "setsockopt", FuzzSteps.Option("TCP_QUICKACK", Below(2)));
                        for (int p = 2 + Below(3); p > 0; p--) Do(Ms(5, 250), sender, "send", Send(1 + Below(1000)));
                        if (Chance(0.5)) Do(Ms(1, 100), receiver, "setsockopt", FuzzSteps.Option("TCP_QUICKACK", Below(2)));
                        Do(Ms(1, 100), receiver, "getsockopt", new JsonObject { ["option"] = "TCP_QUICKACK" });
                        Do(Gap(), receiver, "recv", Recv(null));
                        Do(Gap(), receiver, "send", Send(1 + Below(500)));
                        Do(Ms(1, 300), sender, "close", []);
                        Do(2 * _d + 2_000_000, receiver, "recv", Recv(null));
                        Do(Gap(), receiver, "close", []);
                        break;
                    }
                case "maxseg":
                    Do(0, c, "getsockopt", new JsonObject { ["option"] = "TCP_MAXSEG" });
                    Do(0, s!, "getsockopt", new JsonObject { ["option"] = "TCP_MAXSEG" });
                    if (Chance(0.3)) Do(Gap(), s!, "setsockopt", FuzzSteps.Option("TCP_MAXSEG", Pick(new[] { 88, 600, 1200 })));
                    Do(Gap(), c, "send", Send(2000 + Below(30_000)));
                    Do(Stall, s!, "recv", Recv(null));
                    Do(Gap(), s!, "send", Send(1000 + Below(20_000)));
                    Do(Gap(), s!, "getsockopt", new JsonObject { ["option"] = "TCP_MAXSEG" });
                    Do(Gap(), s!, "close", []);
                    Do(Stall, c, "recv", Recv(null));
                    Do(Gap(), c, "close", []);
                    break;
                case "sndtimeo":
                    {
                        // The client's send sleeps on a full send buffer until SO_SNDTIMEO runs out on the wheel: a one-way black
                        // hole keeps what it sent unacknowledged (not a server that does not read: its receive buffer would
                        // fill with the TUN device's skbs, charged at another truesize than the engine's, and the windows part).
                        // Its next call comes well after that.
                        var timeout = Pick(new[] { (0, 200_000), (0, 600_000), (1, 0), (-1, 0) });
                        string direction = Chance(0.5) ? "client->server" : "server->client";
                        Do(0, c, "setsockopt", FuzzSteps.Option("SO_SNDTIMEO", new JsonObject { ["sec"] = timeout.Item1, ["usec"] = timeout.Item2 }));
                        if (Chance(0.3)) Do(0, c, "getsockopt", new JsonObject { ["option"] = "SO_SNDTIMEO" });
                        Act(Gap(), () => FuzzSteps.LinkLoss(direction, 1.0));
                        Do(10_000_000, c, "send", new JsonObject { ["bytes"] = 200_000 + Below(2_000_000), ["flags"] = new JsonArray("MSG_NOSIGNAL") });
                        long after = Math.Max(0, timeout.Item1) * 1_000_000_000L + timeout.Item2 * 1000L + 400_000_000;
                        Act(after + Ms(0, 1000), () => FuzzSteps.LinkLoss(direction, 0.0));
                        Do(Stall, s!, "recv", Recv(Chance(0.5) ? 1 + Below(100_000) : null));
                        if (Chance(0.5)) Do(Gap(), c, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                        Do(Stall, s!, "recv", Recv(null));
                        Do(Gap(), s!, "close", []);
                        Do(2 * _d + 2_000_000, c, "close", []);
                        break;
                    }
                case "rcvtimeo":
                    {
                        // The client sleeps in recv() until SO_RCVTIMEO (on the wheel) or the server's answer, drawn well
                        // clear of the timeout: a few bytes, its FIN, an RST, or nothing.
                        long timeout = Ms(300, 2500);
                        Do(0, c, "setsockopt", FuzzSteps.Option("SO_RCVTIMEO", new JsonObject { ["sec"] = timeout / 1_000_000_000, ["usec"] = timeout % 1_000_000_000 / 1000 }));
                        if (Chance(0.3)) Do(0, c, "getsockopt", new JsonObject { ["option"] = "SO_RCVTIMEO" });
                        Do(Gap(), c, "recv", new JsonObject());
                        int answer = Below(4);
                        long when = answer == 3 ? timeout + 300_000_000 : Math.Max(1_000_000, timeout * (1 + Below(6)) / 10 - 2 * _d);
                        if (answer == 0) Do(when, s!, "send", Send(1 + Below(1400)));
                        else if (answer == 1) Do(when, s!, "shutdown", new JsonObject { ["how"] = "SHUT_WR" });
                        else if (answer == 2)
                        {
                            Do(when, s!, "setsockopt", FuzzSteps.Option("SO_LINGER", new JsonObject { ["onoff"] = 1, ["linger"] = 0 }));
                            Do(0, s!, "close", []);
                        }
                        // After the timeout and its wheel bucket (at most 256 ms late below 16 s).
                        Do(answer == 3 ? timeout + 600_000_000 : timeout + 600_000_000 - when, c, "recv", Recv(null));
                        Do(Gap(), c, "close", []);
                        if (answer != 2) Do(Gap(), s!, "close", []);
                        break;
                    }
                case "loopback":
                    {
                        var (bound, ranged, to) = HowConnected(c);
                        Do(0, c, "send", Send(1 + Below(Chance(0.5) ? 3000 : 120_000)));
                        Do(Ms(20, 200), s!, "recv", Recv(null));
                        Do(Gap(), s!, "send", Send(1 + Below(70_000)));
                        Do(Ms(1, 100), c, "recv", Recv(null));
                        var (first, second) = bound || Chance(0.5) ? (c, s!) : (s!, c);
                        Do(Gap(), first, "close", []);
                        Do(Ms(1, 50), second, "recv", Recv(null));
                        Do(Gap(), second, "close", []);
                        if (!bound && !ranged) break;
                        // A new socket connecting again from the same port, the same way, while the first one's TIME-WAIT
                        // lasts, 1.2–2.5 s after it began. Bound to the port (SO_REUSEADDR), __inet_hash_connect() passes
                        // tcp_twsk_unique() no twp: any TIME-WAIT with a timestamp is taken, whatever tcp_tw_reuse says. Given
                        // the port as its IP_LOCAL_PORT_RANGE, the ephemeral search passes twp: tcp_tw_reuse decides (2: only
                        // for a loopback address), tcp_tw_reuse_delay (1 s) after the TIME-WAIT began. (A range onto a port
                        // a bind() made would skip it: its bucket's fastreuse is not −1.)
                        var again = new End($"c{connection.Index}r", "server", $"lo{connection.Index}r");
                        int port = 50_000 + connection.Index;
                        Act(Ms(1200, 2500), () => NewSocket(again));
                        if (bound)
                        {
                            Do(0, again, "setsockopt", FuzzSteps.Option("SO_REUSEADDR", 1));
                            Do(0, again, "bind", new JsonObject { ["port"] = port });
                        }
                        else Do(0, again, "setsockopt", FuzzSteps.Option("IP_LOCAL_PORT_RANGE", new JsonObject { ["lo"] = port, ["hi"] = port }));
                        Do(0, again, "fcntl", new JsonObject { ["nonblock"] = true });
                        Do(0, again, "connect", new JsonObject { ["to"] = to });
                        Do(Ms(100, 700), again, "close", []);
                        break;
                    }
                case "port-range":
                    {
                        Do(0, c, "getsockopt", new JsonObject { ["option"] = "IP_LOCAL_PORT_RANGE" });
                        // Further sockets of the same process with a range of their own, connecting without blocking: in
                        // progress, or EADDRNOTAVAIL once the range has no port left for server:80. Never accepted.
                        int more = 1 + Below(3), port = 40_009 + 2 * Below(4);
                        for (int k = 1; k <= more; k++)
                        {
                            var extra = new End($"c{connection.Index}p{k}", "client", c.Process);
                            Act(Gap(), () => NewSocket(extra));
                            Do(0, extra, "setsockopt", FuzzSteps.Option("IP_LOCAL_PORT_RANGE", OddPort(Chance(0.8) ? port : 40_009 + 2 * Below(4))));
                            Do(0, extra, "fcntl", new JsonObject { ["nonblock"] = true });
                            Do(0, extra, "connect", new JsonObject { ["to"] = "server:80" });
                        }
                        Do(Gap(), c, "send", Send(request));
                        Do(arrive, s!, "recv", Recv(null));
                        Do(Gap(), s!, "close", []);
                        for (int k = 1; k <= more; k++)
                        {
                            var extra = new End($"c{connection.Index}p{k}", "client", c.Process);
                            Do(Gap(), extra, "close", []);
                        }
                        Do(Gap(), c, "close", []);
                        break;
                    }
                default:
                    {
                        // syncnt: the client's blocking connect under a one-way black hole, bounded by TCP_SYNCNT (1: it gives up
                        // 3 s after the SYN, 2: 7 s); the hole lifted between retransmissions or not at all. Never accepted.
                        int syncnt = 1 + Below(2);
                        long giveUp = syncnt == 1 ? 3_000_000_000 : 7_000_000_000;
                        string direction = Chance(0.6) ? "client->server" : "server->client";
                        long lift = Pick(new[] { 500_000_000L, 2_000_000_000L, 5_000_000_000L, giveUp + 1_000_000_000 });
                        Act(0, () => FuzzSteps.LinkLoss(direction, 1.0));
                        Act(10_000_000, () => NewSocket(c));
                        Do(0, c, "setsockopt", FuzzSteps.Option("TCP_SYNCNT", syncnt));
                        Do(0, c, "connect", new JsonObject { ["to"] = "server:80" });
                        Act(lift, () => FuzzSteps.LinkLoss(direction, 0.0));
                        Do(Math.Max(0, giveUp + 500_000_000 - lift), c, "getsockopt", new JsonObject { ["option"] = "TCP_SYNCNT" });
                        Do(Gap(), c, "close", []);
                        break;
                    }
            }
        }

        /// <summary>Whether <paramref name="end"/>'s socket was bound to a fixed port before its connect() or given one as its range, and where it connected.</summary>
        (bool Bound, bool Ranged, string To) HowConnected(End end)
        {
            var steps = Steps.Select(s => s.Step).Where(s => s["process"]?.GetValue<string>() == end.Process).ToList();
            return (steps.Any(s => s["call"]?.GetValue<string>() == "bind"),
                steps.Any(s => s["option"]?.GetValue<string>() == "IP_LOCAL_PORT_RANGE"),
                steps.First(s => s["call"]?.GetValue<string>() == "connect")["to"]!.GetValue<string>());
        }

        /// <summary>A bulk write's readers wait this long: the transfer has ended or stalled on a closed window by then.</summary>
        long Stall => 1_200_000_000 + 24 * _d;

        static JsonObject NewSocket(End end) => FuzzSteps.Call(end.Host, end.Process, "socket", new JsonObject { ["as"] = end.Alias });

        static JsonObject Send(int bytes) => new() { ["bytes"] = bytes, ["flags"] = new JsonArray("MSG_DONTWAIT", "MSG_NOSIGNAL") };

        static JsonObject Recv(int? bytes, bool peek = false)
        {
            var recv = new JsonObject { ["flags"] = peek ? new JsonArray("MSG_PEEK", "MSG_DONTWAIT") : new JsonArray("MSG_DONTWAIT") };
            if (bytes is { } n) recv["bytes"] = n;
            return recv;
        }

        /// <summary>The hosts' sysctls: the client's narrow port range with a port-range story, tcp_tw_reuse and timestamps, notsent_lowat.</summary>
        protected override JsonObject Host(string address)
        {
            var sysctls = new HostSysctls(this);
            bool client = address == "10.0.0.1";
            if (client && _stories.Contains("port-range")) sysctls.Maybe(1, "ip_local_port_range", $"{RangeLow} {RangeHigh}");
            sysctls.Maybe(client ? 0.1 : 0.6, "tcp_tw_reuse", Below(3));
            sysctls.Maybe(0.15, "tcp_timestamps", 0);
            sysctls.Maybe(0.15, "tcp_notsent_lowat", Pick(new[] { 4096, 16_384, 131_072 }));
            sysctls.Maybe(0.2, "tcp_fin_timeout", Pick(new[] { 1, 2, 5 }));
            if (!client) sysctls.Maybe(0.3, "tcp_synack_retries", 1 + Below(3));
            return sysctls.Host(address);
        }
    }
}
