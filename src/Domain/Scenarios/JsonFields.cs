using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SimService.Domain.Scenarios;

/// <summary>A JSON value and its path in the document.</summary>
internal readonly record struct JsonMember(JsonElement Value, string Path);

/// <summary>The members of one JSON object in document order, first occurrence of each name.</summary>
internal sealed class JsonFields(string path, IReadOnlyList<(string Name, JsonMember Member)> members)
{
    readonly Dictionary<string, JsonMember> _byName = members.ToDictionary(m => m.Name, m => m.Member, StringComparer.Ordinal);

    public string Path { get; } = path;

    public IReadOnlyList<(string Name, JsonMember Member)> Members { get; } = members;

    /// <summary>The member called <paramref name="name"/>, or null when the object has none.</summary>
    public JsonMember? this[string name] => _byName.TryGetValue(name, out var m) ? m : null;

    public bool Has(string name) => _byName.ContainsKey(name);
}

/// <summary>
/// JSON paths in one syntax: <c>$.hosts.client.sysctls["net.ipv4.tcp_fin_timeout"]</c>, <c>$.steps[4].at</c>;
/// a key that is not a plain identifier goes in brackets as a JSON string.
/// </summary>
internal static partial class JsonPath
{
    public const string Root = "$";

    public static string Member(string parent, string name) =>
        Identifier().IsMatch(name)
            ? $"{parent}.{name}"
            : $"{parent}[\"{JsonEncodedText.Encode(name, JavaScriptEncoder.UnsafeRelaxedJsonEscaping)}\"]";

    public static string Item(string parent, int index) => $"{parent}[{index}]";

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z")]
    private static partial Regex Identifier();
}
