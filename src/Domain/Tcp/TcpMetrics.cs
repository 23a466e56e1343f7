using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// Models the RTT part of the tcp_metrics cache — net/ipv4/tcp_metrics.c (6.18) — one per host (net namespace),
/// keyed as tcp_get_metrics() keys it, by (saddr, daddr). <see cref="Update"/> is tcp_update_metrics(), run when a
/// connection ends well (tcp_time_wait(), LAST-ACK → CLOSE); <see cref="InitialRto"/> is tcp_init_metrics()'s use
/// of the cached RTT for the first RTO of the next connection between the same addresses. The stored RTT is in
/// srtt_us units (µs · 8). Not modelled: RTTVAR (stored by the kernel but unused by tcp_init_metrics()), the cwnd,
/// ssthresh (tcp_no_ssthresh_metrics_save = 1 by default) and reordering values, route (dst) metrics and locks, the
/// hash's reclaim of the oldest entry of a bucket deeper than 5.
/// </summary>
public sealed class TcpMetrics
{
    /// <summary>TCP_METRICS_TIMEOUT: 60 · 60 · HZ — an entry not updated for an hour is reset (tcpm_check_stamp()).</summary>
    const long TimeoutJiffies = 60 * 60 * Jiffies.Hz;

    sealed class Block
    {
        public long RttUs8;
        public long StampJiffies;
    }

    readonly Dictionary<(IPv4 Saddr, IPv4 Daddr), Block> _blocks = [];

    /// <summary>
    /// Models tcp_get_metrics() + tcpm_check_stamp(): the entry for the address pair; one older than
    /// TCP_METRICS_TIMEOUT is re-read from the route (tcpm_suck_dst(): no route metrics, so 0) and restamped;
    /// with <paramref name="create"/> a missing one is made (tcpm_new()).
    /// </summary>
    Block? Get(IPv4 saddr, IPv4 daddr, SimTime now, bool create)
    {
        long jiffies = Jiffies.At(now);
        if (_blocks.TryGetValue((saddr, daddr), out var tm))
        {
            if (jiffies > tm.StampJiffies + TimeoutJiffies) (tm.RttUs8, tm.StampJiffies) = (0, jiffies);
            return tm;
        }
        if (!create) return null;
        tm = new Block { StampJiffies = jiffies };
        _blocks[(saddr, daddr)] = tm;
        return tm;
    }

    /// <summary>
    /// Models tcp_update_metrics(): a session that backed off or never measured an RTT clears the cached RTT (an
    /// existing entry only); otherwise a larger srtt replaces it and a smaller one is averaged in
    /// (rtt −= (rtt − srtt) &gt;&gt; 3), and the entry is restamped.
    /// </summary>
    internal void Update(IPv4 saddr, IPv4 daddr, SimTime now, int backoff, long srttUs8)
    {
        if (backoff != 0 || srttUs8 == 0)
        {
            // "This session failed to estimate rtt. Why? Probably, no packets returned in time. Reset our results."
            if (Get(saddr, daddr, now, create: false) is { } failed) failed.RttUs8 = 0;
            return;
        }
        var tm = Get(saddr, daddr, now, create: true)!;
        long m = tm.RttUs8 - srttUs8;
        // "If newly calculated rtt larger than stored one, store new one. Otherwise, use EWMA."
        tm.RttUs8 = m <= 0 ? srttUs8 : tm.RttUs8 - (m >> 3);
        tm.StampJiffies = Jiffies.At(now);
    }

    /// <summary>
    /// Models tcp_peer_is_proven() (6.18): __tcp_get_metrics_req() — the entry for (ir_loc_addr, ir_rmt_addr), reset by
    /// tcpm_check_stamp() when older than TCP_METRICS_TIMEOUT — holds an RTT. linux-4.4's cache is not modelled
    /// (<see cref="Update"/> is 6.18's only), so there no peer is proven.
    /// </summary>
    internal bool PeerIsProven(IPv4 saddr, IPv4 daddr, SimTime now) => Get(saddr, daddr, now, create: false) is { RttUs8: not 0 };

    /// <summary>
    /// Models the end of tcp_init_metrics(): a cached RTT above the handshake's srtt seeds the first RTO as
    /// tcp_rtt_estimator() would — crtt in jiffies (µs · 8 / (8 · USEC_PER_SEC / HZ), truncated) + max(2 · crtt,
    /// rto_min) — leaving srtt itself alone; without either, TCP_TIMEOUT_FALLBACK (RFC 6298 5.7); else null (the
    /// RTO tcp_set_rto() gave stays).
    /// </summary>
    internal SimDuration? InitialRto(IPv4 saddr, IPv4 daddr, SimTime now, long srttUs8, long rtoMinUs)
    {
        long crtt = Get(saddr, daddr, now, create: true)!.RttUs8;
        if (crtt > srttUs8)
        {
            long crttJiffies = crtt / (8 * 1_000_000 / Jiffies.Hz);
            long rtoMin = Jiffies.FromDuration(SimDuration.FromMicroseconds(rtoMinUs));
            return Jiffies.ToDuration(crttJiffies + Math.Max(2 * crttJiffies, rtoMin));
        }
        return srttUs8 == 0 ? TcpConstants.TimeoutFallback : null;
    }
}
