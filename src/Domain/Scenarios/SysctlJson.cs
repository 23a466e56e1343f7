using System.Globalization;
using System.Text.Json;

namespace SimService.Domain.Scenarios;

/// <summary>
/// A sysctl value as a scenario or a request body gives it: the text written to /proc/sys, as `sysctl -w` and `echo` write
/// it ("0x10", "4096 87380 6291456", "40000 40009"), or a JSON integer standing for its decimal text — up to
/// 18446744073709551615, as the unsigned long sysctls (tcp_mem, tcp_comp_sack_*_ns) take. Whether the kernel takes the
/// text is the sysctl table's to say.
/// </summary>
public static class SysctlJson
{
    /// <summary>The text to write, or null with the problem (naming the JSON as written).</summary>
    public static string? Text(JsonElement value, out string problem)
    {
        problem = "";
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString()!;
            case JsonValueKind.Number:
                // By the integer rule of every field (JsonInteger): 40000.0 is 40000, 1.5 is refused; past 2^63 − 1 a
                // plain integer up to 2^64 − 1.
                if (JsonInteger.Read(value, long.MinValue, long.MaxValue, out long number) is not { } outside)
                    return number.ToString(CultureInfo.InvariantCulture);
                if (value.TryGetUInt64(out ulong large)) return large.ToString(CultureInfo.InvariantCulture);
                problem = outside;
                return null;
            default:
                problem = "A sysctl value is an integer or the text written to /proc/sys, such as \"40000 40009\" or \"0x10\".";
                return null;
        }
    }
}
