using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The "listen" profile of <c>simservice fuzz --profile listen</c>: one server whose listener has a random backlog and
/// random listen-queue sysctls (<c>net.core.somaxconn</c>, <c>tcp_max_syn_backlog</c>, <c>tcp_syncookies</c>,
/// <c>tcp_abort_on_overflow</c>, <c>tcp_synack_retries</c>), one to three clients opening 5–60 non-blocking connections in
/// bursts (narrow <c>ip_local_port_range</c>, <c>tcp_tw_reuse</c>, a small <c>tcp_max_tw_buckets</c>), the server accepting
/// some, late or never and closing in random styles (close, SO_LINGER {1, 0}, shutdown), the clients closing, one-way
/// black holes switched on and off, expect steps. A pure function of (seed, case number), like <see cref="FuzzCase.Draw"/>.
/// </summary>
/// <remarks>
/// Kept within what the kernel runner takes and free of races the two sides would settle differently: every socket is
/// non-blocking (connect() returns EINPROGRESS or EADDRNOTAVAIL, accept() EAGAIN on an empty queue), bursts of different
/// clients never overlap at the server, and an action step keeps 12 ms clear of each time a handshake segment (first or
/// retransmitted on the 1 s timers, anywhere in the timer wheel's bucket) may reach either end. An accept() that the
/// engine answers with EAGAIN names no socket, so the steps that use its alias are dropped after a run on the engine
/// (<see cref="Prune"/>), which keeps the draw deterministic. <c>tcp_max_orphans</c> is machine-wide on the kernel and is not drawn.
/// </remarks>
public static partial class ListenFuzzCase
{
    static readonly int[] DelaysMs = [1, 3, 5, 7, 11];

    /// <summary>An action step keeps this far from each time a handshake segment may arrive.</summary>
    const long ClearNs = 12_000_000;

    /// <summary>
    /// How far before its nominal time a handshake segment may come (a SYN's, with its answers): the first SYN as sent;
    /// a resent one 24 ms early to 8 ms late, three points whose <see cref="ClearNs"/> around each cover that span.
    /// </summary>
    static readonly long[] OnTime = [0], Spread = [24_000_000, 8_000_000, -8_000_000];

    /// <summary>Case <paramref name="number"/> of <paramref name="seed"/> of the listen profile.</summary>
    public static FuzzCase Draw(long seed, int number)
    {
        var drawer = new Drawer(new Pcg32(seed, 0x4c15e7 + 2L * number));
        string name = $"fuzz-listen-{seed}-{number}";
        return FuzzCase.Drawn(seed, number, name, Prune(drawer.Document(name)));
    }

    /// <summary>
    /// The draft without the steps the engine cannot run (a call through the alias of an accept() that found the queue
    /// empty): each run on the engine drops the steps it names, until it runs clean.
    /// </summary>
    public static JsonObject Prune(JsonObject draft)
    {
        for (int round = 0; round < 20; round++)
        {
            var (_, errors) = FuzzCase.Calibrate(draft);
            var bad = errors.Select(e => StepIndex().Match(e)).Where(m => m.Success)
                .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().OrderDescending().ToList();
            if (bad.Count == 0) return draft;
            var steps = draft["steps"]!.AsArray();
            foreach (int i in bad) steps.RemoveAt(i);
        }
        return draft;
    }

    [GeneratedRegex(@"^\$\.steps\[(\d+)\]")]
    private static partial Regex StepIndex();

    sealed class Drawer(IRandomSource random)
    {
        readonly List<(long At, JsonObject Step)> _steps = [];

        /// <summary>Times at which a handshake segment may arrive at either end.</summary>
        readonly List<long> _busy = [];

        int Below(int n) => (int)random.NextBelow((uint)n);

        bool Chance(double p) => random.NextDouble() < p;

        T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];

        long Ms(long lo, long hi) => (lo + (long)(random.NextDouble() * (hi - lo))) * 1_000_000;

        /// <summary>The first time at or after <paramref name="at"/> clear of every handshake arrival.</summary>
        long Clear(long at)
        {
            while (_busy.Any(b => Math.Abs(b - at) < ClearNs)) at += 1_000_000;
            return at;
        }

        public JsonObject Document(string name)
        {
            int clientCount = 1 + Below(3);
            var clients = Enumerable.Range(1, clientCount).Select(i => i == 1 ? "client" : $"client{i}").ToList();
            var hosts = new JsonObject { ["server"] = Server() };
            for (int i = 0; i < clientCount; i++) hosts[clients[i]] = Client(i == 0 ? "10.0.0.1" : $"10.0.0.{i + 2}");
            var delays = clients.ToDictionary(c => c, _ => (long)Pick(DelaysMs) * 1_000_000, StringComparer.Ordinal);
            var links = new JsonArray([.. clients.Select(c => new JsonObject { ["between"] = new JsonArray(c, "server"), ["delay"] = Duration(delays[c]) })]);

            int backlog = Pick(new[] { 1, 2, 3, 4, 8, 16, 128 });
            Add(0, Call("server", "srv", "listen", new JsonObject { ["port"] = 80, ["backlog"] = backlog, ["as"] = "l" }));
            Add(0, Call("server", "srv", "fcntl", new JsonObject { ["socket"] = "l", ["nonblock"] = true }));

            // Bursts: each from one client, either dense (250 µs apart, every SYN sent before the first SYN-ACK can come back)
            // or one handshake at a time (3 one-way delays + 2 ms apart); never a connect() in the instant a handshake
            // segment reaches the client: the link emulator delivers a few hundred µs late and the step would win the tie
            // on the kernel (seed 1, cases 2, 5 and 8 of the first run). A dense burst has at most 8, and no more than fit in
            // 2 delays - 1 ms at 1 ms each: the runner falls ~1 ms behind per connect() (a burst of 36 ran 11 ms late and
            // met its first SYN-ACKs, seed 3, case 0), and a burst 16 ms late moved SYN timers into another 32 ms bucket of the timer wheel
            // (seed 2, case 6). A burst's handshakes end before the next starts.
            int total = 5 + Below(56);
            int bursts = 1 + Below(4);
            var clientEnds = new List<(string Alias, string Host)>();
            long at = Ms(1, 40);
            int n = 0;
            for (int b = 0; n < total && at < 6_000_000_000; b++)
            {
                string host = Pick(clients);
                long d = delays[host];
                int size = b >= bursts - 1 ? total - n : 1 + Below(Math.Max(1, total - n));
                bool dense = Chance(0.5);
                long spacing = dense ? 250_000 : 3 * d + 2_000_000;
                if (dense) size = Math.Min(Math.Min(size, 8), (int)Math.Max(1, (2 * d - 1_000_000) / 1_000_000));
                for (int k = 0; k < size; k++, n++)
                {
                    string alias = $"c{n + 1}";
                    long t = at + k * spacing;
                    Add(t, Call(host, alias, "socket", new JsonObject { ["as"] = alias }));
                    Add(t, Call(host, alias, "fcntl", new JsonObject { ["socket"] = alias, ["nonblock"] = true }));
                    Add(t, Call(host, alias, "connect", new JsonObject { ["socket"] = alias, ["to"] = "server:80" }));
                    // The SYN and its retransmissions (linear 1.024 s while the queue drops it, or exponential), the SYN-ACK's, the ACKs.
                    // A retransmission is not at its nominal time: the first SYN timer (250 jiffies, level 1 of the timer wheel,
                    // calc_index() rounding up to an 8-jiffy bucket) expires 1000–1032 ms after the connect, by the connect's
                    // jiffy phase (not worked out here), and each later one 1024 ms after the one before; so
                    // each is busy from 24 ms before its nominal time to 8 ms after (listen 26105-6: c18's resent SYN 1001.5 ms
                    // after its connect, its ACK in the millisecond of an accept() step).
                    foreach (long r in new long[] { 0, 1_024_000_000, 2_048_000_000, 3_072_000_000, 4_096_000_000, 5_120_000_000, 7_168_000_000 })
                        foreach (long hop in new[] { 1, 2, 3 })
                            foreach (long early in r == 0 ? OnTime : Spread)
                                _busy.Add(t + r - early + hop * d);
                    clientEnds.Add((alias, host));
                }
                at += size * spacing + 3 * d + (b >= bursts - 1 ? Ms(20, 200) : Ms(20, b == 0 ? 600 : 2500));
            }

            // Accepts: all, some, late or never; each a few ms apart, clear of the handshakes.
            var serverEnds = new List<string>();
            int acceptMode = Below(4);
            int accepts = acceptMode switch { 0 => 0, 1 => 1 + Below(total), _ => total };
            long acceptAt = acceptMode == 3 ? Ms(2000, 6000) : Ms(20, 1500);
            for (int i = 1; i <= accepts; i++)
            {
                acceptAt = Clear(acceptAt + Ms(1, 3));
                Add(acceptAt, Call("server", "srv", "accept", new JsonObject { ["socket"] = "l", ["as"] = $"s{i}" }));
                serverEnds.Add($"s{i}");
            }

            // Actions on random ends: closes in random styles, small sends, black holes, expect steps.
            var open = clientEnds.Select(e => (e.Alias, e.Host)).Concat(serverEnds.Select(s => (Alias: s, Host: "server"))).ToList();
            long last = Math.Max(at, acceptAt);
            long now = Ms(100, 1000);
            string? blackHole = null;
            var serverCloses = new List<long>();
            int actions = 5 + Below(Math.Max(1, open.Count + 10));
            for (int a = 0; a < actions && now < 9_500_000_000; a++)
            {
                now = Clear(now + (Chance(0.6) ? Ms(1, 80) : Ms(80, 1500)));
                int kind = Below(100);
                if (kind < 10)
                {
                    Add(now, new JsonObject { ["expect"] = new JsonObject() });
                    now += 8_000_000;
                    continue;
                }
                if (kind < 18)
                {
                    if (blackHole is { } on)
                    {
                        Add(now, LinkLoss(on, 0.0));
                        blackHole = null;
                    }
                    else
                    {
                        string c = Pick(clients);
                        blackHole = Chance(0.5) ? $"{c}->server" : $"server->{c}";
                        Add(now, LinkLoss(blackHole, 1.0));
                    }
                    continue;
                }
                if (open.Count == 0) break;
                var end = Pick(open);
                string process = end.Host == "server" ? "srv" : end.Alias;
                if (kind < 30)
                {
                    Add(now, Call(end.Host, process, "send", new JsonObject
                    {
                        ["socket"] = end.Alias, ["bytes"] = 1 + Below(3000), ["flags"] = new JsonArray("MSG_DONTWAIT"),
                    }));
                    continue;
                }
                if (kind < 40)
                {
                    Add(now, Call(end.Host, process, "shutdown", new JsonObject { ["socket"] = end.Alias, ["how"] = Pick(new[] { "SHUT_WR", "SHUT_RDWR" }) }));
                    continue;
                }
                if (kind < 55)
                    Add(now, Call(end.Host, process, "setsockopt", new JsonObject
                    {
                        ["socket"] = end.Alias, ["option"] = "SO_LINGER", ["value"] = new JsonObject { ["onoff"] = 1, ["linger"] = 0 },
                    }));
                Add(now, Call(end.Host, process, "close", new JsonObject { ["socket"] = end.Alias }));
                if (end.Host == "server") serverCloses.Add(now);
                open.Remove(end);
            }
            if (blackHole is { } stillOn && Chance(0.5)) Add(now = Clear(now + Ms(5, 300)), LinkLoss(stillOn, 0.0));
            if (Chance(0.7)) Add(Clear(Math.Max(now, last) + Ms(10, 1500)), new JsonObject { ["expect"] = new JsonObject() });
            var runUntil = Duration(Ms(300, 2500));

            // RLIMIT_NOFILE on the server's process (since session 32), drawn last so that the rest of a seed's case is
            // drawn as before: room for the listener (fd 3) and 0–6 children. An accept() past it fails EMFILE with the
            // connection left queued (__sys_accept4_file() takes the descriptor before do_accept()), so the queue fills
            // and overflows as with no accept, until a close frees a descriptor: an accept() 1–50 ms after each of up to
            // three of the server's closes takes it (or finds the queue empty).
            if (Chance(0.3))
            {
                int soft = 4 + Below(7);
                Add(0, Call("server", "srv", "setrlimit", new JsonObject
                {
                    ["resource"] = "RLIMIT_NOFILE", ["soft"] = soft, ["hard"] = soft + Pick(new[] { 0, 16 }),
                }));
                foreach (long closed in serverCloses.Take(3))
                    Add(Clear(closed + Ms(1, 50)), Call("server", "srv", "accept", new JsonObject { ["socket"] = "l", ["as"] = $"s{++accepts}" }));
            }

            return FuzzSteps.Document(name,
                "Drawn by simservice fuzz --profile listen: bursts of non-blocking connects to one listener, accepted some, late or never, closed in random styles; run on the engine and on the kernel.",
                hosts, links, _steps, runUntil);
        }

        void Add(long at, JsonObject step) => _steps.Add((at, step));

        static JsonObject Call(string host, string process, string call, JsonObject arguments) =>
            FuzzSteps.Call(host, process, call, arguments);

        static JsonObject LinkLoss(string direction, double loss) => FuzzSteps.LinkLoss(direction, loss);

        /// <summary>The server's listen-queue sysctls, each drawn or left at its default.</summary>
        JsonObject Server()
        {
            var sysctls = new JsonObject();
            if (Chance(0.4)) sysctls["net.core.somaxconn"] = Pick(new[] { 1, 2, 4, 8, 64 });
            if (Chance(0.4)) sysctls["net.ipv4.tcp_max_syn_backlog"] = Pick(new[] { 2, 4, 8, 16, 128 });
            if (Chance(0.5)) sysctls["net.ipv4.tcp_syncookies"] = Below(3);
            if (Chance(0.3)) sysctls["net.ipv4.tcp_abort_on_overflow"] = 1;
            if (Chance(0.4)) sysctls["net.ipv4.tcp_synack_retries"] = 1 + Below(3);
            if (Chance(0.2)) sysctls["net.ipv4.tcp_max_tw_buckets"] = Below(4);
            var host = new JsonObject { ["address"] = "10.0.0.2" };
            if (sysctls.Count > 0) host["sysctls"] = sysctls;
            return host;
        }

        /// <summary>A client: a narrow ephemeral port range, TIME-WAIT reuse and buckets, fewer SYN retries, each drawn or not.</summary>
        JsonObject Client(string address)
        {
            var sysctls = new JsonObject();
            if (Chance(0.5))
            {
                int low = 40000 + 2 * Below(100);
                sysctls["net.ipv4.ip_local_port_range"] = $"{low} {low + Pick(new[] { 1, 3, 5, 9, 15, 31 })}";
            }
            if (Chance(0.5)) sysctls["net.ipv4.tcp_tw_reuse"] = Below(3);
            if (Chance(0.3)) sysctls["net.ipv4.tcp_max_tw_buckets"] = Below(5);
            if (Chance(0.4)) sysctls["net.ipv4.tcp_syn_retries"] = 1 + Below(3);
            var host = new JsonObject { ["address"] = address };
            if (sysctls.Count > 0) host["sysctls"] = sysctls;
            return host;
        }

        static string Duration(long ns) => FuzzSteps.Duration(ns);
    }
}
