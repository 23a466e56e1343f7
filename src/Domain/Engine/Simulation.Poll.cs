using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Engine;

public sealed partial class Simulation
{
    /// <summary>poll() calls asleep in do_poll(), oldest first.</summary>
    readonly List<PollWait> _polls = [];

    /// <summary>
    /// Models do_sys_poll() → do_poll() — fs/select.c: one pass of tcp_poll(); if a requested event (or
    /// POLLERR/POLLHUP) is set, or the timeout is 0, the call returns at once. Otherwise the process sleeps
    /// in poll_schedule_timeout() until a wakeup of the socket's wait queue (sk_state_change, sk_data_ready,
    /// sk_write_space, sk_error_report) makes the next pass find an event — <see cref="WakePolls"/> runs
    /// that pass after every event (after the whole softirq when one woke it) — or the hrtimer ends the wait and
    /// poll() returns 0.
    /// </summary>
    CallOutcome Poll(TcpSocket sk, int fd, int events, int timeoutMs, PendingCall call)
    {
        var now = sk.PollNow(events);
        if (now.Value != 0 || timeoutMs == 0) return now;
        var wait = new PollWait(this, call, sk, fd, events);
        _polls.Add(wait);
        if (timeoutMs > 0) wait.Arm(Now + PollTimeout(timeoutMs));
        return CallOutcome.Block;
    }

    /// <summary>
    /// When a poll() timeout of <paramref name="timeoutMs"/> ends, counted from the call. The timeout is not
    /// rounded to jiffies: poll_select_set_timeout() makes end_time = ktime_get_ts64() + timeout (ns exact), and
    /// poll_schedule_timeout() sleeps in schedule_hrtimeout_range(end_time, slack, HRTIMER_MODE_ABS) — an
    /// hrtimer, not a timer-wheel timer. The hrtimer may fire anywhere in [end_time, end_time + slack]; with
    /// nothing else due (the simulator's idle CPU) the clock event is programmed for the hard expiry, so the
    /// engine returns at end_time + slack. slack is select_estimate_accuracy(): 0.1 % of the timeout, at most
    /// 100 ms (MAX_SLACK), at least the task's timer_slack_ns (50 µs by default).
    /// </summary>
    public static SimDuration PollTimeout(int timeoutMs)
    {
        long ns = timeoutMs * 1_000_000L;
        long slack = Math.Clamp(ns / 1000, TimerSlackNs, MaxSlackNs);
        return SimDuration.FromNanoseconds(ns + slack);
    }

    /// <summary>current->timer_slack_ns of a normal task (init_task: 50 µs).</summary>
    const long TimerSlackNs = 50_000;
    /// <summary>MAX_SLACK — fs/select.c: 100 ms.</summary>
    const long MaxSlackNs = 100_000_000;

    /// <summary>
    /// Re-runs tcp_poll() for each sleeping poll(): whatever the event just handled did to a socket
    /// (state change, data, freed send space, an error) is what the kernel's wakeup would have signalled,
    /// and the woken poll() returns at the same virtual time with the events it found (pollwake() filters
    /// on the requested events plus POLLERR|POLLHUP, as the mask check here does). pollwake() only makes the task
    /// runnable: woken from a softirq, do_poll()'s next pass runs after it (<see cref="WakeTask"/>), so it reports
    /// what the whole burst did (data and the FIN behind it: EPOLLIN with EPOLLRDHUP; data and a RST: EPOLLERR too).
    /// The wakeup comes from the socket the poll sleeps on (the poll_table_entry's file), but the pass is do_pollfd()'s
    /// on the descriptor (<see cref="PollPass"/>): when another thread closed it meanwhile, POLLNVAL and 1, not the old
    /// socket's events; when socket() took the number since, that socket's events, and with none the task sleeps on.
    /// </summary>
    void WakePolls()
    {
        for (int i = 0; i < _polls.Count; i++)
        {
            var wait = _polls[i];
            if (wait.Woken != WokenTasks.None) continue; // its pass is queued
            var outcome = wait.Socket.PollNow(wait.Events);
            if (outcome.Value == 0 || WakeTask(wait, ref wait.Woken, WokenTasks.Poll)) continue;
            if (wait.Call.Process.At(wait.Fd) != wait.Socket && (outcome = PollPass(wait)).Value == 0) continue;
            _polls.RemoveAt(i--);
            wait.Cancel();
            CompleteCall(wait.Call, 1, null, detail: outcome.Detail);
        }
    }

    /// <summary>The hrtimer ended a poll()'s sleep: it returns 0 and no events.</summary>
    internal void PollTimedOut(PollWait wait)
    {
        if (!_polls.Remove(wait)) return;
        CompleteCall(wait.Call, 0, null, detail: $"\"{PollEvents.Text(0)}\"");
    }

    /// <summary>
    /// A signal wakes a sleeping poll() (the process is being killed). Models do_poll() — fs/select.c: the woken task
    /// scans its pollfd once more before it looks at signal_pending() ("if (!count) { … if (signal_pending(current))
    /// count = -ERESTARTNOHAND; }"), and do_pollfd() fdget()s the descriptor the pollfd names again: one another thread
    /// closed meanwhile has no file (the poll_table_entry's get_file() kept the socket, not the descriptor), so its
    /// revents are POLLNVAL and poll() returns 1; a file now at that number is polled instead (vfs_poll()), and the
    /// socket's own events found by this pass count as well. Returns what the pass found, or null when it found
    /// nothing (the call returns EINTR). Not a call's <see cref="WakePolls"/>: the pass runs whatever woke the task.
    /// </summary>
    CallOutcome? InterruptPoll(PendingCall call)
    {
        int i = _polls.FindIndex(p => p.Call == call);
        if (i < 0) return null;
        var wait = _polls[i];
        wait.Cancel();
        _polls.RemoveAt(i);
        var pass = PollPass(wait);
        return pass.Value != 0 ? pass : null;
    }

    /// <summary>
    /// One pass of do_poll() — fs/select.c — over a sleeping poll()'s pollfd: do_pollfd() fdget()s the number again, so
    /// a descriptor closed meanwhile gives POLLNVAL (<see cref="NoFile"/>) and a file now at it is polled (vfs_poll()).
    /// </summary>
    static CallOutcome PollPass(PollWait wait) =>
        wait.Call.Process.At(wait.Fd) is { } file ? file.PollNow(wait.Events) : NoFile(SocketCallKind.Poll);
}

/// <summary>A poll() asleep on one socket: the requested events and the hrtimer of its timeout (none when infinite).</summary>
internal sealed class PollWait : IEventTarget
{
    readonly Simulation _sim;
    readonly SimTimer _timer;

    public PollWait(Simulation sim, PendingCall call, TcpSocket socket, int fd, int events)
    {
        _sim = sim;
        _timer = new SimTimer(this, 0);
        Call = call;
        Socket = socket;
        Fd = fd;
        Events = events;
    }

    public PendingCall Call { get; }
    public TcpSocket Socket { get; }
    /// <summary>The descriptor the pollfd names (pollfd->fd), which do_pollfd() fdget()s on every pass.</summary>
    public int Fd { get; }
    public int Events { get; }
    /// <summary>Its next do_poll() pass is queued at this instant (<see cref="Simulation.WakeTask"/>).</summary>
    public WokenTasks Woken;

    public void Arm(SimTime expires) => _sim.ScheduleTimer(_timer, expires);

    public void Cancel() => _timer.Cancel();

    /// <summary>The hrtimer ran, or the woken task does: the pass after this item (Simulation.WakePolls) finds its events.</summary>
    void IEventTarget.OnDue(Simulation s, object? payload)
    {
        if (payload is TaskWake) Woken = WokenTasks.None;
        else s.PollTimedOut(this);
    }
}
