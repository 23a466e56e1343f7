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
        return Output(old);
    }

    static uint Output(ulong state)
    {
        uint xorShifted = (uint)(((state >> 18) ^ state) >> 27);
        int rot = (int)(state >> 59);
        return (xorShifted >> rot) | (xorShifted << ((-rot) & 31));
    }

    /// <summary>
    /// The <paramref name="n"/> draws that follow, as a <see cref="Draws"/> that gives any one of them in O(log n)
    /// (the LCG's jump-ahead, Brown 1994, pcg-random.org's advance()); the generator moves past them.
    /// </summary>
    public Draws Skip(ulong n)
    {
        var draws = new Draws(_state, _increment);
        _state = Advance(_state, _increment, n);
        return draws;
    }

    /// <summary>The state <paramref name="delta"/> steps after <paramref name="state"/>: state·M^δ + c·(M^δ − 1)/(M − 1), by squaring.</summary>
    static ulong Advance(ulong state, ulong increment, ulong delta)
    {
        ulong accMult = 1, accPlus = 0, curMult = Multiplier, curPlus = increment;
        unchecked
        {
            while (delta > 0)
            {
                if ((delta & 1) != 0)
                {
                    accMult *= curMult;
                    accPlus = accPlus * curMult + curPlus;
                }
                curPlus = (curMult + 1) * curPlus;
                curMult *= curMult;
                delta >>= 1;
            }
            return accMult * state + accPlus;
        }
    }

    /// <summary>A run of draws skipped over: draw i is what the i-th NextUInt32() after the skip's start returned.</summary>
    public readonly struct Draws(ulong start, ulong increment)
    {
        public uint this[ulong i] => Output(Advance(start, increment, i));
    }
}
