namespace SimService.Domain.Engine;

/// <summary>
/// A keyed 64-bit hash standing in for the kernel's siphash with a boot-time secret
/// (secure_tcp_seq, secure_tcp_ts_off, secure_ipv4_port_ephemeral). Deterministic for a seed.
/// </summary>
public static class KeyedHash
{
    public static ulong Of(ulong secret, ulong a, ulong b = 0, ulong c = 0)
    {
        ulong h = Mix(secret ^ 0x9E3779B97F4A7C15UL);
        h = Mix(h ^ a);
        h = Mix(h ^ b);
        return Mix(h ^ c);
    }

    /// <summary>SplitMix64's finaliser.</summary>
    static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
