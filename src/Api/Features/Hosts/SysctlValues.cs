using System.Text.Json;
using SimService.Domain.Scenarios;

namespace SimService.Api.Features.Hosts;

/// <summary>Sysctl values as requests give them: the text written to /proc/sys ("40000 40009", "0x10") or a JSON integer (<see cref="SysctlJson"/>).</summary>
public static class SysctlValues
{
    /// <summary>The values as sysctl -w text, in request order; errors keyed <c>{prefix}{name}</c>.</summary>
    public static List<KeyValuePair<string, string>> ToText(IReadOnlyDictionary<string, JsonElement>? values, string prefix,
        Dictionary<string, string[]> errors)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in values ?? new Dictionary<string, JsonElement>())
        {
            if (SysctlJson.Text(value, out var problem) is { } text) list.Add(new(name, text));
            else errors[prefix + name] = [problem];
        }
        return list;
    }
}
