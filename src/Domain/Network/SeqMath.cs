namespace SimService.Domain.Network;

/// <summary>Sequence-number comparisons modulo 2^32: before()/after()/between() of include/net/tcp.h.</summary>
public static class SeqMath
{
    public static bool Before(uint a, uint b) => (int)(a - b) < 0;
    public static bool After(uint a, uint b) => (int)(b - a) < 0;
    public static bool BeforeOrEqual(uint a, uint b) => (int)(a - b) <= 0;
    public static bool AfterOrEqual(uint a, uint b) => (int)(a - b) >= 0;

    /// <summary>between(seq1, seq2, seq3): seq3 - seq2 >= seq1 - seq2.</summary>
    public static bool Between(uint seq1, uint seq2, uint seq3) => seq3 - seq2 >= seq1 - seq2;

    /// <summary>tcp_in_window() — net/ipv4/tcp_minisocks.c: seq at the left edge, or overlapping the window, or a bare segment at its right edge.</summary>
    public static bool InWindow(uint seq, uint endSeq, uint left, uint right) =>
        seq == left || (After(endSeq, left) && Before(seq, right)) || (seq == right && seq == endSeq);
}
