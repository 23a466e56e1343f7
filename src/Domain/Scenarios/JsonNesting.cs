using System.Text.Json;

namespace SimService.Domain.Scenarios;

/// <summary>
/// How deep the JSON the service reads may nest — request bodies and scenario documents alike: <see cref="MaxDepth"/>
/// arrays and objects, System.Text.Json's default. Its reader reports a deeper value, valid JSON, as a syntax error (a
/// 100,000-deep array in a scenario's description was "JSON syntax error at line 1, byte 111"; a deep object given as a
/// simulation's name, "not valid for this field"), so a document is measured first and one nested too deep is refused by
/// name: the limit, and the path of the first array or object past it.
/// </summary>
public static class JsonNesting
{
    /// <summary>The most arrays and objects one inside another, the outermost counted (System.Text.Json's default MaxDepth).</summary>
    public const int MaxDepth = 64;

    /// <summary>The message of a document nested too deep.</summary>
    public static readonly string Message =
        $"The JSON nests arrays and objects more than {MaxDepth} deep here; at most {MaxDepth} levels are read (the outermost counted).";

    /// <summary>One step of a path from the root: a member's name, or (Name null) an array item's index.</summary>
    public readonly record struct Step(string? Name, int Index);

    /// <summary>
    /// The path from the root to the first array or object nested deeper than <see cref="MaxDepth"/>, or null — also for
    /// text that is not JSON where it breaks off before that depth (its syntax error is the reader's to report). Comments
    /// are skipped, as the command-line tool reads scenario files.
    /// </summary>
    public static IReadOnlyList<Step>? TooDeep(ReadOnlySpan<byte> json)
    {
        // Fewer brackets than the limit cannot nest past it: most documents stop here, with two vectorised counts.
        if (json.Count((byte)'[') + json.Count((byte)'{') <= MaxDepth) return null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth + 1, CommentHandling = JsonCommentHandling.Skip });
        // Per open container: the step that leads into it, and (arrays) the index of its next item.
        var open = new List<(Step Into, int Next)>();
        string? name = null;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token == JsonTokenType.PropertyName)
                {
                    name = reader.GetString();
                    continue;
                }
                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    open.RemoveAt(open.Count - 1);
                    continue;
                }
                var step = ItemStep(open, name);
                name = null;
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    if (open.Count == MaxDepth) return [.. open.Skip(1).Select(o => o.Into), step];
                    open.Add((step, 0));
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON before the limit: reported by whoever parses it.
        }
        return null;
    }

    /// <summary>The path of <paramref name="steps"/> as scenario errors write paths (<c>$.description[0][0]</c>).</summary>
    public static string PathOf(IEnumerable<Step> steps) =>
        steps.Aggregate(JsonPath.Root, (path, step) => step.Name is { } name ? JsonPath.Member(path, name) : JsonPath.Item(path, step.Index));

    /// <summary>The step to a value that starts now: its member name in an object, its index in an array (counted on).</summary>
    internal static Step ItemStep(List<(Step Into, int Next)> open, string? name)
    {
        if (name is not null || open.Count == 0) return new Step(name, -1);
        var (into, next) = open[^1];
        open[^1] = (into, next + 1);
        return new Step(null, next);
    }
}
