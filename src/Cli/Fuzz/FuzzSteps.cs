using System.Globalization;
using System.Text.Json.Nodes;

namespace SimService.Cli.Fuzz;

/// <summary>Scenario steps both fuzz profiles draw (<see cref="FuzzCase"/>, <see cref="ListenFuzzCase"/>).</summary>
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

    /// <summary>A one-way loss step on the link between a client and the server ("client->server" or "server->client").</summary>
    public static JsonObject LinkLoss(string direction, double loss)
    {
        var hosts = direction.Split("->");
        string client = hosts[0] == "server" ? hosts[1] : hosts[0];
        return new JsonObject
        {
            ["link"] = new JsonObject { ["between"] = new JsonArray(client, "server"), ["loss"] = loss, ["direction"] = direction },
        };
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
