using System.Globalization;

namespace SimService.Domain.Scenarios;

/// <summary>Dotted-quad text of an IPv4 address held as a uint in network order (10.0.0.1 = 0x0A000001).</summary>
internal static class Ipv4Text
{
    /// <summary>Parses the schema's ipv4 syntax: four decimal octets 0–255, no leading zeros, nothing else.</summary>
    public static bool TryParse(string text, out uint address)
    {
        address = 0;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit)
                || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var octet))
                return false;
            address = (address << 8) | octet;
        }
        return true;
    }

    public static string Format(uint address) =>
        $"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}";
}
