using System.Text.Json.Nodes;
using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>Broken variants of the example scenarios: Parse must report errors, never throw.</summary>
public class ScenarioFuzzTests
{
    const int Seeds = 150;

    /// <summary>xorshift64: tiny, deterministic, the same on every runtime.</summary>
    sealed class XorShift(ulong seed)
    {
        ulong _state = seed * 0x9E3779B97F4A7C15UL | 1;

        public int Next(int bound)
        {
            _state ^= _state << 13;
            _state ^= _state >> 7;
            _state ^= _state << 17;
            return (int)(_state % (ulong)bound);
        }
    }

    static readonly Func<JsonNode?>[] Replacements =
    [
        () => null, () => 0, () => -1, () => 1.5, () => 1e300, () => 4294967296L, () => "", () => "x", () => "10ms",
        () => "+1s", () => "99999999999999999999h", () => "~99999999999999999999m", () => "server:80", () => "ESTABLISHED", () => true, () => new JsonArray(), () => new JsonObject(),
        () => new JsonArray("client", "client"), () => new JsonObject { ["at"] = "1s" },
    ];

    [Fact]
    public void Parse_MutatedExampleScenarios_NeverThrows()
    {
        foreach (var (name, json) in ExampleScenarios.All())
        {
            for (int seed = 1; seed <= Seeds; seed++)
            {
                var rng = new XorShift((ulong)seed);
                var root = JsonNode.Parse(json)!;
                for (int n = 1 + rng.Next(3); n > 0; n--) Mutate(root, rng);
                AssertParses(root.ToJsonString(), $"{name} seed {seed}");
            }
        }
    }

    [Fact]
    public void Parse_TruncatedExampleScenarios_ReportsErrors()
    {
        foreach (var (name, json) in ExampleScenarios.All())
        {
            var rng = new XorShift(7);
            // Cut inside the document: dropping only trailing whitespace leaves it whole (and valid).
            var document = json.TrimEnd();
            for (int i = 0; i < 40; i++)
            {
                var result = AssertParses(document[..rng.Next(document.Length)], $"{name} truncated");
                Assert.False(result.IsValid);
            }
        }
    }

    [Fact]
    public void Parse_EveryValueReplacedByEveryType_NeverThrows()
    {
        var json = ExampleScenarios.Read("orderly-close-time-wait.json");
        int count = Nodes(JsonNode.Parse(json)!).Count();
        for (int index = 1; index < count; index++)
        {
            foreach (var replacement in Replacements)
            {
                var root = JsonNode.Parse(json)!;
                var target = Nodes(root).ElementAt(index);
                Replace(target, replacement());
                AssertParses(root.ToJsonString(), $"node {index} replaced");
            }
        }
    }

    static ScenarioParseResult AssertParses(string json, string what)
    {
        var result = ScenarioParser.Parse(json);   // throwing fails the test with the exception
        Assert.True(result.IsValid != (result.Errors.Length > 0), $"{what}: a result has a document or errors, not both");
        return result;
    }

    static void Mutate(JsonNode root, XorShift rng)
    {
        var nodes = Nodes(root).Skip(1).ToList();
        if (nodes.Count == 0) return;
        var target = nodes[rng.Next(nodes.Count)];
        switch (rng.Next(3))
        {
            case 0: Delete(target); break;
            case 1: Replace(target, Replacements[rng.Next(Replacements.Length)]()); break;
            default:
                if (target.Parent is JsonArray array) array.Add(target.DeepClone());
                else Replace(target, Replacements[rng.Next(Replacements.Length)]());
                break;
        }
    }

    static IEnumerable<JsonNode> Nodes(JsonNode node)
    {
        yield return node;
        IEnumerable<JsonNode?> children = node switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a,
            _ => [],
        };
        foreach (var child in children.OfType<JsonNode>().ToList())
            foreach (var n in Nodes(child))
                yield return n;
    }

    static void Delete(JsonNode node)
    {
        switch (node.Parent)
        {
            case JsonObject o: o.Remove(node.GetPropertyName()); break;
            case JsonArray a: a.Remove(node); break;
        }
    }

    static void Replace(JsonNode node, JsonNode? replacement)
    {
        switch (node.Parent)
        {
            case JsonObject o: o[node.GetPropertyName()] = replacement; break;
            case JsonArray a: a[a.IndexOf(node)] = replacement; break;
        }
    }
}
