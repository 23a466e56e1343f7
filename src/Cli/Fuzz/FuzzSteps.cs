using System.Globalization;
using System.Text.Json.Nodes;

namespace SimService.Cli.Fuzz;

/// <summary>Scenario steps the fuzz profiles draw (<see cref="FuzzCase"/>, <see cref="ListenFuzzCase"/>, <see cref="TimersFuzzCase"/>, <see cref="LossFuzzCase"/>).</summary>
static class FuzzSteps
{
    /// <summary>A call step: host, process, call, the socket's alias when it names one, then <paramref name="arguments"/> (moved in).</summary>
    public static JsonObject Call(string host, string process, string call, JsonObject arguments, string? socket = null)
    {
        var step = new JsonObject { ["host"] = host, ["process"] = process, ["call"] = call };
        if (socket is not null) step["socket"] = socket;
        foreach (var (key, value) in arguments.ToList())
        {
            arguments.Remove(key);
            step[key] = value;
        }
        return step;
    }

    /// <summary>A SIGKILL of a process: every socket it holds is closed at once.</summary>
    public static JsonObject Kill(string host, string process) =>
        new() { ["kill"] = new JsonObject { ["host"] = host, ["process"] = process, ["signal"] = "SIGKILL" } };

    /// <summary>A setsockopt's arguments: the option's name and value.</summary>
    public static JsonObject Option(string name, JsonNode value) => new() { ["option"] = name, ["value"] = value };

    /// <summary>
    /// <paramref name="at"/>, moved later (1 ms at a time) while it falls within <paramref name="raceNs"/> of an earlier step
    /// of the last 300 ms or of one to three one-way <paramref name="delays"/> after it (the segment it sent, its answer, the
    /// answer's answer): there a step that begins a few ms late on the kernel meets another order of events than the
    /// engine's. The first clear time within <see cref="MaxMoveNs"/>; where there is none (many steps over long delays
    /// leave no gap of 2 · <paramref name="raceNs"/>), the time farthest from every arrival, the earliest of equals. Until
    /// session 21 the search stopped after 50 ms wherever it was: a quarter of the loss profile's steps (seeds 20 and 21)
    /// stayed in a race, loss-21-1's server send exactly on the arrival of the client's burst.
    /// </summary>
    public static long AwayFromArrivals(long at, IEnumerable<long> stepTimes, IReadOnlyList<long> delays, long raceNs)
    {
        var recent = stepTimes.ToList();
        long best = at, bestClearance = -1;
        for (long t = at; t <= at + MaxMoveNs; t += 1_000_000)
        {
            long clearance = Clearance(t, recent, delays);
            if (clearance >= raceNs) return t;
            if (clearance > bestClearance) (best, bestClearance) = (t, clearance);
        }
        return best;
    }

    /// <summary>How far <see cref="AwayFromArrivals"/> moves a step at most: past the 300 ms it looks back and three long delays.</summary>
    public const long MaxMoveNs = 500_000_000;

    /// <summary>How far <paramref name="at"/> is from the nearest earlier step of the last 300 ms and the arrivals one to three delays after it.</summary>
    static long Clearance(long at, List<long> stepTimes, IReadOnlyList<long> delays)
    {
        long nearest = long.MaxValue;
        foreach (long s in stepTimes)
            if (s > at - 300_000_000)
                foreach (long d in delays)
                    for (int k = 0; k < 4; k++) nearest = Math.Min(nearest, Math.Abs(at - (s + k * d)));
        return nearest;
    }

    /// <summary>A <c>sysctl</c> step: <paramref name="name"/> set to <paramref name="value"/> on <paramref name="host"/> while the case runs.</summary>
    public static JsonObject Sysctl(string host, string name, int value) =>
        new() { ["sysctl"] = new JsonObject { ["host"] = host, ["values"] = new JsonObject { [name] = value } } };

    /// <summary>A one-way loss step on the link between a client and the server ("client->server" or "server->client").</summary>
    public static JsonObject LinkLoss(string direction, double loss) => LinkChange(direction, new JsonObject { ["loss"] = loss });

    /// <summary>A one-way link step between a client and the server: <paramref name="change"/>'s fields (delay, loss; moved in), then the direction.</summary>
    public static JsonObject LinkChange(string direction, JsonObject change)
    {
        var hosts = direction.Split("->");
        string client = hosts[0] == "server" ? hosts[1] : hosts[0];
        var link = new JsonObject { ["between"] = new JsonArray(client, "server") };
        foreach (var (key, value) in change.ToList())
        {
            change.Remove(key);
            link[key] = value;
        }
        link["direction"] = direction;
        return new JsonObject { ["link"] = link };
    }

    /// <summary>
    /// The scenario document: the steps in time order (a stable sort: steps drawn for one instant keep their order),
    /// each with its <c>at</c> first.
    /// </summary>
    public static JsonObject Document(string name, string description, JsonObject hosts, JsonArray links,
        IEnumerable<(long At, JsonObject Step)> timed, string runUntil)
    {
        var steps = new JsonArray();
        foreach (var (when, step) in timed.OrderBy(s => s.At))
        {
            var withTime = new JsonObject { ["at"] = Duration(when) };
            foreach (var (key, value) in step.ToList())
            {
                step.Remove(key);
                withTime[key] = value;
            }
            steps.Add(withTime);
        }
        return new JsonObject
        {
            ["name"] = name,
            ["description"] = description,
            ["hosts"] = hosts,
            ["links"] = links,
            ["steps"] = steps,
            ["runUntil"] = runUntil,
        };
    }

    /// <summary>A duration in the format's units: whole milliseconds as "ms", otherwise microseconds.</summary>
    public static string Duration(long ns) => ns % 1_000_000 == 0
        ? $"{(ns / 1_000_000).ToString(CultureInfo.InvariantCulture)}ms"
        : $"{(ns / 1000).ToString(CultureInfo.InvariantCulture)}us";
}
