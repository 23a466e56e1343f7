using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Packetdrill;

public sealed partial class PacketdrillRunner
{
    /// <summary>A call still blocked in the background (packetdrill's syscall thread).</summary>
    sealed record BlockedCall(SyscallEvent Event, long CallId, SimTime Start, SimTime ExpectedEnd);

    readonly Dictionary<long, int> _fds = [];
    /// <summary>The engine's descriptor number of each script descriptor made by dup() (the others are the socket's own).</summary>
    readonly Dictionary<long, int> _dupFds = [];
    BlockedCall? _blocked;
    int _callCursor;
    int _socketUnderTest;

    /// <summary>
    /// Models run_system_call.c: waits for a call still blocked in the background, then at its time
    /// makes the call on the host under test and checks its result and errno; a call written as
    /// blocking (<c>start...end</c>) returns in the background while later events run, and must
    /// return at its end time; one written as non-blocking must return at once.
    /// </summary>
    bool Syscall(SyscallEvent s)
    {
        FinishPendingCall();
        if (_failure is not null) return false;
        var start = StartOf(s.Time);
        var expectedEnd = s.EndUs is { } endUs
            ? (s.Time.IsRelative ? _anchor + SimDuration.FromMicroseconds(endUs) : new SimTime(endUs * 1_000))
            : start;
        RunTo(start);
        if (_failure is not null || !StartsOnTime(s, start, "system call start")) return false;
        _anchor = start;
        if (s.Name == "ioctl") return Ioctl(s);
        if (s.Name == "fcntl" && s.Arguments[1] is WordExpr { Word: "F_GETFL" }) return GetFileFlags(s);
        if (s.Name == "poll" && s.Arguments[0] is ListExpr { Items.Length: > 1 } several) return PollSeveral(s, several);
        var request = SyscallMapping.ToRequest(s, _fds, out var fd);
        if (request is not null && s.Name == "close" && fd is { } closing && _dupFds.TryGetValue(closing, out var engineFd)) request = request with { Fd = engineFd };
        if (fd is { } known && _fds.TryGetValue(known, out var socketId)) _socketUnderTest = socketId;
        // do_pollfd() — fs/select.c: a descriptor with no file is reported, not failed: POLLNVAL, counted.
        if (request is null && s.Name == "poll")
            return CheckResult(s, 1, null, 0, value: $"\"{PollEvents.Text(PollEvents.POLLNVAL)}\"");
        if (request is null)
            return CheckResult(s, -1, Errno.EBADF, 0);
        // vfs_write() / vfs_read() — fs/read_write.c: access_ok(buf, count) refuses a count past the address space (a
        // negative one, as the size_t it is) once the descriptor is known to be open for it: EFAULT, nothing done.
        if (s.Name is "write" or "read" && s.Arguments[2] is IntExpr { Value: < 0 })
            return fd is { } named && OpenSocketAt(named) is { } open ? CheckResult(s, -1, Errno.EFAULT, open) : CheckResult(s, -1, Errno.EBADF, 0);
        var outcome = Apply(new SocketCallCommand(request));
        if (outcome.Error is { } error) return CheckResult(s, -1, Errno.EBADF, 0, error.Message);
        var handle = outcome.Call!.Value;
        if (!handle.Blocked)
        {
            if (!CheckResult(s, handle.Result, handle.Errno, handle.SocketId, value: handle.Value)) return false;
            if (handle.Errno is null) Descriptors(s, fd, handle.Result);
            return s.EndUs is null || CheckReturnTime(s, expectedEnd, _sim.Now);
        }
        _blocked = new BlockedCall(s, handle.CallId, start, expectedEnd);
        if (s.EndUs is not null) return true;
        // Written as non-blocking but it blocked: packetdrill waits for it; it must return within the tolerance.
        FinishPendingCall();
        return _failure is null;
    }

    /// <summary>Waits (in virtual time) for the blocked call to return, then checks it.</summary>
    void FinishPendingCall()
    {
        FinishPollWait();
        if (_blocked is not { } b) return;
        if (!RunUntil(() => _blocked is null, b.ExpectedEnd + WaitHorizon) && _blocked is not null && _failure is null)
        {
            Fail(b.Event, $"runtime error in {b.Event.Name} call: ", "system call did not return (still blocked in the simulated kernel)",
                $"return at {Secs(b.ExpectedEnd)} sec", "still blocked");
        }
    }

    /// <summary>Looks through the journal for the blocked call's return.</summary>
    void CheckPendingCall()
    {
        var journal = _sim.Journal;
        for (; _callCursor < journal.Count; _callCursor++)
        {
            if (_blocked is not { } b || journal[_callCursor] is not CallReturned r || r.CallId != b.CallId) continue;
            _blocked = null;
            if (!CheckReturnTime(b.Event, b.ExpectedEnd, r.At)) return;
            CheckResult(b.Event, r.Result, r.Errno, r.SocketId, value: r.Value);
        }
    }

    bool CheckReturnTime(SyscallEvent s, SimTime expected, SimTime actual)
    {
        var error = VerifyTime(new EventTime(EventTimeKind.Absolute, 0), expected, expected, actual, "system call return");
        return error is null || Fail(s, "", error, $"return at {Secs(expected)} sec", $"returned at {Secs(actual)} sec");
    }

    /// <summary>
    /// Models syscall result checking in run_system_call.c: socket() and accept() only need a
    /// non-negative descriptor (CHECK_FD), which then stands for the script's number; other calls the
    /// exact value, then the errno; poll() then its revents. A socket() or accept4() asking for
    /// SOCK_NONBLOCK gets O_NONBLOCK on its new file (sock_alloc_file()/accept4's flags), logged as the
    /// engine's fcntl call on it.
    /// </summary>
    /// <param name="value">What the call wrote besides its result (poll's revents, as the engine's JSON string).</param>
    bool CheckResult(SyscallEvent s, long actual, string? actualErrno, int socketId, string? note = null, string? value = null)
    {
        long? expected = s.Result is IntExpr i ? i.Value : null;
        // getsockopt() returns 0 and the value through optval; the engine's call returns the value.
        long optval = actual;
        if (s.Name == "getsockopt" && actualErrno is null) actual = 0;
        string prefix = $"runtime error in {s.Name} call: ";
        var (errnoNumber, errnoText) = ErrnoTable.Describe(actualErrno);
        bool fdCall = s.Name is "socket" or "accept" or "accept4" or "dup";
        if (_recorder is not null) return RecordCall(s, actual, actualErrno, socketId, fdCall ? null : s.Name == "getsockopt" && actualErrno is null ? GetsockoptValue(s, socketId, optval, value) : value);
        if (fdCall && expected is >= 0)
        {
            if (actual < 0)
                return Fail(s, prefix, $"Expected non-negative result but got {actual} with errno {errnoNumber} ({errnoText})", $"{expected}", $"{actual} {actualErrno}");
            _fds[expected.Value] = socketId;
            _socketUnderTest = socketId;
            if (SyscallMapping.AsksNonBlock(s))
                Apply(new SocketCallCommand(new SocketCallRequest(PacketdrillRunner.LocalHost, PacketdrillRunner.Process, SocketCallKind.Fcntl) { SocketId = socketId, NonBlock = true }));
        }
        else if (expected is { } e && e != actual)
        {
            return Fail(s, prefix, $"Expected result {e} but got {actual} with errno {errnoNumber} ({errnoText})" + (note is null ? "" : $" [{note}]"),
                $"{e}{(s.Errno is null ? "" : " " + s.Errno)}", actualErrno is null ? $"{actual}" : $"{actual} {actualErrno}");
        }
        if (s.Errno is { } want && want != (actualErrno ?? ""))
        {
            var (wantNumber, wantText) = ErrnoTable.Describe(want);
            return Fail(s, prefix, $"Expected errno {wantNumber} ({wantText}) but got {errnoNumber} ({errnoText})",
                $"{s.Result} {want}", actualErrno is null ? $"{actual}" : $"{actual} {actualErrno}");
        }
        _log.Add($"{Secs(_sim.Now)} line {s.At.Line}: {s.Name}({string.Join(", ", s.Arguments)}) = {actual}{(actualErrno is null ? "" : " " + actualErrno)}");
        // A failed getsockopt() wrote nothing into optval (sk_getsockopt()'s copy_to_sockptr() comes last): nothing to compare.
        if (s.Name == "getsockopt") return actualErrno is not null || CheckGetsockopt(s, socketId, optval, value);
        if (s.Name == "poll") return CheckRevents(s, value);
        return true;
    }

    /// <summary>Record mode: the call's result written down; a socket() or accept() that gave a descriptor stands for the script's number as when checked.</summary>
    bool RecordCall(SyscallEvent s, long actual, string? actualErrno, int socketId, string? value)
    {
        bool fdCall = s.Name is "socket" or "accept" or "accept4" or "dup";
        // A descriptor the call made is written as the script's number (the engine's is its own).
        _recorder!.Call(_sim.Now.Ns, s, fdCall && s.Result is IntExpr { Value: >= 0 } written && actual >= 0 ? written.Value : actual, actualErrno, value);
        if (fdCall && s.Result is IntExpr { Value: >= 0 and var number } && actual >= 0)
        {
            _fds[number] = socketId;
            _socketUnderTest = socketId;
            if (SyscallMapping.AsksNonBlock(s))
                Apply(new SocketCallCommand(new SocketCallRequest(PacketdrillRunner.LocalHost, PacketdrillRunner.Process, SocketCallKind.Fcntl) { SocketId = socketId, NonBlock = true }));
        }
        return true;
    }

    /// <summary>Record mode: what getsockopt() wrote back, as the check below words the actual value (an int option's number, SO_LINGER's struct).</summary>
    string? GetsockoptValue(SyscallEvent s, int socketId, long optval, string? detail)
    {
        if (s.Arguments.Length < 4 || SyscallMapping.OptionOf(s.Arguments[2]) is not { } option) return null;
        if (option == SocketOption.SO_LINGER && _sim.FindSocket(socketId) is { } sk) return $"{{onoff={(sk.LingerOn ? 1 : 0)}, linger={sk.LingerSec}}}";
        return option is SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO or SocketOption.TCP_CONGESTION ? detail
            : optval.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>poll()'s pollfd.revents as the script wrote it (packetdrill compares every field of the struct).</summary>
    bool CheckRevents(SyscallEvent s, string? value)
    {
        if (s.Arguments[0] is not ListExpr { Items: [var item] } || SyscallMapping.PollFd(item) is not { Revents: { } want }) return true;
        int got = 0;
        foreach (var name in (value ?? "").Trim('"').Split('|'))
            got |= PollEvents.Of(name);
        return want == got || Fail(s, $"runtime error in {s.Name} call: ", $"Bad poll revents: expected: {PollEvents.Text(want)} actual: {PollEvents.Text(got)}",
            PollEvents.Text(want), PollEvents.Text(got));
    }

    /// <summary>
    /// poll() on several descriptors with timeout 0 — do_poll() → do_pollfd() in fs/select.c: one pass over the
    /// pollfds in order, each socket's tcp_poll() masked by its events plus POLLERR|POLLHUP (the engine's poll call
    /// on that socket, timeout 0, so the pass is logged and replays); a negative fd is skipped (revents 0), one that
    /// is not open reports POLLNVAL. The result is how many pollfds have revents; then each revents is checked.
    /// </summary>
    /// <remarks>
    /// With a timeout and nothing ready, the process sleeps in poll_schedule_timeout() — in the background, as packetdrill
    /// runs a blocking call — until an event makes one of the descriptors ready (any wakeup of their wait queues re-runs
    /// the pass) or the hrtimer ends the sleep at end_time + slack (<see cref="Engine.Simulation.PollTimeout"/>; a
    /// negative timeout never ends it); then one more pass, whose count and revents are the result.
    /// </remarks>
    bool PollSeveral(SyscallEvent s, ListExpr list)
    {
        var (ready, got) = PollPass(list);
        long timeoutMs = unchecked((int)(SyscallMapping.IntValue(s.Arguments[2]) ?? 0)); // poll()'s int timeout
        if (ready == 0 && timeoutMs != 0)
        {
            var start = _sim.Now;
            var expectedEnd = s.EndUs is { } endUs
                ? (s.Time.IsRelative ? _anchor + SimDuration.FromMicroseconds(endUs) : new SimTime(endUs * 1_000))
                : start;
            var deadline = timeoutMs < 0 ? SimTime.MaxValue : start + Engine.Simulation.PollTimeout((int)timeoutMs);
            _pollWait = new PollSleep(s, list, expectedEnd, deadline);
            if (s.EndUs is not null) return true;
            FinishPollWait(); // written as non-blocking: packetdrill waits for it, and it must return within the tolerance
            return _failure is null;
        }
        return CheckPoll(s, list, ready, got);
    }

    /// <summary>A poll() on several descriptors asleep in do_poll(): its pollfds, when the script expects it back, and its hrtimer.</summary>
    sealed record PollSleep(SyscallEvent Event, ListExpr List, SimTime ExpectedEnd, SimTime Deadline);

    PollSleep? _pollWait;

    /// <summary>
    /// After each due time of a sleeping poll(): tcp_poll() of each descriptor, read without a call (the wakeup's pass
    /// runs in the kernel); once one is ready or the timeout came, the final pass is made as logged calls and checked
    /// with the return time.
    /// </summary>
    void CheckPollWait()
    {
        if (_pollWait is not { } w) return;
        bool anyReady = false;
        foreach (var item in w.List.Items)
        {
            var (fd, events, _) = SyscallMapping.PollFd(item)!.Value;
            if (fd < 0) continue;
            if (!_fds.TryGetValue(fd, out var socketId) || _sim.FindSocket(socketId) is not { } sk
                || (sk.PollMask() & (events | PollEvents.POLLERR | PollEvents.POLLHUP)) != 0)
            {
                anyReady = true;
                break;
            }
        }
        if (!anyReady && _sim.Now < w.Deadline) return;
        _pollWait = null;
        var (ready, got) = PollPass(w.List);
        if (!CheckReturnTime(w.Event, w.ExpectedEnd, _sim.Now)) return;
        CheckPoll(w.Event, w.List, ready, got);
    }

    /// <summary>Runs the engine until a sleeping poll() on several descriptors returns (or an hour past its expected return).</summary>
    void FinishPollWait()
    {
        if (_pollWait is not { } w) return;
        var horizon = w.ExpectedEnd + WaitHorizon;
        while (_pollWait is not null && _failure is null)
        {
            var step = w.Deadline;
            if (_sim.NextEventTime is { } next && next < step) step = next;
            if (step > horizon || _eventsProcessed >= _options.EventBudget)
            {
                _pollWait = null;
                Fail(w.Event, $"runtime error in {w.Event.Name} call: ", "system call did not return (still blocked in the simulated kernel)",
                    $"return at {Secs(w.ExpectedEnd)} sec", "still blocked");
                return;
            }
            RunTo(step);
        }
    }

    /// <summary>One pass of do_poll() over the pollfds: how many have revents, and each one's.</summary>
    (int Ready, List<int> Got) PollPass(ListExpr list)
    {
        int ready = 0;
        var got = new List<int>();
        foreach (var item in list.Items)
        {
            var (fd, events, _) = SyscallMapping.PollFd(item)!.Value;
            int revents = fd < 0 ? 0 : _fds.TryGetValue(fd, out var socketId) ? PollOne(socketId, events) : PollEvents.POLLNVAL;
            if (revents != 0) ready++;
            got.Add(revents);
        }
        return (ready, got);
    }

    /// <summary>The pass's count as poll()'s result, then each pollfd's revents as the script wrote it.</summary>
    bool CheckPoll(SyscallEvent s, ListExpr list, int ready, List<int> got)
    {
        if (!CheckResult(s, ready, null, 0)) return false;
        for (int i = 0; i < list.Items.Length; i++)
        {
            if (SyscallMapping.PollFd(list.Items[i]) is not { Revents: { } want } || want == got[i]) continue;
            return Fail(s, $"runtime error in {s.Name} call: ", $"Bad poll revents for fd {SyscallMapping.PollFd(list.Items[i])!.Value.Fd}: expected: {PollEvents.Text(want)} actual: {PollEvents.Text(got[i])}",
                PollEvents.Text(want), PollEvents.Text(got[i]));
        }
        return true;
    }

    /// <summary>One pollfd's revents: the engine's poll call on the socket with timeout 0 (POLLNVAL if it has no socket).</summary>
    int PollOne(int socketId, int events)
    {
        var outcome = Apply(new SocketCallCommand(new SocketCallRequest(LocalHost, Process, SocketCallKind.Poll) { SocketId = socketId, Events = events }));
        if (outcome.Error is not null) return PollEvents.POLLNVAL;
        int revents = 0;
        foreach (var name in (outcome.Call!.Value.Value ?? "").Trim('"').Split('|'))
            revents |= PollEvents.Of(name);
        return revents;
    }

    /// <summary>
    /// fcntl(fd, F_GETFL) — do_fcntl() → f_flags: a socket's file is O_RDWR (sock_alloc_file()), plus
    /// O_NONBLOCK once set. A read of state: it changes nothing, so it is not a logged command.
    /// </summary>
    bool GetFileFlags(SyscallEvent s)
    {
        var fd = SyscallMapping.IntValue(s.Arguments[0]);
        if (fd is not { } f || !_fds.TryGetValue(f, out var socketId) || _sim.FindSocket(socketId) is not { } sk || sk.Destroyed && sk.Owner is null)
            return CheckResult(s, -1, Errno.EBADF, 0);
        _socketUnderTest = socketId;
        return CheckResult(s, SyscallMapping.ORdwr | (sk.NonBlocking ? SyscallMapping.ONonblock : 0), null, socketId);
    }

    /// <summary>
    /// The socket the script's descriptor <paramref name="fd"/> still names in the engine's fd table (fdget()), or null
    /// once it was closed: the script's number stays mapped to its socket after its last close, the table does not.
    /// </summary>
    int? OpenSocketAt(long fd) =>
        _fds.TryGetValue(fd, out var socketId) && _sim.FindSocket(socketId) is { } sk
        && _sim.FindHost(LocalHost)?.FindProcess(Process)?.At(_dupFds.TryGetValue(fd, out var dup) ? dup : sk.Fd) == sk ? socketId : null;

    /// <summary>getsockopt(fd, level, name, [value], [len]): the returned value as the script wrote it.</summary>
    /// <param name="detail">The engine's optval as JSON, for a struct (SO_SNDTIMEO / SO_RCVTIMEO's {"sec", "usec"}).</param>
    bool CheckGetsockopt(SyscallEvent s, int socketId, long value, string? detail)
    {
        if (s.Arguments.Length < 4 || SyscallMapping.OptionOf(s.Arguments[2]) is not { } option) return true;
        var sk = _sim.FindSocket(socketId);
        string expected, actual;
        if (option == SocketOption.SO_LINGER && SyscallMapping.Linger(s.Arguments[3]) is { } linger && sk is not null)
        {
            expected = $"{{onoff={linger.OnOff}, linger={linger.Seconds}}}";
            actual = $"{{onoff={(sk.LingerOn ? 1 : 0)}, linger={sk.LingerSec}}}";
        }
        else if (option is SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO && SyscallMapping.Timeval(s.Arguments[3]) is { } tv)
        {
            // sock_get_timeout(): the struct timeval the kernel wrote back (jiffies rounded: {0, 1} reads {0, 4000}).
            using var json = System.Text.Json.JsonDocument.Parse(detail ?? "{}");
            var root = json.RootElement;
            long sec = root.TryGetProperty("sec", out var js) ? js.GetInt64() : 0, usec = root.TryGetProperty("usec", out var ju) ? ju.GetInt64() : 0;
            expected = $"{{tv_sec={tv.Sec}, tv_usec={tv.Usec}}}";
            actual = $"{{tv_sec={sec}, tv_usec={usec}}}";
        }
        else if (option == SocketOption.TCP_CONGESTION && s.Arguments[3] is StringExpr { Text: var name })
        {
            // do_tcp_getsockopt(TCP_CONGESTION): icsk_ca_ops->name.
            expected = $"\"{name}\"";
            actual = detail ?? "";
        }
        else if (SyscallMapping.OptvalInts(s.Arguments[3]) is { } wants)
        {
            expected = SyscallMapping.IntsText(wants);
            actual = wants.Length == 1 ? value.ToString(System.Globalization.CultureInfo.InvariantCulture) : MeminfoText(detail, wants.Length);
        }
        else return true; // refused before the run (ScriptSupport: GetsockoptValueProblem())
        return expected == actual || Fail(s, $"runtime error in {s.Name} call: ", $"Bad getsockopt optval: expected: {expected} actual: {actual}", $"optval {expected}", $"optval {actual}");
    }

    /// <summary>
    /// SO_MEMINFO's first <paramref name="count"/> u32 of meminfo[] as <see cref="SyscallMapping.IntsText"/> words them,
    /// from the engine's value (<see cref="SkMeminfo.Json"/>, in sk_get_meminfo()'s order); the script's optlen is
    /// 4 × <paramref name="count"/> (ScriptSupport), what sk_getsockopt() copies (min(len, sizeof(meminfo))).
    /// </summary>
    static string MeminfoText(string? detail, int count)
    {
        using var json = System.Text.Json.JsonDocument.Parse(detail ?? "{}");
        var values = new List<long>(count);
        foreach (var field in json.RootElement.EnumerateObject())
            if (values.Count < count) values.Add(field.Value.GetInt64());
        return SyscallMapping.IntsText(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values));
    }

    /// <summary>
    /// ioctl(fd, SIOCINQ/FIONREAD | SIOCOUTQ/TIOCOUTQ | SIOCOUTQNSD, [n]) — tcp_ioctl() in net/ipv4/tcp.c:
    /// unread bytes (tcp_inq: rcv_nxt − copied_seq, the FIN not counted), bytes not yet acknowledged
    /// (write_seq − snd_una), bytes not yet sent (write_seq − snd_nxt); EINVAL on a listener. A read of
    /// state: it changes nothing, so it is not a logged command.
    /// </summary>
    bool Ioctl(SyscallEvent s)
    {
        var fd = s.Arguments.Length > 0 ? SyscallMapping.IntValue(s.Arguments[0]) : null;
        if (fd is not { } f || !_fds.TryGetValue(f, out var socketId) || _sim.FindSocket(socketId) is not { } sk || sk.Destroyed && sk.Owner is null)
            return CheckResult(s, -1, Errno.EBADF, 0);
        _socketUnderTest = socketId;
        if (sk.State == TcpState.Listen) return CheckResult(s, -1, Errno.EINVAL, socketId);
        string request = (s.Arguments[1] as WordExpr)?.Word ?? "";
        long value = request switch
        {
            "SIOCINQ" or "FIONREAD" => sk.State is TcpState.SynSent or TcpState.SynRecv ? 0 : sk.Unread,
            "SIOCOUTQ" or "TIOCOUTQ" => sk.State is TcpState.SynSent or TcpState.SynRecv ? 0 : (long)unchecked(sk.WriteSeq - sk.SndUna),
            _ => (long)unchecked(sk.WriteSeq - sk.SndNxt),
        };
        if (!CheckResult(s, 0, null, socketId, value: _recorder is null ? null : $"{value}")) return false;
        if (_recorder is null && s.Arguments.Length > 2 && SyscallMapping.IntValue(s.Arguments[2]) is { } want && want != value)
            return Fail(s, $"runtime error in {s.Name} call: ", $"Bad ioctl optval: expected: {want} actual: {value}", $"{want}", $"{value}");
        return true;
    }

    /// <summary>
    /// The script's descriptor table after a dup() or close() that succeeded: dup()'s number stands for the engine's
    /// new descriptor of the same socket (fs/file.c: the same struct file, one more reference); a closed descriptor
    /// whose socket another one still holds is gone (EBADF from now on), while the engine's close() released only
    /// that reference (fput(): tcp_close() waits for the last).
    /// </summary>
    void Descriptors(SyscallEvent s, long? fd, long result)
    {
        if (s.Name == "dup" && s.Result is IntExpr { Value: var number }) _dupFds[number] = (int)result;
        if (s.Name != "close" || fd is not { } closed || !_fds.TryGetValue(closed, out var socketId)) return;
        _dupFds.Remove(closed);
        if (_fds.Count(kv => kv.Value == socketId) > 1) _fds.Remove(closed);
    }
}
