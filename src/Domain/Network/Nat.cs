namespace SimService.Domain.Network;

/// <summary>
/// A source NAT (netfilter MASQUERADE analogue) in front of some hosts: their segments leave
/// with the NAT's address and a translated source port; replies to that address and port are
/// translated back. The original port is kept when it is free toward that destination, as
/// nf_nat_used_tuple()/nf_nat_l4proto_unique_tuple() do; otherwise the next free port is used.
/// </summary>
public sealed class Nat(string name, IPv4 address)
{
    readonly Dictionary<(Endpoint Inner, Endpoint Remote), ushort> _out = [];
    readonly Dictionary<(ushort Port, Endpoint Remote), Endpoint> _in = [];

    public string Name { get; } = name;
    public IPv4 Address { get; } = address;

    /// <summary>The tuple a segment from an inside host has on the outside (a mapping is made on first use).</summary>
    internal FourTuple Outbound(FourTuple inside)
    {
        var key = (inside.Local, inside.Remote);
        if (!_out.TryGetValue(key, out var port))
        {
            port = inside.Local.Port;
            while (_in.ContainsKey((port, inside.Remote))) port = port == ushort.MaxValue ? (ushort)1024 : (ushort)(port + 1);
            _out[key] = port;
            _in[(port, inside.Remote)] = inside.Local;
        }
        return new FourTuple(new Endpoint(Address, port), inside.Remote);
    }

    /// <summary>The inside endpoint a segment to the NAT's address belongs to, if a mapping exists.</summary>
    internal Endpoint? Inbound(Endpoint natSide, Endpoint remote) =>
        _in.TryGetValue((natSide.Port, remote), out var inner) ? inner : null;
}
