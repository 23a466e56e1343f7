using System.Buffers.Binary;
using System.Text;
using SimService.Domain.Time;

namespace SimService.Domain.Outputs;

/// <summary>A packet to write to a capture: when, on which capture interface, its bytes, and an optional comment.</summary>
public sealed record CapturedPacket(SimTime At, int Interface, byte[] Data, string? Comment);

/// <summary>
/// Capture files as libpcap and Wireshark read them, with virtual time as the timestamps (0 s is
/// 1970-01-01T00:00:00Z). Link type 101 (LINKTYPE_RAW): each packet starts at its IPv4 header.
/// </summary>
public static class Pcap
{
    public const uint LinkTypeRaw = 101;
    const uint SnapLength = 262144;

    /// <summary>
    /// Classic pcap, nanosecond flavour (magic 0xa1b23c4d, version 2.4), little-endian; the interface
    /// and comment of each packet are not representable and are left out.
    /// </summary>
    public static byte[] Classic(IEnumerable<CapturedPacket> packets)
    {
        using var ms = new MemoryStream();
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b23c4d);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkTypeRaw);
        ms.Write(header);
        Span<byte> record = stackalloc byte[16];
        foreach (var p in packets)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(p.At.Ns / 1_000_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(p.At.Ns % 1_000_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)p.Data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)p.Data.Length);
            ms.Write(record);
            ms.Write(p.Data);
        }
        return ms.ToArray();
    }

    /// <summary>
    /// pcapng (draft-ietf-opsawg-pcapng): a section header, one interface description per name
    /// (if_name, if_tsresol = 9: nanoseconds), then an enhanced packet block per packet with its
    /// comment as opt_comment.
    /// </summary>
    public static byte[] Ng(IReadOnlyList<string> interfaces, IEnumerable<CapturedPacket> packets)
    {
        using var ms = new MemoryStream();
        // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
        var shb = new List<byte>();
        Add32(shb, 0x1A2B3C4D);
        Add16(shb, 1);
        Add16(shb, 0);
        Add64(shb, ulong.MaxValue);
        AddOption(shb, 4, Encoding.UTF8.GetBytes("SimService (virtual time)")); // shb_userappl
        EndOptions(shb);
        WriteBlock(ms, 0x0A0D0D0A, shb);
        foreach (var name in interfaces)
        {
            var idb = new List<byte>();
            Add16(idb, (ushort)LinkTypeRaw);
            Add16(idb, 0);
            Add32(idb, SnapLength);
            AddOption(idb, 2, Encoding.UTF8.GetBytes(name)); // if_name
            AddOption(idb, 9, [9]); // if_tsresol: 10^-9 s
            EndOptions(idb);
            WriteBlock(ms, 0x00000001, idb);
        }
        foreach (var p in packets)
        {
            var epb = new List<byte>();
            Add32(epb, (uint)p.Interface);
            Add32(epb, (uint)((ulong)p.At.Ns >> 32));
            Add32(epb, (uint)p.At.Ns);
            Add32(epb, (uint)p.Data.Length);
            Add32(epb, (uint)p.Data.Length);
            epb.AddRange(p.Data);
            Pad(epb);
            if (p.Comment is { } comment)
            {
                AddOption(epb, 1, Encoding.UTF8.GetBytes(comment)); // opt_comment
                EndOptions(epb);
            }
            WriteBlock(ms, 0x00000006, epb);
        }
        return ms.ToArray();
    }

    static void WriteBlock(MemoryStream ms, uint type, List<byte> body)
    {
        var total = (uint)(12 + body.Count);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(word, type);
        ms.Write(word);
        BinaryPrimitives.WriteUInt32LittleEndian(word, total);
        ms.Write(word);
        ms.Write(body.ToArray());
        ms.Write(word);
    }

    static void AddOption(List<byte> block, ushort code, byte[] value)
    {
        Add16(block, code);
        Add16(block, (ushort)value.Length);
        block.AddRange(value);
        Pad(block);
    }

    static void EndOptions(List<byte> block) => Add32(block, 0);

    static void Pad(List<byte> block)
    {
        while (block.Count % 4 != 0) block.Add(0);
    }

    static void Add16(List<byte> b, ushort v) => b.AddRange([(byte)v, (byte)(v >> 8)]);
    static void Add32(List<byte> b, uint v) => b.AddRange([(byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24)]);
    static void Add64(List<byte> b, ulong v)
    {
        Add32(b, (uint)v);
        Add32(b, (uint)(v >> 32));
    }
}
