using SimService.Domain.Engine;

namespace SimService.Domain.Network;

/// <summary>
/// Models struct ratelimit_state and ___ratelimit() — lib/ratelimit.c — for the one state every net_*_ratelimited()
/// message shares, net_ratelimit_state (net/core/utils.c: DEFINE_RATELIMIT_STATE(net_ratelimit_state, 5 * HZ, 10),
/// tuned by net.core.message_cost in seconds and net.core.message_burst). The first call opens a window at the current
/// jiffy; at most <c>burst</c> messages pass in it; the first call once jiffies is past begin + interval opens a new
/// window and first reports the messages the old one refused ("net_ratelimit: N callbacks suppressed").
/// A zero interval never limits; otherwise a burst of zero or less always does.
/// </summary>
internal sealed class RatelimitState
{
    bool _initialized;
    long _begin;
    int _left;
    int _missed;

    /// <summary>
    /// Whether a message may be printed at <paramref name="jiffies"/> (absolute). <paramref name="suppressed"/> is the
    /// count of refused messages to report first, 0 when none.
    /// </summary>
    public bool Allow(long jiffies, long interval, long burst, out int suppressed)
    {
        suppressed = 0;
        if (interval <= 0 || burst <= 0)
        {
            _initialized = false; // "Force re-initialization once re-enabled."
            bool ret = interval == 0 || burst > 0;
            if (!ret) _missed++; // nolock_ret: ratelimit_state_inc_miss()
            return ret;
        }
        if (!_initialized) (_initialized, _begin, _left) = (true, jiffies, (int)burst);
        if (jiffies > _begin + interval) // time_is_before_jiffies(rs->begin + interval)
        {
            (_left, _begin) = ((int)burst, jiffies);
            (suppressed, _missed) = (_missed, 0); // ratelimit_state_reset_miss()
        }
        if (--_left >= 0) return true;
        _missed++;
        return false;
    }
}
