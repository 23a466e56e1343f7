using System.Buffers.Binary;
using SimService.Domain.Network;

namespace SimService.Domain.Outputs;

/// <summary>
/// The bytes of an IPv4 datagram carrying a TCP segment as Linux puts it on the wire: a 20-byte IP
/// header (DF, TTL 64, ip_select_ident_segs()' per-flow id), the TCP header with the options in
/// tcp_options_write() order, payload bytes of zeros (the simulator carries only their count), and
/// both checksums (ip_send_check(), __tcp_v4_send_check()).
/// </summary>
public static class TcpPacket
{
    const int IpHeaderLength = 20;
    const int TcpHeaderLength = 20;

    /// <summary>IP_DF in frag_off: Linux sets it on every TCP datagram while path-MTU discovery is on (the default).</summary>
    const ushort DontFragment = 0x4000;

    /// <summary>sysctl_ip_default_ttl.</summary>
    const byte DefaultTtl = 64;

    /// <param name="optionBytes">The header's option bytes when they are not what <paramref name="options"/> lay out to (an
    /// injected EOL-padded list, <see cref="Journal.SegmentSent.OptionBytes"/>): the options laid out, then EOL (0) to that
    /// length, so the datagram is as long as the one counted (review39a N-5). Fewer (options packed tighter than tcp_options_write() packs
    /// them): the list laid out is cut there, the header length right and its last option not (the engine keeps what options mean, not their bytes).</param>
    public static byte[] Build(FourTuple tuple, TcpFlags flags, uint seq, uint ack, ushort window, TcpOptions options, int length, ushort ipId,
        int? optionBytes = null)
    {
        var tcpOptions = Options(flags, options);
        if (optionBytes is { } bytes && bytes != tcpOptions.Length) System.Array.Resize(ref tcpOptions, bytes);
        int tcpLength = TcpHeaderLength + tcpOptions.Length + length;
        var packet = new byte[IpHeaderLength + tcpLength];
        var ip = packet.AsSpan(0, IpHeaderLength);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], ipId);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], DontFragment);
        ip[8] = DefaultTtl;
        ip[9] = 6; // IPPROTO_TCP
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], tuple.Local.Address.Value);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], tuple.Remote.Address.Value);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Fold(Sum(ip, 0)));

        var tcp = packet.AsSpan(IpHeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, tuple.Local.Port);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], tuple.Remote.Port);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = (byte)(((TcpHeaderLength + tcpOptions.Length) / 4) << 4);
        tcp[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], window);
        tcpOptions.CopyTo(tcp[TcpHeaderLength..]);
        // Pseudo-header: source, destination, zero + protocol, TCP length.
        ulong pseudo = (tuple.Local.Address.Value >> 16) + (tuple.Local.Address.Value & 0xFFFF)
                       + (tuple.Remote.Address.Value >> 16) + (tuple.Remote.Address.Value & 0xFFFF) + 6u + (uint)tcpLength;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Fold(Sum(tcp, pseudo)));
        return packet;
    }

    /// <summary>
    /// Models tcp_options_write(): MSS; timestamps, with SACK-permitted folded into their first
    /// word on a SYN that carries both; SACK-permitted alone behind two NOPs; window scale behind a
    /// NOP; SACK blocks behind two NOPs. Every option is 32-bit aligned as Linux pads it.
    /// </summary>
    public static byte[] Options(TcpFlags flags, TcpOptions o)
    {
        var bytes = new List<byte>(40);
        if (o.Mss != 0) bytes.AddRange([2, 4, (byte)(o.Mss >> 8), (byte)o.Mss]);
        if (o.HasTimestamp)
        {
            bytes.AddRange(o.SackPermitted ? [4, 2, 8, 10] : [1, 1, 8, 10]);
            AddUInt32(bytes, o.TsVal);
            AddUInt32(bytes, o.TsEcr);
        }
        else if (o.SackPermitted) bytes.AddRange([1, 1, 4, 2]);
        if (o.WindowScale is { } ws) bytes.AddRange([1, 3, 3, ws]);
        if (o.HasSack && !flags.HasFlag(TcpFlags.Syn))
        {
            bytes.AddRange([1, 1, 5, (byte)(2 + 8 * o.Sack.Count)]);
            foreach (var block in o.Sack.ToArray())
            {
                AddUInt32(bytes, block.Left);
                AddUInt32(bytes, block.Right);
            }
        }
        return [.. bytes];
    }

    static void AddUInt32(List<byte> bytes, uint v) => bytes.AddRange([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);

    /// <summary>The 16-bit one's complement sum of RFC 1071 over big-endian words (a trailing odd byte padded with zero).</summary>
    static ulong Sum(ReadOnlySpan<byte> data, ulong sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
