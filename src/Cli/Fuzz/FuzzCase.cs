using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimService.Domain.Engine;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Fuzz;

/// <summary>
/// One generated teardown scenario of <c>simservice fuzz</c>: a pure function of (seed, case number). <see cref="Draw"/>
/// writes the steps (hosts, sysctls, links, connections, random calls per side, black holes switched on and off,
/// expect steps); <see cref="Calibrate"/> then runs the draft on the engine and writes what the engine did into it —
/// every call's result and each expect step's sockstat — so the document passes on the engine by construction, and on
/// the kernel it checks the calls' results, which the difference report does not compare.
/// </summary>
/// <remarks>
/// Kept within what the kernel runner takes (docs/kernel-check.md "Scenarios on the kernel"): Linux hosts only, loss 0
/// or 1 (a loss between them is drawn differently on the two sides), per-namespace sysctls, no inject/workload/NAT, at
/// most ~15 s of virtual time with <c>runUntil</c> set (without it the kernel run would wait for TIME-WAIT's 60 s). No
/// call can sleep in the kernel where a later step needs it not to: recv and send are MSG_DONTWAIT, accept takes
/// connections already queued, a lingering close only on a client's own process (a kill of a process holding a lingering
/// socket does not wait: session 36's runner closes it as do_exit() does, tcp_close(sk, 0)).
/// One-way delays are odd milliseconds: an RTT of a multiple of 4 ms puts the engine's RTO exactly on a jiffy, where
/// the kernel's RTT, a little longer over the user-space link, rounds up one more (docs/kernel-check.md).
/// </remarks>
public sealed class FuzzCase
{
    /// <summary>The one-way delays drawn for a link (odd milliseconds, see the remarks).</summary>
    static readonly int[] DelaysMs = [1, 3, 5, 7, 9, 11, 15, 21];

    /// <summary>The latest time an action step is drawn at; <c>runUntil</c> adds up to 4 s.</summary>
    const long LastActionNs = 10_000_000_000;

    /// <summary>Steps around an expect step keep this far from it: its readings span ±4 ms and never cross a neighbouring step.</summary>
    const long ExpectClearanceNs = 6_000_000;

    /// <summary>The seed it was drawn from (null for a case read from a file).</summary>
    public long? Seed { get; }
    public int Number { get; }
    public string Name { get; }

    /// <summary>The document as drawn (call expectations not filled yet).</summary>
    public JsonObject Draft { get; }

    FuzzCase(long? seed, int number, string name, JsonObject draft)
    {
        Seed = seed;
        Number = number;
        Name = name;
        Draft = draft;
    }

    /// <summary>A case another profile drew (<see cref="ListenFuzzCase"/>).</summary>
    internal static FuzzCase Drawn(long seed, int number, string name, JsonObject draft) => new(seed, number, name, draft);

    /// <summary>A case read from a file (a kept or minimized one).</summary>
    public static FuzzCase Of(string name, JsonObject document) => new(null, 0, name, document);

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/>: the same two numbers always give the same document.</summary>
    public static FuzzCase Draw(long seed, int number)
    {
        var drawer = new Drawer(new Pcg32(seed, 0x5851f42d + 2L * number));
        string name = $"fuzz-{seed}-{number}";
        return new FuzzCase(seed, number, name, drawer.Document(name));
    }

    /// <summary>
    /// The draft run on the engine and its results written in: each call's <c>expect.result</c> (dropped for a call still
    /// blocked at the end) and a poll's <c>expect.value</c> (the events), each expect step's sockstat <c>inuse</c> and <c>tw</c> per host. Null with the parser's
    /// errors when the draft is not a valid document (a shrinker's edit can make one).
    /// </summary>
    public static (string? Json, IReadOnlyList<string> Errors) Calibrate(JsonObject draft)
    {
        var doc = (JsonObject)draft.DeepClone();
        var steps = doc["steps"]!.AsArray();
        var hostNames = doc["hosts"]!.AsObject().Select(h => h.Key).ToList();
        foreach (var step in steps.Select(s => s!.AsObject()))
        {
            if (step.ContainsKey("call"))
            {
                var placeholder = Polls(step) || Reads(step) ? new JsonObject { ["result"] = 0, ["value"] = "0" } : new JsonObject { ["result"] = 0 };
                if (Timed(step)) placeholder["returnsAfter"] = "0s";
                step["expect"] = placeholder;
            }
            else if (step["expect"] is JsonObject e)
            {
                e["sockstat"] = Placeholder(hostNames);
                if (e["sockets"] is JsonArray looks) FuzzLooks.Probe(looks);
            }
        }
        var parsed = ScenarioParser.Parse(Text(doc));
        if (parsed.Document is not { } document) return (null, [.. parsed.Errors.Select(e => $"{e.Path}: {e.Message}")]);
        if (QuietEnd(document, doc) is { } moved)
        {
            parsed = ScenarioParser.Parse(Text(doc));
            document = parsed.Document!;
        }
        var sockstats = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var result = ScenarioRunner.Run(document, new ScenarioRunOptions
        {
            AtExpect = (step, sim) => sockstats[step.Path] = new JsonObject(hostNames.Select(h => sim.FindHost(h)!).Select(h =>
                KeyValuePair.Create<string, JsonNode?>(h.Name, new JsonObject { ["inuse"] = h.InUse, ["tw"] = h.TimeWaitCount }))),
        });
        if (!result.Errors.IsEmpty) return (null, [.. result.Errors.Select(e => $"{e.Path}: {e.Message} (on the engine)")]);
        var results = result.Checks.Where(c => c.Kind == CheckKinds.CallResult).ToDictionary(c => c.Path, c => c.Actual, StringComparer.Ordinal);
        var values = result.Checks.Where(c => c.Kind == CheckKinds.CallValue).ToDictionary(c => c.Path, c => c.Actual, StringComparer.Ordinal);
        var blocked = result.Checks.Where(c => c.Kind == CheckKinds.CallReturnsAfter).ToDictionary(c => c.Path, c => c.Actual, StringComparer.Ordinal);
        var rows = result.Checks.Where(c => c.Kind == CheckKinds.Sockets).ToDictionary(c => c.Path, c => c.Actual, StringComparer.Ordinal);
        for (int i = 0; i < steps.Count; i++)
        {
            var step = steps[i]!.AsObject();
            string path = $"$.steps[{i}]";
            if (step.ContainsKey("call"))
            {
                if (results.TryGetValue($"{path}.expect.result", out var actual) && !actual.StartsWith("still blocked", StringComparison.Ordinal))
                {
                    var expect = new JsonObject
                    {
                        ["result"] = long.TryParse(actual, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? JsonValue.Create(n) : JsonValue.Create(actual),
                    };
                    if (Polls(step) && values.TryGetValue($"{path}.expect.value", out var events) && events.StartsWith('"')) expect["value"] = JsonNode.Parse(events);
                    if (Reads(step) && values.TryGetValue($"{path}.expect.value", out var read) && FuzzLooks.Value(step, read) is { } value) expect["value"] = value;
                    if (Timed(step) && blocked.TryGetValue($"{path}.expect.returnsAfter", out var after) && FuzzLooks.ReturnsAfter(after) is { } range)
                        expect["returnsAfter"] = range;
                    step["expect"] = expect;
                }
                else step.Remove("expect");
            }
            else if (step["expect"] is JsonObject e)
            {
                e["sockstat"] = sockstats.TryGetValue(path, out var s) ? s : Placeholder(hostNames);
                if (e["sockets"] is JsonArray looks) e["sockets"] = FuzzLooks.Written(looks, i => rows.GetValueOrDefault($"{path}.expect.sockets[{i}]"));
            }
        }
        return (Text(doc), []);
    }

    /// <summary>No segment and no state change this near the run's end on the engine: a run on the kernel ends a little late.</summary>
    const long QuietNs = 20_000_000;

    /// <summary>
    /// Moves <c>runUntil</c> later while the engine sends a segment or changes a state within <see cref="QuietNs"/> of the
    /// end (looked at in a run 1 s longer): the kernel run's last reading comes a few ms after its end, and a timer a jiffy
    /// later there would make a segment or state one side has and the other not. Null when nothing moved.
    /// </summary>
    static string? QuietEnd(ScenarioDocument document, JsonObject doc)
    {
        long last = document.Steps.IsEmpty ? 0 : document.Steps[^1].At.Ns;
        long end = last + (document.RunUntil?.Ns ?? 0);
        var probe = (JsonObject)doc.DeepClone();
        probe["runUntil"] = $"{(end - last + 1_000_000_000) / 1_000_000}ms";
        if (ScenarioParser.Parse(Text(probe)).Document is not { } longer) return null;
        var times = ScenarioRunner.Run(longer).Simulation.Journal
            .Where(e => e is Domain.Journal.SegmentSent or Domain.Journal.StateChanged).Select(e => e.At.Ns).ToList();
        long start = end;
        while (end < start + 900_000_000 && times.Any(t => Math.Abs(t - end) < QuietNs)) end += 5_000_000;
        if (end == start) return null;
        doc["runUntil"] = $"{(end - last) / 1_000_000}ms";
        return doc["runUntil"]!.GetValue<string>();
    }

    /// <summary>A poll step: its returned events are written in beside its result, so the kernel's revents are compared too.</summary>
    static bool Polls(JsonObject step) => step["call"]?.GetValue<string>() == "poll";

    /// <summary>A getsockopt step: the value it read is written in beside its result (<see cref="FuzzLooks.Value"/>).</summary>
    static bool Reads(JsonObject step) => step["call"]?.GetValue<string>() == "getsockopt";

    /// <summary>A call drawn with <c>expect.returnsAfter</c> (the observe profile's lingering close): how long it blocked is written in.</summary>
    static bool Timed(JsonObject step) => step["expect"] is JsonObject e && e.ContainsKey("returnsAfter");

    static JsonObject Placeholder(IEnumerable<string> hosts) =>
        new(hosts.Select(h => KeyValuePair.Create<string, JsonNode?>(h, new JsonObject { ["tw"] = 0 })));

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, IndentSize = 2 };

    public static string Text(JsonObject doc) => doc.ToJsonString(Indented) + "\n";

    /// <summary>The random choices, in a fixed order from one generator.</summary>
    sealed class Drawer(IRandomSource random)
    {
        readonly List<(long At, JsonObject Step)> _steps = [];

        int Below(int n) => (int)random.NextBelow((uint)n);

        bool Chance(double p) => random.NextDouble() < p;

        T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];

        long Between(long lo, long hi) => lo + (long)(random.NextDouble() * (hi - lo));

        /// <summary>One side of a connection: its alias, host and process, and what it has done.</summary>
        sealed class End(string alias, string host, string process)
        {
            public string Alias { get; } = alias;
            public string Host { get; } = host;
            public string Process { get; } = process;
            public bool Closed { get; set; }
            public bool ShutWr { get; set; }
        }

        public JsonObject Document(string name)
        {
            bool third = Chance(0.3);
            string[] clients = third ? ["client", "client2"] : ["client"];
            var hosts = new JsonObject
            {
                ["client"] = Host("10.0.0.1"),
                ["server"] = Host("10.0.0.2"),
            };
            if (third) hosts["client2"] = Host("10.0.0.3");
            var delays = clients.ToDictionary(c => c, _ => (long)Pick(DelaysMs) * 1_000_000, StringComparer.Ordinal);
            _delays = [.. delays.Values.Distinct()];
            var links = new JsonArray([.. clients.Select(c => new JsonObject
            {
                ["between"] = new JsonArray(c, "server"),
                ["delay"] = Duration(delays[c]),
            })]);

            // Connections: one listener, 1–4 clients connecting (blocking) at times whose handshakes complete at least
            // 6 ms apart, so the accept queue holds them in the same order on both sides; then accepted in order.
            Add(0, new JsonObject { ["host"] = "server", ["process"] = "srv", ["call"] = "listen", ["port"] = 80, ["as"] = "l" });
            int connections = 1 + Below(4);
            var ends = new List<End>();
            var completions = new List<long>();
            long at = 1_000_000;
            for (int i = 1; i <= connections; i++)
            {
                string host = Pick(clients);
                while (completions.Any(c => Math.Abs(c - (at + 3 * delays[host])) < 6_000_000)) at += 1_000_000;
                completions.Add(at + 3 * delays[host]);
                var client = new End($"c{i}", host, $"c{i}");
                if (Chance(0.4))
                {
                    Add(at, Call(client, "socket", new JsonObject { ["as"] = client.Alias }, withSocket: false));
                    foreach (var option in Options(2)) Add(at, Call(client, "setsockopt", option));
                    Add(at, Call(client, "connect", new JsonObject { ["to"] = "server:80" }));
                }
                else Add(at, Call(client, "connect", new JsonObject { ["to"] = "server:80", ["as"] = client.Alias }, withSocket: false));
                ends.Add(client);
                at += 8_000_000;
            }
            long acceptAt = completions.Max() + 10_000_000;
            for (int i = 1; i <= connections; i++)
            {
                var server = new End($"s{i}", "server", "srv");
                Add(acceptAt + (i - 1) * 1_000_000, new JsonObject { ["host"] = "server", ["process"] = "srv", ["call"] = "accept", ["socket"] = "l", ["as"] = server.Alias });
                ends.Add(server);
            }

            // Actions: each at a random gap after the one before, on a random end that is still open.
            at = acceptAt + connections * 1_000_000 + 10_000_000;
            int actions = 4 + Below(14);
            int blackHoles = 0;
            string? blackHole = null;
            bool serverKilled = false;
            bool lastWasExpect = false;
            for (int a = 0; a < actions && at < LastActionNs; a++)
            {
                long gap = Chance(0.55) ? Between(1_000_000, 50_000_000) : Chance(0.75) ? Between(50_000_000, 600_000_000) : Between(600_000_000, 3_000_000_000);
                gap = gap / 1_000_000 * 1_000_000;
                if (lastWasExpect) gap = Math.Max(gap, ExpectClearanceNs);
                at = AwayFromArrivals(at + gap);
                lastWasExpect = false;
                int kind = Below(100);
                if (kind < 12)
                {
                    // An expect step: every socket of every host is compared at it (--diff), and its sockstat checked.
                    if (_steps.Count > 0 && at - _steps[^1].At < ExpectClearanceNs) at = _steps[^1].At + ExpectClearanceNs;
                    Add(at, new JsonObject { ["expect"] = new JsonObject() });
                    lastWasExpect = true;
                    continue;
                }
                if (kind < 20)
                {
                    // A one-way black hole on a link, later lifted.
                    if (blackHole is { } on)
                    {
                        Add(at, LinkLoss(on, 0.0));
                        blackHole = null;
                    }
                    else if (blackHoles < 2)
                    {
                        string client = Pick(ends.Where(e => e.Host != "server").Select(e => e.Host).Distinct().ToList());
                        blackHole = Chance(0.5) ? $"{client}->server" : $"server->{client}";
                        Add(at, LinkLoss(blackHole, 1.0));
                        blackHoles++;
                    }
                    continue;
                }
                var open = ends.Where(e => !e.Closed).ToList();
                if (open.Count == 0) break;
                var end = Pick(open);
                if (kind < 23 && !serverKilled && end.Host == "server")
                {
                    // The server's process killed: its listener and every connection it accepted closed at once.
                    Add(at, Kill("server", "srv"));
                    foreach (var e in ends.Where(e => e.Host == "server")) e.Closed = true;
                    serverKilled = true;
                    continue;
                }
                if (kind < 27 && end.Host != "server")
                {
                    // A client's process killed, SO_LINGER {1, N} or not: an exit never lingers (inet_release() passes
                    // tcp_close() the linger time only without PF_EXITING), and since session 36 neither does the runner's kill.
                    Add(at, Kill(end.Host, end.Process));
                    end.Closed = true;
                    continue;
                }
                Add(at, Action(end, kind));
            }

            // Most ends are closed in the end: teardown is what is tested.
            foreach (var end in ends.Where(e => !e.Closed && Chance(0.7)))
            {
                at += (Chance(0.5) ? Between(1_000_000, 30_000_000) : Between(30_000_000, 800_000_000)) / 1_000_000 * 1_000_000;
                if (lastWasExpect) at += ExpectClearanceNs;
                lastWasExpect = false;
                at = AwayFromArrivals(at);
                Add(at, Close(end));
            }
            if (Chance(0.6))
            {
                at += Math.Max(ExpectClearanceNs, Between(5_000_000, 2_000_000_000) / 1_000_000 * 1_000_000);
                Add(at, new JsonObject { ["expect"] = new JsonObject() });
            }

            return FuzzSteps.Document(name,
                "Drawn by simservice fuzz: random teardown calls on both sides, run on the engine and on the kernel.",
                hosts, links, _steps, Duration(Between(300_000_000, 4_000_000_000) / 1_000_000 * 1_000_000));
        }

        void Add(long at, JsonObject step) => _steps.Add((at, step));

        /// <summary>The links' one-way delays.</summary>
        List<long> _delays = [];

        /// <summary>How near a step may come to the arrival of what an earlier step sent: the runner's steps run a few ms late.</summary>
        const long RaceNs = 6_000_000;

        /// <summary><paramref name="at"/> kept clear of the arrivals of what earlier steps sent (<see cref="FuzzSteps.AwayFromArrivals"/>).</summary>
        long AwayFromArrivals(long at) => FuzzSteps.AwayFromArrivals(at, _steps.Select(s => s.At), _delays, RaceNs);

        /// <summary>One call on an open end, by the kind drawn (20–99).</summary>
        JsonObject Action(End end, int kind)
        {
            if (kind < 45 && !end.ShutWr)
                return Call(end, "send", new JsonObject { ["bytes"] = SendSize(), ["flags"] = new JsonArray("MSG_DONTWAIT") });
            if (kind < 62)
            {
                var recv = new JsonObject { ["flags"] = new JsonArray("MSG_DONTWAIT") };
                if (Chance(0.5)) recv["bytes"] = 1 + Below(Chance(0.5) ? 1000 : 100_000);
                return Call(end, "recv", recv);
            }
            if (kind < 70)
            {
                string how = Pick(new[] { "SHUT_WR", "SHUT_WR", "SHUT_RD", "SHUT_RDWR" });
                if (how != "SHUT_RD") end.ShutWr = true;
                return Call(end, "shutdown", new JsonObject { ["how"] = how });
            }
            if (kind < 85)
            {
                return Call(end, "setsockopt", Options(1, lingerMayWait: end.Host != "server").First());
            }
            return Close(end);
        }

        JsonObject Close(End end)
        {
            end.Closed = true;
            return Call(end, "close", []);
        }

        /// <summary>Sizes from a few bytes to well past the send buffer and the peer's window.</summary>
        int SendSize() => Below(10) switch
        {
            < 4 => 1 + Below(1448),
            < 7 => 1449 + Below(20_000),
            < 9 => 20_000 + Below(200_000),
            _ => 200_000 + Below(800_000),
        };

        /// <summary><paramref name="count"/> socket options (name, value) of the teardown kind.</summary>
        IEnumerable<JsonObject> Options(int count, bool lingerMayWait = true)
        {
            for (int i = 0; i < count; i++)
            {
                switch (Below(8))
                {
                    case 0:
                    case 1:
                        int linger = lingerMayWait && Chance(0.4) ? 1 + Below(2) : 0;
                        yield return Option("SO_LINGER", new JsonObject { ["onoff"] = Chance(0.9) ? 1 : 0, ["linger"] = linger });
                        break;
                    case 2:
                        yield return Option("TCP_LINGER2", Pick(new[] { -1, 0, 1, 2, 3 }));
                        break;
                    case 3:
                        yield return Option("SO_KEEPALIVE", 1);
                        break;
                    case 4:
                        yield return Option("TCP_KEEPIDLE", 1 + Below(3));
                        break;
                    case 5:
                        yield return Option(Chance(0.5) ? "TCP_KEEPINTVL" : "TCP_KEEPCNT", 1 + Below(3));
                        break;
                    default:
                        yield return Option("TCP_USER_TIMEOUT", Pick(new[] { 300, 700, 1000, 1500, 2500, 4000 }));
                        break;
                }
            }
        }

        static JsonObject Option(string name, JsonNode value) => FuzzSteps.Option(name, value);

        static JsonObject Call(End end, string call, JsonObject arguments, bool withSocket = true) =>
            FuzzSteps.Call(end.Host, end.Process, call, arguments, withSocket ? end.Alias : null);

        static JsonObject Kill(string host, string process) => FuzzSteps.Kill(host, process);

        static JsonObject LinkLoss(string direction, double loss) => FuzzSteps.LinkLoss(direction, loss);

        /// <summary>A host with a few teardown sysctls drawn within realistic ranges (none, most of the time, for each).</summary>
        JsonObject Host(string address)
        {
            var sysctls = new JsonObject();
            void Maybe(double p, string name, JsonNode value)
            {
                if (Chance(p)) sysctls[$"net.ipv4.{name}"] = value;
            }
            Maybe(0.3, "tcp_fin_timeout", Pick(new[] { 1, 2, 3, 5, 10 }));
            Maybe(0.3, "tcp_orphan_retries", Pick(new[] { 0, 1, 2, 3 }));
            Maybe(0.25, "tcp_retries2", Pick(new[] { 1, 2, 3, 4, 5 }));
            Maybe(0.25, "tcp_keepalive_time", 1 + Below(3));
            Maybe(0.2, "tcp_keepalive_intvl", 1 + Below(2));
            Maybe(0.2, "tcp_keepalive_probes", 1 + Below(3));
            Maybe(0.15, "tcp_tw_reuse", Below(3));
            Maybe(0.2, "tcp_rfc1337", 1);
            Maybe(0.15, "tcp_timestamps", 0);
            Maybe(0.15, "tcp_sack", 0);
            Maybe(0.15, "tcp_syn_retries", 1 + Below(3));
            Maybe(0.15, "tcp_synack_retries", 1 + Below(3));
            Maybe(0.1, "tcp_max_tw_buckets", Below(3));
            Maybe(0.1, "tcp_wmem", "4096 16384 65536");
            // Since session 37 a small tcp_rmem too: a receive buffer that fills is charged by skb truesize, and the engine's
            // receive skbs are the TUN device's since D125 (docs/kernel-check.md "Session 36 … TUN verdicts retired").
            Maybe(0.1, "tcp_rmem", Pick(new[] { "4096 8192 65536", "4096 32768 131072" }));
            var host = new JsonObject { ["address"] = address };
            if (sysctls.Count > 0) host["sysctls"] = sysctls;
            return host;
        }

        static string Duration(long ns) => FuzzSteps.Duration(ns);
    }
}
