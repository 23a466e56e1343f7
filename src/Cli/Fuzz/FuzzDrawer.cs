using System.Text.Json.Nodes;
using SimService.Domain.Engine;

namespace SimService.Cli.Fuzz;

/// <summary>
/// What the client-and-server profiles' drawers share (<see cref="TimersFuzzCase"/>, <see cref="LossFuzzCase"/>): the random
/// choices from one generator in a fixed order, the timed steps drawn so far, and keeping a step clear of the arrivals
/// of what earlier steps sent (<see cref="FuzzSteps.AwayFromArrivals"/>).
/// </summary>
/// <param name="random">The generator every choice is drawn from.</param>
/// <param name="raceNs">How near a step may come to an earlier step or the arrivals it causes (<see cref="FuzzSteps.AwayFromArrivals"/>).</param>
abstract class FuzzDrawer(IRandomSource random, long raceNs = 6_000_000)
{
    /// <summary>
    /// Case <paramref name="number"/> of <paramref name="seed"/> of a profile: its drawer (<paramref name="drawer"/>) on the
    /// generator stream <paramref name="stream"/> + 2·number, the document named "fuzz-<paramref name="profile"/>-seed-number".
    /// </summary>
    public static FuzzCase Draw(string profile, long stream, long seed, int number, Func<IRandomSource, FuzzDrawer> drawer)
    {
        string name = $"fuzz-{profile}-{seed}-{number}";
        return FuzzCase.Drawn(seed, number, name, drawer(new Pcg32(seed, stream + 2L * number)).Document(name));
    }

    /// <summary>The case's document, drawn.</summary>
    public abstract JsonObject Document(string name);

    /// <summary>A host with the sysctls the profile draws.</summary>
    protected abstract JsonObject Host(string address);

    /// <summary>The two hosts, "client" (10.0.0.1) and "server" (10.0.0.2), each with its sysctls drawn.</summary>
    protected JsonObject ClientAndServer() => new() { ["client"] = Host("10.0.0.1"), ["server"] = Host("10.0.0.2") };

    /// <summary>The steps drawn so far, each with its time (sorted when the document is written).</summary>
    protected readonly List<(long At, JsonObject Step)> Steps = [];

    /// <summary>The links' one-way delays (each direction's).</summary>
    protected List<long> Delays { get; set; } = [];

    protected int Below(int n) => (int)random.NextBelow((uint)n);

    protected bool Chance(double p) => random.NextDouble() < p;

    protected T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];

    /// <summary>A whole number of milliseconds in [lo, hi) ms, in ns.</summary>
    protected long Ms(long lo, long hi) => (lo + (long)(random.NextDouble() * (hi - lo))) * 1_000_000;

    protected void Add(long at, JsonObject step) => Steps.Add((at, step));

    /// <summary>
    /// The times something sends that is not a step of its own (a workload's connections, each arriving at its time), kept
    /// clear of as the steps are (fuzz-workload-41001-1: a loss step drawn at 102 ms met the fifth connection's SYN arriving
    /// at 81 + 21 ms; the kernel's runner took the step first, the engine the SYN, and the two links numbered the flows they
    /// drew losses for in another order).
    /// </summary>
    protected List<long> Departures { get; } = [];

    protected long Away(long at) => FuzzSteps.AwayFromArrivals(at, Steps.Select(s => s.At).Concat(Departures), Delays, raceNs);

    /// <summary>
    /// The document: an expect step a random time after <paramref name="at"/> (the last step drawn), then a run-until that
    /// ends the case 2 s to <paramref name="tailMs"/> ms after <paramref name="at"/> and never later than <paramref name="longestNs"/>.
    /// <paramref name="drawnLast"/>, when given, draws after everything else (so that a seed's case is the one it drew before
    /// whenever it adds nothing) steps from <paramref name="at"/> on and returns the time of its last, which the end then follows.
    /// </summary>
    protected JsonObject Finish(string name, string description, JsonObject hosts, JsonArray links, long at, long tailMs, long longestNs,
        Func<long, long>? drawnLast = null)
    {
        long horizon = Math.Min(longestNs, at + Ms(2000, tailMs));
        if (drawnLast?.Invoke(at) is { } last && last > at)
        {
            horizon = Math.Min(longestNs, Math.Max(horizon, last + 1_000_000_000));
            at = last;
        }
        at = Away(at + Math.Max(6_000_000, (horizon - at) / 2));
        Add(at, new JsonObject { ["expect"] = new JsonObject() });
        long runUntil = Math.Max(300_000_000, horizon - at) / 1_000_000 * 1_000_000;
        return FuzzSteps.Document(name, description, hosts, links, Steps, FuzzSteps.Duration(runUntil));
    }

    /// <summary>
    /// The server's listener on port 80 (alias "l"), then <paramref name="count"/> connections c1…cN, each from a client
    /// process of its own, connected <paramref name="spacing"/> apart from 1 ms and accepted in order (s1…sN, 1 ms apart)
    /// <paramref name="settle"/> after the last connect, when every handshake has ended: the ends, and the time after the
    /// last accept.
    /// </summary>
    protected (List<(End Client, End Server)> Pairs, long At) ListenConnectAccept(int count, long spacing, long settle)
    {
        Add(0, FuzzSteps.Call("server", "srv", "listen", new JsonObject { ["port"] = 80, ["as"] = "l" }));
        var pairs = new List<(End Client, End Server)>();
        long at = 1_000_000;
        for (int i = 1; i <= count; i++, at += spacing)
            Add(at, FuzzSteps.Call("client", $"c{i}", "connect", new JsonObject { ["to"] = "server:80", ["as"] = $"c{i}" }));
        at += settle;
        for (int i = 1; i <= count; i++, at += 1_000_000)
        {
            Add(at, FuzzSteps.Call("server", "srv", "accept", new JsonObject { ["socket"] = "l", ["as"] = $"s{i}" }));
            pairs.Add((new End($"c{i}", "client", $"c{i}"), new End($"s{i}", "server", "srv")));
        }
        return (pairs, at);
    }

    /// <summary>One side of a connection.</summary>
    protected sealed record End(string Alias, string Host, string Process);

    protected static JsonObject Call(End end, string call, JsonObject arguments) =>
        FuzzSteps.Call(end.Host, end.Process, call, arguments, end.Alias);

    /// <summary>A host's sysctls as they are drawn, each "net.ipv4." + name, or left at its default.</summary>
    protected sealed class HostSysctls(FuzzDrawer drawer)
    {
        readonly JsonObject _sysctls = [];

        /// <summary>The sysctl set to <paramref name="value"/> with probability <paramref name="p"/> (the value is drawn first, by the caller).</summary>
        public void Maybe(double p, string name, JsonNode value)
        {
            if (drawer.Chance(p)) _sysctls[$"net.ipv4.{name}"] = value;
        }

        /// <summary>The host at <paramref name="address"/>, with the sysctls drawn if any.</summary>
        public JsonObject Host(string address)
        {
            var host = new JsonObject { ["address"] = address };
            if (_sysctls.Count > 0) host["sysctls"] = _sysctls;
            return host;
        }
    }
}
