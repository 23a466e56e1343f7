namespace SimService.Domain.Network;

/// <summary>TCP options carried by a segment (only those teardown depends on).</summary>
public readonly record struct TcpOptions(
    ushort Mss = 0,
    sbyte WindowScale = -1,
    bool SackPermitted = false,
    bool HasTimestamp = false,
    uint TsVal = 0,
    uint TsEcr = 0,
    uint SackLeft = 0,
    uint SackRight = 0)
{
    /// <summary>Carries a SACK block [SackLeft, SackRight) (the most recent out-of-order block, sent first by Linux).</summary>
    public bool HasSack => SackLeft != SackRight;

    public static readonly TcpOptions None = new();
}

/// <summary>
/// A TCP segment on the wire. Payload bytes are not carried, only their count: the simulator
/// models what the kernel does with sequence space, not the application's bytes.
/// </summary>
public sealed record Segment(
    FourTuple Tuple,
    TcpFlags Flags,
    uint Seq,
    uint Ack,
    ushort Window,
    int Length,
    TcpOptions Options)
{
    public Endpoint Source => Tuple.Local;
    public Endpoint Destination => Tuple.Remote;

    /// <summary>Sequence space consumed: payload plus one for SYN and one for FIN.</summary>
    public uint SeqSpace => (uint)Length + (Flags.HasFlag(TcpFlags.Syn) ? 1u : 0u) + (Flags.HasFlag(TcpFlags.Fin) ? 1u : 0u);

    /// <summary>TCP_SKB_CB(skb)->end_seq.</summary>
    public uint EndSeq => Seq + SeqSpace;

    public bool Has(TcpFlags f) => (Flags & f) == f;

    /// <summary>
    /// The transmission's number in its simulation (0 until it is put on a link), set once by
    /// Simulation.Transmit and carried to its delivery or drop: pairs the journal's events.
    /// </summary>
    public long Id { get; internal set; }
}
