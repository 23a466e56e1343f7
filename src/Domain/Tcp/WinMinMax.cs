using System.Runtime.InteropServices;

namespace SimService.Domain.Tcp;

/// <summary>
/// Models struct minmax and minmax_running_min() — include/linux/win_minmax.h, lib/win_minmax.c (Kathleen
/// Nichols' windowed min/max tracker): the best, second-best and third-best samples of the last
/// <c>win</c> time units, each with its time, so the minimum of a window is kept in three words. Times and values
/// are u32 (tcp_jiffies32 and microseconds for tp->rtt_min); time differences wrap as the kernel's do.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct WinMinMax
{
    (uint T, uint V) _s0, _s1, _s2;

    /// <summary>minmax_get(): the best sample's value.</summary>
    public readonly uint Get => _s0.V;

    /// <summary>minmax_reset(): all three choices become (t, meas).</summary>
    public uint Reset(uint t, uint meas)
    {
        _s0 = _s1 = _s2 = (t, meas);
        return meas;
    }

    /// <summary>
    /// minmax_running_min(): a sample at or below the best, or one arriving when even the third choice has left the
    /// window, resets the filter; otherwise it may replace the second/third choice, then minmax_subwin_update() ages them.
    /// </summary>
    public uint RunningMin(uint win, uint t, uint meas)
    {
        (uint T, uint V) val = (t, meas);
        if (val.V <= _s0.V || unchecked(val.T - _s2.T) > win) return Reset(t, meas); // found new min / nothing left in window
        if (val.V <= _s1.V) _s2 = _s1 = val;
        else if (val.V <= _s2.V) _s2 = val;
        return SubwinUpdate(win, val);
    }

    /// <summary>
    /// minmax_subwin_update(): once the best is older than the window the choices shift down (twice if the second
    /// is too); after a quarter of the window with no second choice, or half with no third, the sample takes that place.
    /// </summary>
    uint SubwinUpdate(uint win, (uint T, uint V) val)
    {
        uint dt = unchecked(val.T - _s0.T);
        if (dt > win)
        {
            // "Passed entire window without a new val so make 2nd choice the new val & 3rd choice the new 2nd choice."
            _s0 = _s1;
            _s1 = _s2;
            _s2 = val;
            if (unchecked(val.T - _s0.T) > win)
            {
                _s0 = _s1;
                _s1 = _s2;
                _s2 = val;
            }
        }
        else if (_s1.T == _s0.T && dt > win / 4)
        {
            // "We've passed a quarter of the window without a new val so take a 2nd choice from the 2nd quarter."
            _s2 = _s1 = val;
        }
        else if (_s2.T == _s1.T && dt > win / 2)
        {
            // "We've passed half the window without finding a new val so take a 3rd choice from the last half."
            _s2 = val;
        }
        return _s0.V;
    }
}
