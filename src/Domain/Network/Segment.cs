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
    /// The fewest bytes a TCP header holding these options can give them: each option's own length (TCPOLEN_MSS 4,
    /// TCPOLEN_WINDOW 3, TCPOLEN_SACK_PERM 2, TCPOLEN_TIMESTAMP 10, SACK 2 + 8 each, as <see cref="WireLength"/> never on a
    /// SYN), no NOP between them, rounded up to th->doff's 4-byte words.
    /// </summary>
    public int LeastLength(TcpFlags flags) =>
        ((Mss != 0 ? 4 : 0) + (HasTimestamp ? 10 : 0) + (SackPermitted ? 2 : 0) + (WindowScale is null ? 0 : 3)
        + (HasSack && (flags & TcpFlags.Syn) == 0 ? 2 + 8 * Sack.Count : 0) + 3) & ~3;

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
    public int DatagramLength => 20 + 20 + OptionLength + Length;

    /// <summary>
    /// The bytes of options in the TCP header, th->doff · 4 − 20: what <see cref="OptionBytes"/> says when it is set, else
    /// what tcp_options_write() lays <see cref="Options"/> out to (<see cref="TcpOptions.WireLength"/>).
    /// </summary>
    public int OptionLength => _optionBytes ?? Options.WireLength(Flags);

    /// <summary>
    /// The option bytes of a segment whose header does not hold what its <see cref="Options"/> lay out to — a scripted
    /// peer's EOL-padded list, options written after an EOL, an option twice, an MSS on a segment that is no SYN, or
    /// options packed tighter than tcp_options_write() packs them: th->doff counts them all, and header prediction's
    /// tcp_header_len test and the datagram's length take it. Null (the engine's own segments): as laid out.
    /// </summary>
    public int? OptionBytes { get => _optionBytes; init => _optionBytes = value; }
    int? _optionBytes;

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
    internal int GsoSegs => _tailSegs != 0 ? _tailSegs : GsoSize == 0 ? 1 : (Length + GsoSize - 1) / GsoSize;

    /// <summary>
    /// A backlog tail's own gso_segs from before the segments merged into it: tcp_v4_rcv() counted each of those as it
    /// came, and the engine counts the tail's receipt (InSegs, InNoECTPkts, tcp_segs_in()) when the socket handles it.
    /// </summary>
    int _tailSegs;

    /// <summary>
    /// skb_shinfo(skb)->gso_segs of a backlog tail after tcp_add_backlog() merged segments into it: the sum of theirs,
    /// at most 0xFFFF; else <see cref="GsoSegs"/>.
    /// </summary>
    internal int BacklogSegs => Truesize != 0 ? _mergedSegs : GsoSegs;
    int _mergedSegs;

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
    /// A piece software GSO cut from a lo GSO skb (validate_xmit_skb() → skb_segment(), net/core/skbuff.c): an skb of its
    /// own — a new head holding the headers, the payload referenced in the sender's page fragments — not a clone of the
    /// skb the sender keeps, so skb_try_coalesce() may merge into it while the sender holds its data.
    /// </summary>
    internal bool Segmented { get; private set; }

    /// <summary>Marks a segment software GSO cut (before it is put on lo).</summary>
    internal void MarkSegmented()
    {
        if (Id != 0) throw new InvalidOperationException("segment already sent");
        Segmented = true;
    }

    /// <summary>
    /// The skb this lo segment arrived in, once tcp_add_backlog() merged a later one into it (else <see cref="Truesize"/>
    /// is 0 and the receiver charges the segment as lo's whole or cut skb): its truesize, the room left in its head, its
    /// page fragments.
    /// </summary>
    internal int Truesize { get; private set; }
    int _tailRoom;
    int _frags;

    /// <summary>
    /// The head of a lo skb (linux-6, MAX_TCP_HEADER 192): tcp_send_ack()'s skb and the sender's, alloc_skb(MAX_TCP_HEADER),
    /// and a software GSO piece, __alloc_skb(hsize 0 + the 66 bytes of headers + headroom 126) — skb_segment() reads the
    /// headroom after pushing the headers back — all take skb_small_head_cache's SKB_SMALL_HEAD_CACHE_SIZE (512 + 64):
    /// truesize 832, a 256-byte data area of which 192 are headroom and headers, so 64 bytes of tail room
    /// (skb_tailroom(), what skb_try_coalesce() copies into). Observed on Linux 6.18.44: a 72425-byte merge of two
    /// pieces left the reader's window as for payload + 832.
    /// </summary>
    internal const int LoHeadTruesize = 832, LoHeadTailRoom = 64;

    /// <summary>
    /// skb->truesize of this lo segment as tcp_add_backlog() finds it: the merged skb's (<see cref="Truesize"/>), else
    /// its head and payload — the sender's clone, a software GSO piece and tcp_send_ack()'s skb alike
    /// (skb_condense() leaves a clone's truesize and sets a pure ACK's to SKB_TRUESIZE(skb_end_offset()), the same 832).
    /// </summary>
    internal int LoTruesize => Truesize != 0 ? Truesize : LoHeadTruesize + _length;

    /// <summary>skb_tailroom() of this lo skb's head: a merged skb's, else a fresh head's <see cref="LoHeadTailRoom"/>.</summary>
    internal int LoTailRoom => Truesize != 0 ? _tailRoom : LoHeadTailRoom;

    /// <summary>The page fragments of this lo skb (nr_frags): a merged skb's, else the fewest its payload takes.</summary>
    internal int LoFragCount => Truesize != 0 ? _frags : LoFrags(_length);

    /// <summary>skb_headlen() once the headers are pulled: what a backlog merge copied into the head's tail room, else 0.</summary>
    internal int LoHeadLen => Truesize != 0 ? LoHeadTailRoom - _tailRoom : 0;

    /// <summary>
    /// The page fragments a lo data skb of <paramref name="len"/> bytes holds, at the fewest: tcp_sendmsg_locked() copies
    /// into the task's page_frag, SKB_FRAG_PAGE_ORDER pages of 32 KB, one fragment per page.
    /// </summary>
    static int LoFrags(int len) => (len + 32767) >> 15;

    /// <summary>
    /// Models skb_try_coalesce(this, next) — net/core/skbuff.c — as tcp_add_backlog() (net/ipv4/tcp_ipv4.c) calls it for
    /// <paramref name="next"/>, a lo segment contiguous with this one, the backlog's tail (delivered, not yet handled),
    /// their flags and options already found mergeable. Refused when this skb is cloned — a data segment sent whole is
    /// the clone of the skb its sender keeps until an ACK covers it, and nothing in a backlog was ACKed; a pure ACK
    /// (tcp_send_ack()'s own skb) and a software GSO piece are not clones. A payload that fits the tail room is copied
    /// there (truesize unchanged); a larger one is taken by reference to its page fragments, unless the two skbs
    /// would hold more than MAX_SKB_FRAGS (17), and adds its payload to the truesize (delta = truesize −
    /// SKB_TRUESIZE(skb_end_offset())). Merged, the tail takes <paramref name="next"/>'s end_seq, its ack_seq and window
    /// unless that ack_seq is before the tail's, the OR of the flags (PSH and FIN included), gso_size the larger of the
    /// two (an skb without one counts its length) and gso_segs their sum (<see cref="BacklogSegs"/>, which tcp_ack() reads
    /// of a pure ACK as its duplicate ACKs; <see cref="GsoSegs"/> keeps the tail's own for the receipt counters).
    /// </summary>
    internal bool CoalesceBacklog(Segment next)
    {
        if (Truesize == 0)
        {
            if (!Segmented && SeqSpace != 0) return false; // skb_cloned(to)
            Truesize = LoHeadTruesize + _length;
            _tailRoom = LoHeadTailRoom;
            _frags = Segmented ? LoFrags(_length) : 0;
            _tailSegs = GsoSegs;
            _mergedSegs = _tailSegs;
        }
        int len = next._length;
        if (len <= _tailRoom) _tailRoom -= len; // skb_put() + skb_copy_bits(): *delta_truesize = 0
        else
        {
            int frags = LoFrags(len);
            if (_frags + frags > 17) return false;
            _frags += frags;
            Truesize += len;
        }
        // Only a merge that happens counts the merged segments (tcp_add_backlog(), after skb_try_coalesce() took it).
        _mergedSegs = Math.Min(_mergedSegs + next.GsoSegs, 0xFFFF); // min_t(u32, gso_segs + tail_gso_segs, 0xFFFF)
        int gso = Math.Max(GsoSize != 0 ? GsoSize : _length, next.GsoSize != 0 ? next.GsoSize : len);
        _length += len;
        GsoSize = _length > gso ? gso : 0;
        if (!SeqMath.Before(next._ack, _ack))
        {
            _ack = next._ack;
            _window = next._window;
        }
        _flags |= next._flags;
        return true;
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
        _optionBytes = null;
        GsoSize = 0;
        Segmented = false;
        Truesize = 0;
        _tailSegs = 0;
        _mergedSegs = 0;
        Id = 0;
        Pooled = true;
        NextFree = null;
    }

    internal void MarkPooled() => Pooled = true;

    public bool Equals(Segment? other) =>
        other is not null && (ReferenceEquals(this, other)
            || _tuple == other._tuple && _flags == other._flags && _seq == other._seq && _ack == other._ack
               && _window == other._window && _length == other._length && _options == other._options && _optionBytes == other._optionBytes
               && Id == other.Id);

    public override int GetHashCode() => HashCode.Combine(_tuple, _flags, _seq, _ack, _window, _length, _options, Id);
}
