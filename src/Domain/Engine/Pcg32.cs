namespace SimService.Domain.Engine;

/// <summary>
/// PCG-XSH-RR 64/32 (O'Neill, pcg-random.org; the generator SimSharp uses). Stable across .NET
/// versions, unlike System.Random, so stored seeds replay forever.
/// </summary>
public sealed class Pcg32 : IRandomSource
{
    const ulong Multiplier = 6364136223846793005UL;
    ulong _state;
    readonly ulong _increment;

    public Pcg32(long seed, long stream = 0x5851f42d)
    {
        _increment = ((ulong)stream << 1) | 1UL;
        _state = 0;
        NextUInt32();
        _state += (ulong)seed;
        NextUInt32();
    }

    public uint NextUInt32()
    {
        ulong old = _state;
        _state = unchecked(old * Multiplier + _increment);
        uint xorShifted = (uint)(((old >> 18) ^ old) >> 27);
        int rot = (int)(old >> 59);
        return (xorShifted >> rot) | (xorShifted << ((-rot) & 31));
    }
}
