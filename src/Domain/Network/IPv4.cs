using System.Globalization;

namespace SimService.Domain.Network;

/// <summary>An IPv4 address as its 32-bit value in network order (10.0.0.1 → 0x0A000001).</summary>
public readonly record struct IPv4(uint Value) : IComparable<IPv4>
{
    public static readonly IPv4 Any = new(0);

    public bool IsLoopback => (Value >> 24) == 127;

    /// <summary>ipv4_is_multicast() — include/linux/in.h: 224.0.0.0/4.</summary>
    public bool IsMulticast => (Value & 0xF0000000) == 0xE0000000;

    /// <summary>ipv4_is_lbcast() — include/linux/in.h: the limited broadcast 255.255.255.255.</summary>
    public bool IsLimitedBroadcast => Value == 0xFFFFFFFF;

    /// <summary>ipv4_is_zeronet() — include/linux/in.h: 0.0.0.0/8 ("this network").</summary>
    public bool IsZeroNet => (Value & 0xFF000000) == 0;

    /// <summary>
    /// Why this cannot be a host's own address, or null. Models the martian-source checks of ip_route_input_slow() —
    /// net/ipv4/route.c: a packet whose source is multicast or the limited broadcast (ipv4_is_multicast(saddr) ||
    /// ipv4_is_lbcast(saddr)), or in 0.0.0.0/8 (ipv4_is_zeronet(saddr)), goes to martian_source and is dropped, so a host
    /// with such an address could never be answered; 127.0.0.0/8 is every host's loopback.
    /// </summary>
    public string? NotAHostAddress() =>
        IsLoopback ? $"{this} is not a host address (127.0.0.0/8 is every host's loopback)"
        : IsMulticast ? $"{this} is a multicast address (224.0.0.0/4): the kernel drops a packet from it as a martian source (ip_route_input_slow())"
        : IsLimitedBroadcast ? $"{this} is the limited broadcast address: the kernel drops a packet from it as a martian source (ip_route_input_slow())"
        : IsZeroNet ? $"{this} is in 0.0.0.0/8: the kernel drops a packet from it as a martian source (ip_route_input_slow())"
        : null;

    public static bool TryParse(string? text, out IPv4 address)
    {
        address = Any;
        if (text is null) return false;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        uint value = 0;
        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0')
                || !byte.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var b))
                return false;
            value = (value << 8) | b;
        }
        address = new IPv4(value);
        return true;
    }

    public static IPv4 Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"not an IPv4 address: {text}");

    public int CompareTo(IPv4 other) => Value.CompareTo(other.Value);

    public override string ToString() =>
        $"{Value >> 24}.{(Value >> 16) & 255}.{(Value >> 8) & 255}.{Value & 255}";
}

/// <summary>An IPv4 address and TCP port.</summary>
public readonly record struct Endpoint(IPv4 Address, ushort Port)
{
    public override string ToString() => $"{Address}:{Port}";
}

/// <summary>A connection's identity as the established hash keys it: local and remote endpoints.</summary>
public readonly record struct FourTuple(Endpoint Local, Endpoint Remote)
{
    public FourTuple Reversed => new(Remote, Local);

    /// <summary>Field by field on the 12 bytes that matter (the record's own equality goes through a comparer per field).</summary>
    public bool Equals(FourTuple other) =>
        Local.Address.Value == other.Local.Address.Value && Remote.Address.Value == other.Remote.Address.Value
        && Local.Port == other.Local.Port && Remote.Port == other.Remote.Port;

    /// <summary>The hash tables' key hash (inet_ehashfn() in spirit): one mix of saddr, daddr and both ports, no allocation.</summary>
    public override int GetHashCode() => HashCode.Combine(Local.Address.Value, Remote.Address.Value, (Local.Port << 16) | Remote.Port);
    public override string ToString() => $"{Local}->{Remote}";
}
