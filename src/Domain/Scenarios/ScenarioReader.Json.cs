using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>Typed reads of JSON values: each reports what is wrong at the value's path and returns null.</summary>
internal sealed partial class ScenarioReader
{
    /// <summary>
    /// The most errors a document's answer lists (tester39 MEDIUM-3: 1,300,000 empty steps in a 3.9 MB body made
    /// 1,300,000 errors, a 157 MB answer and 700 MB of memory for one request); past it they are counted, and the list
    /// ends with one entry at <c>$</c> that says how many more there were.
    /// </summary>
    public const int MaxErrors = 1000;

    readonly List<ScenarioError> _errors = [];
    int _unlisted;

    /// <summary>Every error found so far, listed or not.</summary>
    int ErrorCount => _errors.Count + _unlisted;

    void Error(string path, string message)
    {
        if (_errors.Count < MaxErrors) _errors.Add(new ScenarioError(path, message));
        else _unlisted++;
    }

    /// <summary>The errors as the answer lists them: the first <see cref="MaxErrors"/>, then how many more.</summary>
    List<ScenarioError> Listed()
    {
        if (_unlisted > 0)
            _errors.Add(new ScenarioError(JsonPath.Root,
                string.Create(CultureInfo.InvariantCulture, $"{_unlisted:N0} more errors are not listed (only the first {MaxErrors:N0} are)")));
        return _errors;
    }

    /// <summary>An object: reports duplicate keys and, when <paramref name="allowed"/> is given, unknown fields.</summary>
    JsonFields? Object(JsonMember? member, IReadOnlySet<string>? allowed = null)
    {
        if (member is not { } m || !IsKind(m, JsonValueKind.Object, "an object")) return null;
        var members = new List<(string, JsonMember)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in m.Value.EnumerateObject())
        {
            var path = JsonPath.Member(m.Path, property.Name);
            if (!seen.Add(property.Name)) Error(path, $"duplicate key \"{property.Name}\"");
            else members.Add((property.Name, new JsonMember(property.Value, path)));
        }
        var fields = new JsonFields(m.Path, members);
        if (allowed is not null) ReportUnknown(fields, allowed);
        return fields;
    }

    void ReportUnknown(JsonFields fields, IReadOnlySet<string> allowed)
    {
        foreach (var (name, member) in fields.Members)
            if (!allowed.Contains(name)) Error(member.Path, $"unknown field \"{name}\"");
    }

    /// <summary>An object used as a map (hosts, sysctls, per-host checks); <paramref name="nonEmpty"/> is the schema's minProperties 1.</summary>
    JsonFields? Map(JsonMember? member, bool nonEmpty)
    {
        var map = Object(member);
        if (map is { Members.Count: 0 } && nonEmpty) Error(map.Path, "must not be empty");
        return map;
    }

    JsonMember? Required(JsonFields? fields, string name)
    {
        if (fields is null) return null;
        if (fields[name] is { } m) return m;
        Error(JsonPath.Member(fields.Path, name), "required field is missing");
        return null;
    }

    /// <summary>
    /// An array's items one at a time, each path made as it is reached; <paramref name="nonEmpty"/> is the schema's minItems 1,
    /// checked from the array's length. Every array of a document is read so: a list of them all, each with its path,
    /// held 460 MB at once for 1,300,000 empty steps in a 3.9 MB file (tester39 MEDIUM-3), and 565 MB for 1,300,000 empty
    /// links, sockets or packets (review40a S-2), before the document was refused. A caller that needs a count takes
    /// <see cref="JsonElement.GetArrayLength"/> first and refuses by it, before any item is read.
    /// </summary>
    IEnumerable<JsonMember> Items(JsonMember? member, bool nonEmpty = false)
    {
        if (member is not { } m || !IsKind(m, JsonValueKind.Array, "an array")) return [];
        if (nonEmpty && m.Value.GetArrayLength() == 0) Error(m.Path, "must not be empty");
        return Each(m, interruption);

        // Each item read checks the caller's limit: a document of a million steps or links stops where it got to.
        static IEnumerable<JsonMember> Each(JsonMember m, CancellationToken interruption)
        {
            int i = 0;
            foreach (var item in m.Value.EnumerateArray())
            {
                interruption.ThrowIfCancellationRequested();
                yield return new JsonMember(item, JsonPath.Item(m.Path, i++));
            }
        }
    }

    string? String(JsonMember? member) =>
        member is { } m && IsKind(m, JsonValueKind.String, "a string") ? m.Value.GetString() : null;

    /// <summary>A process name: in a new document one a request may give (<see cref="Network.SimProcess.NameProblem"/>).</summary>
    string? ProcessName(JsonMember? member)
    {
        var name = NonEmptyString(member);
        if (stored || name is null || Network.SimProcess.NameProblem(name) is not { } why) return name;
        Error(member!.Value.Path, why);
        return null;
    }

    string? NonEmptyString(JsonMember? member)
    {
        var text = String(member);
        if (text is "") Error(member!.Value.Path, "must not be empty");
        return text is "" ? null : text;
    }

    string? Matching(JsonMember? member, Regex pattern, string expected)
    {
        var text = String(member);
        if (text is null || pattern.IsMatch(text)) return text;
        Error(member!.Value.Path, $"\"{text}\" is not {expected}");
        return null;
    }

    bool? Bool(JsonMember? member)
    {
        if (member is not { } m) return null;
        if (m.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) return m.Value.GetBoolean();
        Error(m.Path, $"expected true or false, found {KindName(m.Value)}");
        return null;
    }

    /// <summary>A JSON integer within [min, max], by the rule request bodies follow too (<see cref="JsonInteger"/>: 2.0 and 2e3 are integers, 2.5 is not).</summary>
    long? Integer(JsonMember? member, long min, long max)
    {
        if (member is not { } m) return null;
        if (JsonInteger.Read(m.Value, min, max, out long value) is not { } problem) return value;
        Error(m.Path, problem);
        return null;
    }

    int? Int32(JsonMember? member, long min = int.MinValue, long max = int.MaxValue) => (int?)Integer(member, min, max);

    long? Count(JsonMember? member) => Integer(member, 0, long.MaxValue);

    double? Number(JsonMember? member, double min, double max)
    {
        if (member is not { } m || !IsKind(m, JsonValueKind.Number, "a number")) return null;
        double value = m.Value.GetDouble();
        if (value >= min && value <= max) return value;
        // Bounds as decimals ("0.000001", not "1E-06").
        Error(m.Path, FormattableString.Invariant($"{m.Value.GetRawText()} is outside [{(decimal)min}, {(decimal)max}]"));
        return null;
    }

    T? Enum<T>(JsonMember? member, WireTable<T> table) where T : struct, Enum
    {
        var text = String(member);
        if (text is null) return null;
        if (table.TryParse(text, out var value)) return value;
        Error(member!.Value.Path, $"unknown value \"{text}\"; expected one of {table.Expected}");
        return null;
    }

    SimDuration? Duration(JsonMember? member)
    {
        var text = Matching(member, ScenarioSyntax.Duration(), "a duration (a decimal number and ns, us, ms, s, m or h)");
        return text is null ? null : DurationValue(text, member!.Value.Path);
    }

    SimDuration? DurationValue(string text, string path)
    {
        // A new document meets the rules a request does (a duration within the clock's range); a stored one rebuilds as accepted.
        if (DurationText.TryParse(text, out var d) && (stored || d.Ns <= SimTime.MaxClock.Ns)) return d;
        Error(path, DurationText.IsPastClock(text)
            ? $"\"{text}\" is past the clock's range: a duration is {DurationText.PastClock}"
            : $"\"{text}\" is not a whole number of nanoseconds within range");
        return null;
    }

    CheckedDuration? Checked(JsonMember? member)
    {
        var text = String(member);
        if (text is null) return null;
        if (CheckedDuration.TryParse(text, out var value)) return value;
        Error(member!.Value.Path,
            $"\"{text}\" is not a checked duration (\"2s\", \"~2s\" or \"1.9s..2.3s\" with low <= high, whole nanoseconds)");
        return null;
    }

    bool IsKind(JsonMember m, JsonValueKind kind, string expected)
    {
        if (m.Value.ValueKind == kind) return true;
        Error(m.Path, $"expected {expected}, found {KindName(m.Value)}");
        return false;
    }

    static string KindName(JsonElement e) => JsonInteger.KindName(e.ValueKind);
}
