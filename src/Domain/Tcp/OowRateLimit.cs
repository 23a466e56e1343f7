using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// One last_oow_ack_time (tp->last_oow_ack_time, tcptw->tw_last_oow_ack_time, tcp_rsk(req)->last_oow_ack_time)
/// with __tcp_oow_rate_limited() — net/ipv4/tcp_input.c: the low 32 bits of jiffies when the last
/// out-of-window answer went out, 0 for none yet; another is skipped while 0 ≤ now − last &lt;
/// tcp_invalid_ratelimit, both in jiffies, and the skip counts the caller's MIB.
/// </summary>
internal struct OowRateLimit
{
    uint _last;

    /// <summary>__tcp_oow_rate_limited(): true, with <paramref name="skipped"/> counted, when this answer must not go out.</summary>
    public bool Limited(Host host, SimTime now, MibCounter skipped)
    {
        uint jiffies = (uint)Jiffies.Absolute(now);
        if (_last != 0)
        {
            int elapsed = (int)(jiffies - _last);
            if (elapsed >= 0 && elapsed < Jiffies.FromDuration(SimDuration.FromMilliseconds(host.Sysctls.TcpInvalidRatelimitMs)))
            {
                host.Count(skipped);
                return true;
            }
        }
        _last = jiffies;
        return false;
    }

    /// <summary>tcp_oow_rate_limited(): only a segment without data, or a SYN, is limited ("not likely part of an ACK loop" otherwise).</summary>
    public bool Limited(Host host, SimTime now, Segment seg, MibCounter skipped) =>
        (seg.Seq == seg.EndSeq || seg.Has(TcpFlags.Syn)) && Limited(host, now, skipped);
}
