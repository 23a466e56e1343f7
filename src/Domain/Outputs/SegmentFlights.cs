using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Outputs;

/// <summary>
/// One segment's life on the wire: its send, and then its delivery, its drop, or neither (still in
/// flight at the end of the journal). <see cref="IpId"/> is the IPv4 identification the sender gave it
/// (a per-flow counter in send order, as inet_sk(sk)->inet_id++ in ip_select_ident_segs()).
/// </summary>
public sealed record SegmentFlight(SegmentSent Sent, SegmentDelivered? Delivered, SegmentDropped? Dropped, ushort IpId)
{
    public SimTime SentAt => Sent.At;
    public bool InFlight => Delivered is null && Dropped is null;
}

/// <summary>
/// Pairs each SegmentSent of a journal with the SegmentDelivered or SegmentDropped that ended it, by
/// the segment id every transmission carries. A delivery without a send (id 0: a segment handed to
/// a host directly by a test) is left out.
/// </summary>
public static class SegmentFlights
{
    public static IReadOnlyList<SegmentFlight> Pair(IReadOnlyList<SimEvent> journal)
    {
        var sends = new List<SegmentSent>();
        var delivered = new Dictionary<long, SegmentDelivered>();
        var dropped = new Dictionary<long, SegmentDropped>();
        foreach (var e in journal)
        {
            switch (e)
            {
                case SegmentSent s: sends.Add(s); break;
                case SegmentDelivered d when d.SegmentId != 0: delivered[d.SegmentId] = d; break;
                case SegmentDropped d when d.SegmentId != 0: dropped[d.SegmentId] = d; break;
            }
        }

        var flights = new List<SegmentFlight>(sends.Count);
        var ipIds = new Dictionary<FourTuple, ushort>();
        foreach (var s in sends)
        {
            ipIds.TryGetValue(s.Tuple, out var id);
            ipIds[s.Tuple] = (ushort)(id + 1);
            flights.Add(new SegmentFlight(s, delivered.GetValueOrDefault(s.SegmentId), dropped.GetValueOrDefault(s.SegmentId), id));
        }
        return flights;
    }
}
