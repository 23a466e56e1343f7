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
/// Pairs each SegmentSent of a journal with the SegmentDelivered or SegmentDropped that ended it.
/// The journal has no segment ids yet, so the rule is: a drop is recorded right after its send
/// (Simulation.Transmit), by the same host, with the same tuple and numbers; a delivery goes to the
/// oldest unfinished send routed to the delivering host with the same flags, sequence, ack and
/// length (the tuple may differ: a NAT rewrites it). Links deliver in order per direction, so
/// oldest-first is exact unless a link's delay shrinks while identical segments are in flight,
/// when two indistinguishable segments may swap. A delivery with no send (a segment handed to a
/// host directly by a test) is left out. This is the one place to change when the journal gets
/// segment ids.
/// </summary>
public static class SegmentFlights
{
    public static IReadOnlyList<SegmentFlight> Pair(IReadOnlyList<SimEvent> journal)
    {
        var sends = new List<SegmentSent>();
        var delivered = new Dictionary<int, SegmentDelivered>();
        var dropped = new Dictionary<int, SegmentDropped>();
        // Unfinished sends keyed by (destination host, flags, seq, ack, len), oldest first.
        var pending = new Dictionary<(string, TcpFlags, uint, uint, int), LinkedList<int>>();
        foreach (var e in journal)
        {
            switch (e)
            {
                case SegmentSent s:
                    sends.Add(s);
                    if (s.To is { } to)
                    {
                        if (!pending.TryGetValue(Key(to, s.Flags, s.SeqNo, s.AckNo, s.Len), out var q))
                            pending[Key(to, s.Flags, s.SeqNo, s.AckNo, s.Len)] = q = new LinkedList<int>();
                        q.AddLast(sends.Count - 1);
                    }
                    break;
                case SegmentDropped d when sends.Count > 0 && Matches(sends[^1], d) && !dropped.ContainsKey(sends.Count - 1):
                    dropped[sends.Count - 1] = d;
                    if (sends[^1].To is { } dest) pending[Key(dest, d.Flags, d.SeqNo, d.AckNo, d.Len)].RemoveLast();
                    break;
                case SegmentDelivered r when pending.TryGetValue(Key(r.Host, r.Flags, r.SeqNo, r.AckNo, r.Len), out var rq) && rq.Count > 0:
                    delivered[rq.First!.Value] = r;
                    rq.RemoveFirst();
                    break;
            }
        }

        var flights = new List<SegmentFlight>(sends.Count);
        var ipIds = new Dictionary<FourTuple, ushort>();
        for (int i = 0; i < sends.Count; i++)
        {
            var s = sends[i];
            ipIds.TryGetValue(s.Tuple, out var id);
            ipIds[s.Tuple] = (ushort)(id + 1);
            flights.Add(new SegmentFlight(s, delivered.GetValueOrDefault(i), dropped.GetValueOrDefault(i), id));
        }
        return flights;
    }

    static bool Matches(SegmentSent s, SegmentDropped d) =>
        s.Host == d.Host && s.Tuple == d.Tuple && s.Flags == d.Flags && s.SeqNo == d.SeqNo && s.AckNo == d.AckNo && s.Len == d.Len;

    static (string, TcpFlags, uint, uint, int) Key(string to, TcpFlags flags, uint seq, uint ack, int len) => (to, flags, seq, ack, len);
}
