namespace SimService.Domain.Engine;

/// <summary>The engine's only source of randomness; seeded, so a run is a pure function of its inputs.</summary>
public interface IRandomSource
{
    uint NextUInt32();

    /// <summary>A double in [0, 1) with 32 bits of randomness.</summary>
    double NextDouble() => NextUInt32() / 4294967296.0;

    /// <summary>A value in [0, bound) without modulo bias (Lemire's method).</summary>
    uint NextBelow(uint bound)
    {
        if (bound == 0) return 0;
        ulong m = (ulong)NextUInt32() * bound;
        uint low = (uint)m;
        if (low < bound)
        {
            uint threshold = (uint)(-bound % bound);
            while (low < threshold)
            {
                m = (ulong)NextUInt32() * bound;
                low = (uint)m;
            }
        }
        return (uint)(m >> 32);
    }
}
