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
    /// <paramref name="at"/>, moved later (1 ms at a time, at most 50 ms) while it falls within <paramref name="raceNs"/> of an
    /// earlier step of the last 300 ms or of one to three one-way <paramref name="delays"/> after it (the segment it sent,
    /// its answer, the answer's answer): there a step that begins a few ms late on the kernel meets another order of
    /// events than the engine's.
    /// </summary>
    public static long AwayFromArrivals(long at, IEnumerable<long> stepTimes, IReadOnlyList<long> delays, long raceNs)
    {
        var recent = stepTimes.ToList();
        for (int moves = 0; moves < 50; moves++)
        {
            bool near = recent.Any(s => s > at - 300_000_000 && delays.Any(d => Enumerable.Range(0, 4).Any(k => Math.Abs(at - (s + k * d)) < raceNs)));
            if (!near) break;
            at += 1_000_000;
        }
        return at;
    }

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
