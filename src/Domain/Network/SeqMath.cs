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
}
