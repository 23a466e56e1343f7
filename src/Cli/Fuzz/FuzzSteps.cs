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
}
