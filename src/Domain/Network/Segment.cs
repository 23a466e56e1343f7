namespace SimService.Domain.Network;

/// <summary>One SACK block [Left, Right) of the receiver's sequence space (RFC 2018).</summary>
public readonly record struct SackBlock(uint Left, uint Right);

/// <summary>
/// The SACK blocks a segment carries, at most four (TCP_NUM_SACKS — include/linux/tcp.h), in wire
/// order. A value type so that segments and journal events compare by value.
/// </summary>
public readonly record struct SackBlocks(int Count, SackBlock B1, SackBlock B2, SackBlock B3, SackBlock B4)
{
    /// <summary>TCP_NUM_SACKS: the most blocks an option can hold (three with timestamps).</summary>
    public const int Max = 4;

    public static readonly SackBlocks None = default;

    public static SackBlocks Of(params ReadOnlySpan<SackBlock> blocks)
    {
        if (blocks.Length > Max) throw new ArgumentOutOfRangeException(nameof(blocks), blocks.Length, $"at most {Max} SACK blocks");
        SackBlock At(ReadOnlySpan<SackBlock> b, int i) => i < b.Length ? b[i] : default;
        return new SackBlocks(blocks.Length, At(blocks, 0), At(blocks, 1), At(blocks, 2), At(blocks, 3));
    }

    public SackBlock this[int i] => i switch
    {
        0 when Count > 0 => B1,
        1 when Count > 1 => B2,
        2 when Count > 2 => B3,
        3 when Count > 3 => B4,
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    /// <summary>The blocks in wire order.</summary>
    public SackBlock[] ToArray()
    {
        if (Count == 0) return []; // most segments carry none: no array per segment
        var blocks = new SackBlock[Count];
        for (int i = 0; i < Count; i++) blocks[i] = this[i];
        return blocks;
    }
}

/// <summary>
/// TCP options carried by a segment (those Linux parses in tcp_parse_options()): MSS (0 = absent),
/// window scale (null = absent), SACK-permitted, timestamps, SACK blocks.
/// </summary>
public readonly record struct TcpOptions(
    ushort Mss = 0,
    byte? WindowScale = null,
    bool SackPermitted = false,
    bool HasTimestamp = false,
    uint TsVal = 0,
    uint TsEcr = 0,
    SackBlocks Sack = default)
{
    /// <summary>Carries at least one SACK block (the most recent out-of-order block first, as Linux sends them).</summary>
    public bool HasSack => Sack.Count > 0;

    public static readonly TcpOptions None = new();

    /// <summary>
    /// The bytes these options take in the TCP header as tcp_options_write() lays them out (each
    /// 32-bit aligned): MSS 4, timestamps 12 (SACK-permitted folded into their NOPs), SACK-permitted
    /// alone 4, window scale 4, SACK blocks 4 + 8 each (never on a SYN).
    /// </summary>
    public int WireLength(TcpFlags flags) =>
        (Mss != 0 ? 4 : 0) + (HasTimestamp ? 12 : SackPermitted ? 4 : 0) + (WindowScale is null ? 0 : 4)
        + (HasSack && (flags & TcpFlags.Syn) == 0 ? 4 + 8 * Sack.Count : 0);

    /// <summary>
    /// The options as tcpdump lists them, comma-separated ("mss 1460,sackOK,TS val 1 ecr 0,wscale 7,sack 1:2"), each SACK
    /// edge less <paramref name="sackBase"/> (0: absolute); "" when there are none.
    /// </summary>
    public string ToTcpdumpList(uint sackBase = 0)
    {
        var parts = new List<string>(5);
        if (Mss > 0) parts.Add($"mss {Mss}");
        if (SackPermitted) parts.Add("sackOK");
        if (HasTimestamp) parts.Add($"TS val {TsVal} ecr {TsEcr}");
        if (WindowScale is not null) parts.Add($"wscale {WindowScale}");
        if (HasSack) parts.Add("sack " + string.Join(" ", Sack.ToArray().Select(b => $"{unchecked(b.Left - sackBase)}:{unchecked(b.Right - sackBase)}")));
        return string.Join(",", parts);
    }
}

/// <summary>
/// A TCP segment on the wire. Payload bytes are not carried, only their count: the simulator
/// models what the kernel does with sequence space, not the application's bytes.
/// </summary>
/// <remarks>
/// The engine's own segments come from its simulation's free list and go back to it once their
/// receiver has handled them (<see cref="Engine.Simulation.NewSegment"/>, as the kernel frees an skb
/// after tcp_v4_rcv()): a churn sends about ten per connection. A segment made with the constructor
/// (a test's, an injected one) is never reused. Two segments are equal when their wire fields and
/// transmission id are; whether one is pooled is not part of it.
/// </remarks>
public sealed record Segment(
    FourTuple Tuple,
    TcpFlags Flags,
    uint Seq,
    uint Ack,
    ushort Window,
    int Length,
    TcpOptions Options)
{
    FourTuple _tuple = Tuple;
    TcpFlags _flags = Flags;
    uint _seq = Seq;
    uint _ack = Ack;
    ushort _window = Window;
    int _length = Length;
    TcpOptions _options = Options;

    public FourTuple Tuple { get => _tuple; init => _tuple = value; }
    public TcpFlags Flags { get => _flags; init => _flags = value; }
    public uint Seq { get => _seq; init => _seq = value; }
    public uint Ack { get => _ack; init => _ack = value; }
    public ushort Window { get => _window; init => _window = value; }
    public int Length { get => _length; init => _length = value; }
    public TcpOptions Options { get => _options; init => _options = value; }

    public Endpoint Source => Tuple.Local;
    public Endpoint Destination => Tuple.Remote;

    /// <summary>Sequence space consumed: payload plus one for SYN and one for FIN.</summary>
    public uint SeqSpace => (uint)Length + (Flags.Has(TcpFlags.Syn) ? 1u : 0u) + (Flags.Has(TcpFlags.Fin) ? 1u : 0u);

    /// <summary>TCP_SKB_CB(skb)->end_seq.</summary>
    public uint EndSeq => Seq + SeqSpace;

    public bool Has(TcpFlags f) => (Flags & f) == f;

    /// <summary>skb->len at the IP layer: a 20-byte IPv4 header, the TCP header with its options, the payload.</summary>
    public int DatagramLength => 20 + 20 + Options.WireLength(Flags) + Length;

    /// <summary>
    /// The transmission's number in its simulation (0 until it is put on a link), set once by
    /// Simulation.Transmit and carried to its delivery or drop: pairs the journal's events.
    /// </summary>
    public long Id { get; internal set; }

    /// <summary>Taken from its simulation's free list: it returns there once delivered and handled.</summary>
    internal bool Pooled { get; private set; }

    /// <summary>The next segment of the free list while this one waits to be reused.</summary>
    internal Segment? NextFree { get; set; }

    /// <summary>Sets header flags on a segment its sender built but has not yet put on a link (Id 0).</summary>
    /// <summary>skb_shinfo(skb)->gso_size of a GSO packet that crossed lo whole (the sender's MSS); 0 for one segment.</summary>
    internal int GsoSize { get; private set; }

    /// <summary>skb_shinfo(skb)->gso_segs: the MSS-sized segments the packet stands for, at least 1.</summary>
    internal int GsoSegs => GsoSize == 0 ? 1 : (Length + GsoSize - 1) / GsoSize;

    /// <summary>
    /// A GSO skb handed to lo whole (not yet sent): <paramref name="next"/>'s payload is appended to this one's, and this
    /// segment takes its PSH and FIN; gso_size is this segment's first length.
    /// </summary>
    internal void Absorb(Segment next)
    {
        if (Id != 0) throw new InvalidOperationException("segment already sent");
        if (GsoSize == 0) GsoSize = _length;
        _length += next._length;
        _flags = (_flags & ~(TcpFlags.Psh | TcpFlags.Fin)) | (next._flags & (TcpFlags.Psh | TcpFlags.Fin));
    }

    /// <summary>
    /// tcp_add_backlog()'s merge of <paramref name="next"/>, a pure ACK, into this one, the backlog's tail (delivered, not
    /// yet handled): the later ack_seq with its window (kept when <paramref name="next"/>'s is before this one's), the
    /// flags of both.
    /// </summary>
    internal void CoalesceBacklog(Segment next)
    {
        if (!SeqMath.Before(next._ack, _ack))
        {
            _ack = next._ack;
            _window = next._window;
        }
        _flags |= next._flags;
    }

    internal void AddFlags(TcpFlags flags)
    {
        if (Id != 0) throw new InvalidOperationException("segment already sent");
        _flags |= flags;
    }

    /// <summary>Makes a free segment a new one (the free list's only writer).</summary>
    internal void Reuse(FourTuple tuple, TcpFlags flags, uint seq, uint ack, ushort window, int length, in TcpOptions options)
    {
        _tuple = tuple;
        _flags = flags;
        _seq = seq;
        _ack = ack;
        _window = window;
        _length = length;
        _options = options;
        GsoSize = 0;
        Id = 0;
        Pooled = true;
        NextFree = null;
    }

    internal void MarkPooled() => Pooled = true;

    public bool Equals(Segment? other) =>
        other is not null && (ReferenceEquals(this, other)
            || _tuple == other._tuple && _flags == other._flags && _seq == other._seq && _ack == other._ack
               && _window == other._window && _length == other._length && _options == other._options && Id == other.Id);

    public override int GetHashCode() => HashCode.Combine(_tuple, _flags, _seq, _ack, _window, _length, _options, Id);
}
