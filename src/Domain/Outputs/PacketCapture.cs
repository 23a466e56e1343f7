using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Outputs;

/// <summary>A virtual-time window, both ends included; null ends are open.</summary>
public readonly record struct TimeWindow(SimTime? From, SimTime? To)
{
    public static readonly TimeWindow All = new(null, null);
    public bool Contains(SimTime t) => (From is not { } f || t >= f) && (To is not { } u || t <= u);
}

/// <summary>
/// Packet captures of a simulation, built from its journal (the segments as sent, paired with their
/// delivery or drop by <see cref="SegmentFlights"/>).
/// </summary>
public static class PacketCapture
{
    /// <summary>The capture interfaces of <see cref="Wire"/>: 0 every segment that left a host, 1 the ones the network lost.</summary>
    public static readonly IReadOnlyList<string> WireInterfaces = ["wire", "dropped"];

    /// <summary>
    /// What tcpdump on one host's interface would record: every segment the host sent, at its send
    /// time, as it left (so a segment lost further on is still there, as on a real sender), and every
    /// segment delivered to it, at its arrival time and as it arrived (after any NAT). Segments lost
    /// on the way to this host never arrived and are not in it.
    /// </summary>
    public static byte[] ForHost(IReadOnlyList<SimEvent> journal, string host, TimeWindow window) =>
        Pcap.Classic(HostPackets(journal, host, window));

    public static IReadOnlyList<CapturedPacket> HostPackets(IReadOnlyList<SimEvent> journal, string host, TimeWindow window)
    {
        var packets = new List<(SimTime At, long Seq, CapturedPacket Packet)>();
        foreach (var f in SegmentFlights.Pair(journal))
        {
            var s = f.Sent;
            if (s.Host == host && window.Contains(s.At))
                packets.Add((s.At, s.Seq, new CapturedPacket(s.At, 0, Bytes(f, s.Tuple), null)));
            if (f.Delivered is { } d && d.Host == host && window.Contains(d.At))
                packets.Add((d.At, d.Seq, new CapturedPacket(d.At, 0, Bytes(f, d.Tuple), null)));
        }
        return [.. packets.OrderBy(p => p.At).ThenBy(p => p.Seq).Select(p => p.Packet)];
    }

    /// <summary>
    /// The whole simulation as pcapng: every segment once, at its send time and as it was sent, with
    /// a comment naming the sender, the receiver and the kernel function that sent it. Segments the
    /// network lost are on interface 1 ("dropped"), with the reason in the comment; the rest on
    /// interface 0 ("wire").
    /// </summary>
    public static byte[] Wire(IReadOnlyList<SimEvent> journal, TimeWindow window) =>
        Pcap.Ng(WireInterfaces, WirePackets(journal, window));

    public static IReadOnlyList<CapturedPacket> WirePackets(IReadOnlyList<SimEvent> journal, TimeWindow window) =>
    [
        .. SegmentFlights.Pair(journal).Where(f => window.Contains(f.SentAt)).Select(f => new CapturedPacket(
            f.SentAt, f.Dropped is null ? 0 : 1, Bytes(f, f.Sent.Tuple),
            $"{f.Sent.Host} -> {f.Sent.To ?? "?"}: {f.Sent.Reason}" + (f.Dropped is { } d ? $" [dropped: {d.Reason}]" : ""))),
    ];

    static byte[] Bytes(SegmentFlight f, FourTuple tuple) =>
        TcpPacket.Build(tuple, f.Sent.Flags, f.Sent.SeqNo, f.Sent.AckNo, f.Sent.Win, f.Sent.Options, f.Sent.Len, f.IpId, f.Sent.OptionBytes);
}
