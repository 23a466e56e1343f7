using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// SYN cookies — net/ipv4/syncookies.c and include/net/tcp.h: the ISN that encodes the peer's MSS and the
/// minute it was issued (secure_tcp_syn_cookie()), the SYN-ACK TSval that encodes the peer's options
/// (cookie_init_timestamp()), and the checks of the ACK that returns it (__cookie_v4_check(),
/// cookie_timestamp_decode()). The ISN is built as the kernel builds it — hash + peer ISN + minute counter
/// &lt;&lt; 24 + (hash(minute) + MSS index) mod 2^24 — from the simulation's keyed hash; whether a returned ISN
/// is valid is decided by <see cref="SynCookieJar"/>, the cookies the host issued, not by undoing the hash.
/// </summary>
public static class SynCookies
{
    /// <summary>msstab[] — net/ipv4/syncookies.c: the MSS values a cookie can carry (2 bits).</summary>
    public static readonly IReadOnlyList<int> MssTab = [536, 1300, 1440, 1460];

    /// <summary>COOKIEBITS: the low 24 bits carry hash + MSS index, the top 8 the minute counter.</summary>
    const int CookieBits = 24;
    const uint CookieMask = (1u << CookieBits) - 1;
    /// <summary>MAX_SYNCOOKIE_AGE: a cookie is good in the minute it was issued and the next.</summary>
    public const int MaxSyncookieAge = 2;
    /// <summary>TCP_SYNCOOKIE_PERIOD (60 * HZ jiffies): the minute counter's period.</summary>
    public const long SyncookiePeriodJiffies = 60L * Jiffies.Hz;
    /// <summary>TCP_SYNCOOKIE_VALID: MAX_SYNCOOKIE_AGE * TCP_SYNCOOKIE_PERIOD.</summary>
    public const uint SyncookieValidJiffies = (uint)(MaxSyncookieAge * SyncookiePeriodJiffies);

    /// <summary>TSBITS: option bits in the low end of a cookie's TSval.</summary>
    const int TsBits = 6;
    const uint TsOptWscaleMask = 0xf;
    const uint TsOptSack = 1u << 4;
    const uint TsOptEcn = 1u << 5;

    /// <summary>tcp_cookie_time(): get_jiffies_64() / TCP_SYNCOOKIE_PERIOD.</summary>
    public static long CookieTime(SimTime now) => Jiffies.Absolute(now) / SyncookiePeriodJiffies;

    /// <summary>The msstab index __cookie_v4_init_sequence() picks: the largest entry not above the peer's MSS (0 below 536).</summary>
    public static int MssIndex(int mss)
    {
        int i = MssTab.Count - 1;
        while (i > 0 && mss < MssTab[i]) i--;
        return i;
    }

    /// <summary>
    /// Models secure_tcp_syn_cookie(): hash(4-tuple) + the peer's ISN + (count &lt;&lt; COOKIEBITS) +
    /// ((hash(4-tuple, count) + mssind) &amp; COOKIEMASK). <paramref name="tuple"/> is the listener's side (local = us).
    /// </summary>
    public static uint Isn(Simulation sim, FourTuple tuple, uint peerIsn, long count, int mssIndex)
    {
        // syncookie_secret: its own key, derived from the ISN secret so that no random draw is added.
        ulong secret = sim.IsnSecret ^ 0x5359_4E43_4F4F_4B49UL;
        ulong addrs = ((ulong)tuple.Remote.Address.Value << 32) | tuple.Local.Address.Value;
        ulong ports = ((ulong)tuple.Remote.Port << 16) | tuple.Local.Port;
        uint h0 = unchecked((uint)KeyedHash.Of(secret, addrs, ports, 0));
        uint h1 = unchecked((uint)KeyedHash.Of(secret, addrs, ports, 1 + (ulong)count));
        return unchecked(h0 + peerIsn + ((uint)count << CookieBits) + ((h1 + (uint)mssIndex) & CookieMask));
    }

    /// <summary>
    /// Models cookie_init_timestamp(): the clock with its low TSBITS replaced by the peer's options (window
    /// scale, or 0xf for none; SACK; ECN), stepped back 64 units if that put it ahead of the clock.
    /// <paramref name="tsNow"/> is tcp_ns_to_ts() of now (ms on linux-6; jiffies on 4.4), without ts_off.
    /// </summary>
    public static uint InitTimestamp(uint tsNow, bool wscaleOk, int sndWscale, bool sackOk, bool ecnOk = false)
    {
        uint options = wscaleOk ? (uint)sndWscale : TsOptWscaleMask;
        if (sackOk) options |= TsOptSack;
        if (ecnOk) options |= TsOptEcn;
        uint ts = (tsNow >> TsBits) << TsBits | options;
        if (ts > tsNow) ts = unchecked(ts - (1u << TsBits));
        return ts;
    }

    /// <summary>What cookie_timestamp_decode() recovers from an echoed TSval (TSecr less ts_off).</summary>
    /// <param name="EcnOk">The ECN bit cookie_init_timestamp() put in the TSval (cookie_ecn_ok() reads it from rcv_tsecr).</param>
    public readonly record struct DecodedOptions(bool SackOk, bool WscaleOk, int SndWscale, bool EcnOk = false);

    /// <summary>
    /// Models cookie_timestamp_decode(): no timestamp → no options (true); timestamps off → false; SACK bit with
    /// tcp_sack off → false; wscale 0xf → no scaling; otherwise scaling, refused (false) when tcp_window_scaling is 0.
    /// </summary>
    public static bool TimestampDecode(SysctlTable sysctls, bool sawTstamp, uint tsecr, out DecodedOptions decoded)
    {
        decoded = default;
        if (!sawTstamp) return true;
        if (!sysctls.TcpTimestamps) return false;
        bool sack = (tsecr & TsOptSack) != 0;
        if (sack && !sysctls.TcpSack) return false;
        if ((tsecr & TsOptWscaleMask) == TsOptWscaleMask)
        {
            decoded = new DecodedOptions(sack, false, 0, (tsecr & TsOptEcn) != 0);
            return true;
        }
        decoded = new DecodedOptions(sack, true, (int)(tsecr & TsOptWscaleMask), (tsecr & TsOptEcn) != 0);
        return sysctls.Get("net.ipv4.tcp_window_scaling") != 0;
    }

    /// <summary>time_between32(t, l, h) — include/net/tcp.h: l ≤ t ≤ h in u32 jiffies arithmetic.</summary>
    static bool TimeBetween32(uint t, uint l, uint h) => unchecked(t - l) <= unchecked(h - l);

    /// <summary>
    /// Models tcp_synq_overflow(): stamps the listener's rx_opt.ts_recent_stamp with jiffies, unless the stamp
    /// is at most one second old.
    /// </summary>
    internal static void SynqOverflow(ref uint stamp, SimTime now)
    {
        uint j = unchecked((uint)Jiffies.Absolute(now));
        if (!TimeBetween32(j, stamp, unchecked(stamp + Jiffies.Hz))) stamp = j;
    }

    /// <summary>
    /// Models tcp_synq_no_recent_overflow(): jiffies outside [stamp − HZ, stamp + TCP_SYNCOOKIE_VALID]. The stamp
    /// starts at 0 and jiffies start 5 minutes before the u32 wrap, so from 299 s to 420 s of uptime a listener
    /// that never overflowed still counts as "recently overflowed", as the kernel's does.
    /// </summary>
    internal static bool NoRecentOverflow(uint stamp, SimTime now)
    {
        uint j = unchecked((uint)Jiffies.Absolute(now));
        return !TimeBetween32(j, unchecked(stamp - Jiffies.Hz), unchecked(stamp + SyncookieValidJiffies));
    }
}

/// <summary>
/// The SYN cookies a host issued, keyed by connection (the listener's side first) and cookie ISN, each with the
/// peer's ISN, the MSS index and the minute counter it was issued in. __cookie_v4_check() accepts an ACK whose
/// ack − 1 is one of them for its 4-tuple, whose seq − 1 is that peer ISN, within MAX_SYNCOOKIE_AGE minutes.
/// The kernel keeps no such table (it re-derives the hash); this one stands in for the hash, so a forged ACK
/// never validates by chance. Entries older than the age limit are pruned as the table grows.
/// </summary>
public sealed class SynCookieJar
{
    readonly record struct Issued(uint PeerIsn, int MssIndex, long Count);

    readonly Dictionary<(FourTuple Tuple, uint Isn), Issued> _issued = [];
    int _pruneAt = 1024;

    internal void Remember(FourTuple tuple, uint isn, uint peerIsn, int mssIndex, long count)
    {
        _issued[(tuple, isn)] = new Issued(peerIsn, mssIndex, count);
        if (_issued.Count < _pruneAt) return;
        var stale = _issued.Where(e => count - e.Value.Count >= SynCookies.MaxSyncookieAge).Select(e => e.Key).ToList();
        foreach (var k in stale) _issued.Remove(k);
        _pruneAt = Math.Max(1024, _issued.Count * 2);
    }

    /// <summary>
    /// Models __cookie_v4_check() → check_tcp_syn_cookie(): the MSS the cookie carries, or 0 when the ACK does not
    /// return a cookie issued for this 4-tuple and peer ISN in this minute or the one before.
    /// </summary>
    internal int Check(FourTuple tuple, uint cookie, uint peerIsn, long countNow)
    {
        if (!_issued.TryGetValue((tuple, cookie), out var c) || c.PeerIsn != peerIsn) return 0;
        long diff = countNow - c.Count;
        return diff < SynCookies.MaxSyncookieAge ? SynCookies.MssTab[c.MssIndex] : 0;
    }

    public int Count => _issued.Count;
}
