using System.Text.Json.Nodes;
using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>A small valid document to break one rule at a time, and assertions on the errors.</summary>
internal static class ScenarioJson
{
    /// <summary>client and server (Linux, linked), peer (scripted, linked to server), NAT nat1; steps 0–3 set up and close c.</summary>
    public const string Base = """
        {
          "name": "base",
          "hosts": {
            "client": { "address": "10.0.0.1" },
            "server": { "address": "10.0.0.2" },
            "peer": { "address": "10.0.0.3", "kind": "scripted" }
          },
          "nats": { "nat1": { "address": "203.0.113.1" } },
          "links": [ { "between": ["client", "server"], "delay": "10ms" }, { "between": ["peer", "server"] } ],
          "steps": [
            { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "1ms", "host": "client", "call": "connect", "to": "server:80", "as": "c", "expect": { "result": 0 } },
            { "host": "server", "call": "accept", "socket": "listener", "as": "s" },
            { "at": "+100ms", "host": "client", "call": "close", "socket": "c" }
          ]
        }
        """;

    /// <summary>Parses <see cref="Base"/> after <paramref name="change"/> edits it.</summary>
    public static ScenarioParseResult ParseWith(Action<JsonObject> change)
    {
        var doc = JsonNode.Parse(Base)!.AsObject();
        change(doc);
        return ScenarioParser.Parse(doc.ToJsonString());
    }

    /// <summary>Base with one more step appended.</summary>
    public static ScenarioParseResult ParseWithStep(string stepJson) =>
        ParseWith(d => d["steps"]!.AsArray().Add(JsonNode.Parse(stepJson)));

    public static JsonObject Host(this JsonObject doc, string name) => doc["hosts"]![name]!.AsObject();

    public static JsonObject Step(this JsonObject doc, int index) => doc["steps"]![index]!.AsObject();

    public static ScenarioDocument Valid(this ScenarioParseResult result)
    {
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Document!;
    }

    /// <summary>Asserts an error at exactly <paramref name="path"/> (and, if given, a message containing <paramref name="text"/>).</summary>
    public static void HasError(this ScenarioParseResult result, string path, string? text = null)
    {
        Assert.False(result.IsValid);
        Assert.True(result.Errors.Any(e => e.Path == path && (text is null || e.Message.Contains(text, StringComparison.Ordinal))),
            $"no error at {path}{(text is null ? "" : $" containing \"{text}\"")}; errors:\n{string.Join("\n", result.Errors)}");
    }
}
