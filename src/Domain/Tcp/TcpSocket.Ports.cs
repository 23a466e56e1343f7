using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>The IPPROTO_IP options that steer the choice of the local port: IP_LOCAL_PORT_RANGE and IP_BIND_ADDRESS_NO_PORT.</summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// inet_rcv_saddr, as the bind hash compares it: the bound address while not connected (INADDR_ANY for a
    /// wildcard bind, also a listener's), the connection's local address once connect() or the handshake set it.
    /// </summary>
    public IPv4 RcvSaddr => State is TcpState.Close or TcpState.Listen ? BindAddress : Local.Address;

    /// <summary>
    /// The source address of a connect() (tcp_v4_connect() → ip_route_connect()): inet_saddr — the bound address if
    /// bind() gave a local one — else the route's source for the destination (<see cref="Host.SourceFor"/>).
    /// </summary>
    IPv4 ConnectSource(IPv4 destination) => InetSaddr != IPv4.Any ? InetSaddr : Host.SourceFor(destination);

    /// <summary>inet_saddr before connect(): the address bind() gave, 0.0.0.0 for none or a broadcast or multicast one (__inet_bind()).</summary>
    IPv4 InetSaddr => IsBroadcastOrMulticast(BindAddress) ? IPv4.Any : BindAddress;

    /// <summary>
    /// inet_addr_type_table() — net/ipv4/fib_frontend.c — is RTN_MULTICAST or RTN_BROADCAST: 224.0.0.0/4
    /// (ipv4_is_multicast()), 255.255.255.255 (ipv4_is_lbcast()), and lo's broadcast route in the local table,
    /// 127.255.255.255. __inet_bind() accepts such an address but sets inet_saddr = 0.
    /// </summary>
    static bool IsBroadcastOrMulticast(IPv4 address) =>
        address.IsMulticast || address.IsLimitedBroadcast || address == LoopbackBroadcast;

    /// <summary>The broadcast address of lo's 127.0.0.1/8: RTN_BROADCAST in the local table.</summary>
    static readonly IPv4 LoopbackBroadcast = new(0x7FFFFFFF);

    /// <summary>inet->local_port_range: lo | hi &lt;&lt; 16 as IP_LOCAL_PORT_RANGE set it (0: not set).</summary>
    public uint LocalPortRangeOption => _rare?.Options?.LocalPortRange ?? 0;


    /// <summary>
    /// Models do_ip_setsockopt(IP_LOCAL_PORT_RANGE) — net/ipv4/ip_sockglue.c: lo = (u16)val, hi = val &gt;&gt; 16;
    /// both non-zero with lo &gt; hi → EINVAL; anything else is stored as is (0 clears it; a range outside the
    /// netns range is accepted and only ignored when used, by inet_sk_get_local_port_range()).
    /// </summary>
    CallOutcome SetLocalPortRange(int value)
    {
        uint range = unchecked((uint)value);
        uint lo = range & 0xffff, hi = range >> 16;
        if (lo != 0 && hi != 0 && lo > hi) return CallOutcome.Fail(Errno.EINVAL);
        if (range != 0 || _rare?.Options is not null) RareOptionsToWrite.LocalPortRange = range;
        return CallOutcome.Ok();
    }

    /// <summary>do_ip_getsockopt(IP_LOCAL_PORT_RANGE): the u32 hi &lt;&lt; 16 | lo as the result, and {lo, hi} as optval.</summary>
    CallOutcome GetLocalPortRange() =>
        CallOutcome.Ok(LocalPortRangeOption, $"{{\"lo\":{LocalPortRangeOption & 0xffff},\"hi\":{LocalPortRangeOption >> 16}}}");

    /// <summary>do_ip_setsockopt(IP_BIND_ADDRESS_NO_PORT): inet_assign_bit(BIND_ADDRESS_NO_PORT, sk, val).</summary>
    CallOutcome SetBindAddressNoPort(int value)
    {
        BindAddressNoPort = value != 0;
        return CallOutcome.Ok();
    }
}
