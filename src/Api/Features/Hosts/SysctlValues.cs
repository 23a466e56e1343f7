using System.Globalization;
using System.Text.Json;
using SimService.Domain.Scenarios;

namespace SimService.Api.Features.Hosts;

/// <summary>Sysctl values as requests give them: a JSON integer, or the text the kernel takes ("40000 40009").</summary>
public static class SysctlValues
{
    /// <summary>The values as sysctl -w text, in request order; errors keyed <c>{prefix}{name}</c>.</summary>
    public static List<KeyValuePair<string, string>> ToText(IReadOnlyDictionary<string, JsonElement>? values, string prefix,
        Dictionary<string, string[]> errors)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in values ?? new Dictionary<string, JsonElement>())
        {
            if (value.ValueKind == JsonValueKind.Number)
            {
                // By the integer rule of every field (JsonInteger): 40000.0 is 40000; 1.5 is refused, as a scenario's is.
                if (JsonInteger.Read(value, long.MinValue, long.MaxValue, out var number) is { } problem) errors[prefix + name] = [problem];
                else list.Add(new(name, number.ToString(CultureInfo.InvariantCulture)));
            }
            else if (value.ValueKind == JsonValueKind.String)
                list.Add(new(name, value.GetString()!));
            else
                errors[prefix + name] = ["A sysctl value is an integer or a string such as \"40000 40009\"."];
        }
        return list;
    }
}
