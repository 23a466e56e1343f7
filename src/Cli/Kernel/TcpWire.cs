using System.Buffers.Binary;
using System.Collections.Immutable;
using SimService.Domain.Packetdrill;

namespace SimService.Cli.Kernel;

/// <summary>An IPv4 TCP segment as it crosses the TUN device: addresses and ports, the TCP header fields and its options in wire order.</summary>
internal sealed record WireSegment(uint Source, uint Destination, ushort SourcePort, ushort DestinationPort, uint Seq, uint Ack, byte Flags,
    ushort Window, IReadOnlyList<ScriptOption> Options, int PayloadLength)
{
    public const byte FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80;

    public bool Has(byte flag) => (Flags & flag) != 0;
}

/// <summary>
/// Builds the IPv4+TCP packets the scripted peer injects (header and TCP checksums computed, as the kernel's
/// tcp_v4_rcv() verifies them for a TUN device's CHECKSUM_NONE packets) and reads the ones the kernel sends.
/// </summary>
internal static class TcpWire
{
    static readonly ScriptPosition Nowhere = new(0, 0);

    /// <summary>The packet for a segment: IPv4 header (TTL 64, DF), TCP header with its options, a zero payload.</summary>
    public static byte[] Build(WireSegment s)
    {
        var options = new List<byte>();
        foreach (var o in s.Options) WriteOption(options, o);
        while (options.Count % 4 != 0) options.Add(0); // EOL padding to a 32-bit boundary
        int tcpLength = 20 + options.Count;
        int total = 20 + tcpLength + s.PayloadLength;
        var p = new byte[total];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), 0x4000); // DF
        p[8] = 64;
        p[9] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), s.Source);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16), s.Destination);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, 20), 0));
        var t = p.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(t, s.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], s.DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], s.Seq);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], s.Ack);
        t[12] = (byte)((tcpLength / 4) << 4);
        t[13] = s.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], s.Window);
        options.ToArray().CopyTo(t[20..]);
        // The pseudo-header: source, destination, protocol, TCP length.
        uint pseudo = (s.Source >> 16) + (s.Source & 0xffff) + (s.Destination >> 16) + (s.Destination & 0xffff) + 6u + (uint)(tcpLength + s.PayloadLength);
        BinaryPrimitives.WriteUInt16BigEndian(t[16..], Checksum(t, pseudo));
        return p;
    }

    /// <summary>A packet read from the TUN device, when it is IPv4 TCP (anything else — IPv6 neighbour traffic — is null).</summary>
    public static WireSegment? Parse(ReadOnlySpan<byte> p) => Parse(p, options: true);

    /// <summary>As <see cref="Parse(ReadOnlySpan{byte})"/>, without reading the options (they come back empty).</summary>
    public static WireSegment? ParseHeader(ReadOnlySpan<byte> p) => Parse(p, options: false);

    /// <summary>
    /// As <see cref="Parse(ReadOnlySpan{byte})"/> for a capture cut after the headers (a packet socket's snaplen): the
    /// payload's length is the IP total length's, its bytes need not be there.
    /// </summary>
    public static WireSegment? ParseCaptured(ReadOnlySpan<byte> p) => Parse(p, options: true, captured: true);

    static WireSegment? Parse(ReadOnlySpan<byte> p, bool options, bool captured = false)
    {
        if (p.Length < 40 || p[0] >> 4 != 4 || p[9] != 6) return null;
        int ihl = (p[0] & 0xf) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (total > p.Length && !captured || ihl + 20 > total) return null;
        var t = p[ihl..Math.Min(total, p.Length)];
        int offset = (t[12] >> 4) * 4;
        if (offset < 20 || offset > t.Length) return null;
        return new WireSegment(BinaryPrimitives.ReadUInt32BigEndian(p[12..]), BinaryPrimitives.ReadUInt32BigEndian(p[16..]),
            BinaryPrimitives.ReadUInt16BigEndian(t), BinaryPrimitives.ReadUInt16BigEndian(t[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(t[4..]), BinaryPrimitives.ReadUInt32BigEndian(t[8..]), t[13],
            BinaryPrimitives.ReadUInt16BigEndian(t[14..]), options ? ReadOptions(t[20..offset]) : [], total - ihl - offset);
    }

    /// <summary>The options of a TCP header in wire order, NOPs and EOL included (bytes after EOL are padding).</summary>
    static List<ScriptOption> ReadOptions(ReadOnlySpan<byte> o)
    {
        var list = new List<ScriptOption>();
        for (int i = 0; i < o.Length;)
        {
            byte kind = o[i];
            if (kind == 0)
            {
                list.Add(new EolOption(Nowhere));
                break;
            }
            if (kind == 1)
            {
                list.Add(new NopOption(Nowhere));
                i++;
                continue;
            }
            if (i + 1 >= o.Length || o[i + 1] < 2 || i + o[i + 1] > o.Length) break;
            var v = o.Slice(i + 2, o[i + 1] - 2);
            switch (kind)
            {
                case 2 when v.Length == 2: list.Add(new MssOption(Nowhere, BinaryPrimitives.ReadUInt16BigEndian(v))); break;
                case 3 when v.Length == 1: list.Add(new WscaleOption(Nowhere, v[0])); break;
                case 4: list.Add(new SackOkOption(Nowhere)); break;
                case 5:
                    var blocks = ImmutableArray.CreateBuilder<(uint, uint)>();
                    for (int b = 0; b + 8 <= v.Length; b += 8)
                        blocks.Add((BinaryPrimitives.ReadUInt32BigEndian(v[b..]), BinaryPrimitives.ReadUInt32BigEndian(v[(b + 4)..])));
                    list.Add(new SackOption(Nowhere, blocks.ToImmutable()));
                    break;
                case 8 when v.Length == 8:
                    list.Add(new TimestampOption(Nowhere, BinaryPrimitives.ReadUInt32BigEndian(v), BinaryPrimitives.ReadUInt32BigEndian(v[4..])));
                    break;
                default: list.Add(new UnknownOption(Nowhere, kind, o[i + 1])); break;
            }
            i += o[i + 1];
        }
        return list;
    }

    static void WriteOption(List<byte> bytes, ScriptOption o)
    {
        switch (o)
        {
            case NopOption: bytes.Add(1); break;
            case EolOption: bytes.Add(0); break;
            case MssOption m: bytes.AddRange([2, 4, (byte)(m.Mss >> 8), (byte)m.Mss]); break;
            case WscaleOption w: bytes.AddRange([3, 3, w.Shift]); break;
            case SackOkOption: bytes.AddRange([4, 2]); break;
            case SackOption s:
                bytes.AddRange([5, (byte)(2 + 8 * s.Blocks.Length)]);
                foreach (var (l, r) in s.Blocks) { AddU32(bytes, l); AddU32(bytes, r); }
                break;
            case TimestampOption ts:
                bytes.AddRange([8, 10]);
                AddU32(bytes, ts.Val);
                AddU32(bytes, ts.Ecr);
                break;
        }
    }

    static void AddU32(List<byte> bytes, uint v) => bytes.AddRange([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);

    /// <summary>The Internet checksum (RFC 1071) of the bytes plus a starting sum.</summary>
    static ushort Checksum(ReadOnlySpan<byte> data, uint sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (uint)(data[i] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}

/// <summary>An option kind the script language has no name for, as read from the wire.</summary>
internal sealed record UnknownOption(ScriptPosition At, byte WireKind, byte WireLength) : ScriptOption(At)
{
    public override byte Kind => WireKind;
    public override int Length => WireLength;
    public override string ToString() => $"{WireKind}";
}
