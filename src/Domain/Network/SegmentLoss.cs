namespace SimService.Domain.Network;

/// <summary>
/// A link's loss drawn from what a segment is rather than from the next number of the simulation's generator (a link
/// with <c>lossBySegment</c>): the draw is a hash of the seed, the direction, the connection (numbered in the order the
/// link first carried it), the sequence and acknowledgment numbers relative to each side's initial sequence number (as a
/// packet trace shows them), the flags but PSH, the payload length, and how many times the same segment went this way before.
/// Two runs that send the same segments — the engine's and a real kernel's behind the link emulator, whose ISNs, ports
/// and timestamps differ — lose the same ones, whatever else (a window update more or less) each sends in between, unless
/// the extra segment is the same as a later one: the window and options are not hashed, so a window update counts as an
/// earlier sending of a duplicate ACK with the same seq and ack, and that ACK's draw moves on by one.
/// Not a kernel behaviour: the network's.
/// <para>
/// Memory: one entry per four-tuple the link ever carried, and for each the count of every distinct segment its latest
/// connection sent. A new connection on a four-tuple (a SYN with another ISN) takes a new number, so the old one's
/// counts can never be read again and go with it; a long-lived connection's counts grow with the distinct segments it
/// sends (a bulk transfer: about one per MSS). Forgetting more — a connection whose sockets are both freed — would
/// change a later segment's draw (a stray RST or an injected segment on the old four-tuple would start a new number),
/// so it is not done.
/// </para>
/// </summary>
public sealed class SegmentLoss(long seed)
{
    /// <summary>
    /// A connection as the link carries it: its number, each direction's initial sequence number once seen, and how many
    /// times each of its segments went (dropped with the flow when a new connection takes its four-tuple).
    /// </summary>
    sealed class Flow(int number)
    {
        public int Number { get; } = number;
        public uint? IsnLow, IsnHigh;
        public readonly Dictionary<(bool FromLow, uint Seq, uint Ack, byte Flags, int Length), int> Sent = [];
    }

    readonly Dictionary<(ulong Low, ulong High), Flow> _flows = [];
    int _flowCount;

    /// <summary>The segment counts kept (every four-tuple's latest connection's), for tests of the bound.</summary>
    internal int SegmentsRemembered => _flows.Values.Sum(f => f.Sent.Count);

    /// <summary>
    /// The draw in [0, 1) for one segment going <paramref name="source"/> → <paramref name="destination"/>: lost when
    /// it is below the direction's loss. Every call counts the segment as sent once more.
    /// </summary>
    public double Draw(Endpoint source, Endpoint destination, TcpFlags flags, uint seq, uint ack, int length)
    {
        flags &= TcpFlags.Fin | TcpFlags.Syn | TcpFlags.Rst | TcpFlags.Ack; // PSH (and a wire's ECE/CWR) left out
        ulong from = Key(source), to = Key(destination);
        bool fromLow = from < to;
        var pair = fromLow ? (from, to) : (to, from);
        bool syn = (flags & TcpFlags.Syn) != 0, synOnly = syn && (flags & TcpFlags.Ack) == 0;
        if (!_flows.TryGetValue(pair, out var flow) || (synOnly && (fromLow ? flow.IsnLow : flow.IsnHigh) is { } isn && isn != seq))
            _flows[pair] = flow = new Flow(_flowCount++); // a new connection, or a new one on the same four-tuple
        // The sender's ISN from its SYN, else its first segment's sequence number; the peer's the same way.
        if (fromLow) flow.IsnLow ??= seq;
        else flow.IsnHigh ??= seq;
        uint relativeSeq = seq - (fromLow ? flow.IsnLow!.Value : flow.IsnHigh!.Value);
        uint? peer = fromLow ? flow.IsnHigh : flow.IsnLow;
        uint relativeAck = (flags & TcpFlags.Ack) != 0 && peer is { } p ? ack - p : 0;
        var key = (fromLow, relativeSeq, relativeAck, (byte)flags, length);
        int times = flow.Sent.GetValueOrDefault(key);
        flow.Sent[key] = times + 1;
        ulong h = Mix((ulong)seed);
        foreach (ulong field in (ReadOnlySpan<ulong>)[(ulong)flow.Number, fromLow ? 1UL : 0UL, relativeSeq, relativeAck, (byte)flags, (ulong)length, (ulong)times])
            h = Mix(h ^ field);
        return (h >> 11) * (1.0 / (1UL << 53));
    }

    static ulong Key(Endpoint e) => ((ulong)e.Address.Value << 16) | e.Port;

    /// <summary>SplitMix64's finalizer: a fixed mix, the same in every process (unlike <see cref="HashCode"/>).</summary>
    static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
