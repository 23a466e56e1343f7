using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SimService.Domain.Observability;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Cli.Kernel;

/// <summary>Where and why a script failed on the real kernel, in the engine runner's words and fields.</summary>
internal sealed record KernelFailure(int Line, string Message, string Expected, string Actual, long AtNs);

/// <summary>
/// A run on the real kernel: the first failure (none when it passed), the log of what happened, event by event, and how
/// much the namespace's Ip, Tcp, TcpExt and IpExt counters moved from just before time 0 to just after the last event.
/// </summary>
/// <param name="Recording">What a record-mode run saw (<see cref="PacketdrillOptions.Record"/>); empty otherwise.</param>
internal sealed record KernelRun(KernelFailure? Failure, IReadOnlyList<string> Log, long EndNs, IReadOnlyDictionary<string, long> Counters,
    IReadOnlyList<RecordedEvent> Recording);

/// <summary>
/// Runs a parsed packetdrill script against the real Linux kernel of this machine, in the network namespace the
/// process is in, with the TUN device as the wire — the second target of the scripts the engine's
/// <see cref="PacketdrillRunner"/> runs, with the same semantics so the same scripts run unchanged: events in
/// order at their times on the monotonic clock (relative times anchored on the previous event: its scheduled time,
/// or for an outbound packet the time it was read), inbound segments with literal sequence numbers and the ack
/// (and SACK blocks) moved by the kernel's ISN, TS ecr mapped to the kernel's live TS val for the script's value,
/// outbound segments taken one by one in the order the kernel sent them and compared field by field, then in time
/// within the tolerance (packetdrill's --tolerance_usecs, 4 ms unless the script says otherwise), blocking calls
/// returning in the background, and the first failure ending the run.
/// </summary>
internal sealed class KernelScriptRunner
{
    readonly PacketdrillScript _script;
    readonly PacketdrillOptions _options;
    readonly TunDevice _tun;
    readonly KernelSyscalls _calls;
    readonly uint _localIp, _remoteIp;
    readonly long _tolerance;
    /// <summary>The log, rendered after the run: formatting text while the script runs would make it late.</summary>
    readonly List<Func<string>> _log = [];
    readonly Dictionary<long, int> _fds = [];
    readonly LiveTimestamps _timestamps = new();
    long _t0;
    long _anchor;
    /// <summary>Whether <see cref="_anchor"/> is the time of the runner's own act (a segment written, a call made), not of a packet read.</summary>
    bool _anchorActs;

    void Anchor(long at, bool runnersAct)
    {
        _anchor = at;
        _anchorActs = runnersAct;
    }
    ushort? _localPort, _remotePort;
    uint _localIsn;
    readonly Dictionary<(ushort Local, ushort Remote), uint> _isnByPorts = [];

    /// <summary>The kernel's ISN a line's numbers are relative to: its connection's when the line names ports, else the last one sent (as the engine runner).</summary>
    uint IsnOf(PacketEvent p, ushort localPort, ushort remotePort) =>
        p.SourcePort is not null && _isnByPorts.TryGetValue((localPort, remotePort), out uint isn) ? isn : _localIsn;
    int _socketUnderTest = KernelSyscalls.NotOpen;
    /// <summary>
    /// The socket cookie (SO_COOKIE, sock_gen_cookie()) of the last socket under test that was open: once the script has
    /// closed it, sock_diag's socket of the same 4-tuple is the script's only with this cookie (an orphan, and the
    /// timewait socket, which inet_twsk_alloc() gives the cookie of the socket it replaces); another is a later
    /// connection (a SYN the listener or TIME-WAIT took), which the engine does not report either.
    /// </summary>
    ulong? _cookieUnderTest;

    /// <summary>The descriptor the next %{ }% block reads, and its socket's cookie while it is open.</summary>
    void UseSocket(int fd)
    {
        _socketUnderTest = fd;
        if (SockDiag.Cookie(fd) is { } cookie) _cookieUnderTest = cookie;
    }
    (SyscallEvent Event, Task<CallOutcome> Call, long ExpectedEnd, long Start)? _pending;
    KernelFailure? _failure;
    /// <summary>Record mode's notebook (null when the script's outbound segments and results are checked).</summary>
    readonly ScriptRecorder? _recorder;

    /// <summary>How far ahead of the moment it is chosen an aligned time 0 lies at least: more than the spin before it.</summary>
    const long StartAheadNs = 5_000_000;

    /// <summary>A call that took longer than this in the kernel slept there (blocked); below it, it returned at once.</summary>
    const long BlockedNs = 1_000_000;

    /// <summary>The peer port of the warm-up's connection (discard, RFC 863): no script uses it.</summary>
    public const ushort WarmUpPort = 9;

    /// <summary>
    /// The first event of <paramref name="script"/> whose time — as written, a relative one after the event before it, a range or
    /// a blocking call by its end — is past <see cref="KernelScenarioRunner.LongestRun"/>, the bound a scenario's kernel run has,
    /// with that time; null when the whole script fits. A script was not bounded: a <c>+500</c> line held the machine's kernel
    /// lock for 500 s (tester36 LOW-2). A "*" (any time: outbound segments only) counts at its latest, <see cref="WaitNs"/>
    /// after the event before it, as long as the runner waits for it (<see cref="Outbound"/>): a script of "*" segments was
    /// never refused, and each may hold the lock that long (review36 N-2). An outbound segment with a time counts at its latest
    /// too, <paramref name="toleranceUs"/> (at most the wait) after it (a range: after its end; review37a S-2): the next line's relative time starts from when it was
    /// read, so with <c>--tolerance_usecs=10000000</c> each of sixteen keepalive probes a kernel sent 9 s late passed and moved
    /// the script on, 147 s of a timeline written as 0.01 s (tester37 MEDIUM-1).
    /// </summary>
    public static (ScriptEvent Event, SimTime At)? PastTheLongestRun(PacketdrillScript script, long toleranceUs = PacketdrillOptions.DefaultToleranceUsecs)
    {
        long limit = KernelScenarioRunner.LongestRun.Ns / 1_000, anchor = 0, lateness = Math.Min(toleranceUs, WaitNs / 1_000);
        foreach (var ev in script.Events)
        {
            var t = ev.Time;
            long start = t.IsAbsolute ? t.StartUs : t.IsRelative ? anchor + t.StartUs : anchor + WaitNs / 1_000;
            bool outbound = ev is PacketEvent { Direction: PacketDirection.Outbound };
            long late = outbound && t.Kind != EventTimeKind.Any ? lateness : 0;
            start += late;
            long end = t.Kind == EventTimeKind.AbsoluteRange ? t.EndUs + late : t.Kind == EventTimeKind.RelativeRange ? anchor + t.EndUs + late : start;
            if (ev is SyscallEvent { EndUs: { } returns }) end = Math.Max(end, t.IsRelative ? anchor + returns : returns);
            if (Math.Max(start, end) > limit) return (ev, new SimTime(Math.Max(start, end) * 1_000));
            // The runner anchors the next line at an outbound packet's arrival: at the latest its range's end plus the tolerance.
            anchor = outbound ? Math.Max(start, end) : start;
        }
        return null;
    }

    /// <summary>How long past its expected time the runner waits for an outbound packet or a blocked call before calling it missing.</summary>
    const long WaitNs = 10_000_000_000;

    readonly bool _checkTimes;
    readonly bool _ignoreGsoPsh;

    /// <param name="checkTimes">false for the warm-up run, whose first calls are slow by design (they are being compiled).</param>
    /// <param name="ignoreGsoPsh">
    /// A diagnostic: a PSH the script does not expect is not a difference. __tcp_transmit_skb() sets PSH on every skb
    /// of more than one MSS ("Force a PSH flag on all (GSO) packets"), which the engine does not model; ignoring it
    /// shows what else differs in the scripts that send such skbs.
    /// </param>
    public KernelScriptRunner(PacketdrillScript script, PacketdrillOptions options, TunDevice tun, bool checkTimes = true, bool ignoreGsoPsh = false)
    {
        _checkTimes = checkTimes;
        _ignoreGsoPsh = ignoreGsoPsh;
        _script = script;
        _options = options;
        _tun = tun;
        _localIp = KernelSyscalls.ParseIp(options.LocalIp)!.Value;
        _remoteIp = KernelSyscalls.ParseIp(options.RemoteIp)!.Value;
        _calls = new KernelSyscalls(_localIp, _remoteIp);
        _tolerance = options.ToleranceUsecs * 1_000;
        _recorder = options.Record ? new ScriptRecorder() : null;
    }

    /// <summary>
    /// Runs the script. Its time 0 is now, or with <paramref name="alignedStart"/> the next tick lined up with the engine's
    /// jiffies (<see cref="KernelClock.NextAlignedTick"/>), chosen once everything before the clock (the warm-up, the
    /// counters, the leading sysctl writes) is done: chosen before them, a start they overran made the first events late.
    /// </summary>
    /// <summary>How the log begins the note of a run whose jiffies were not the engine's (<see cref="KernelClock.Offset"/>).</summary>
    public const string MisalignedNote = "note: the kernel's jiffies were ";

    public KernelRun Run(bool alignedStart = false)
    {
        if (!Libc.RealTime(Libc.RunnerPriority)) _log.Add(() => $"note: no real-time scheduling (errno {Libc.Errno}): wake-ups may be late");
        WarmUp();
        // No garbage collection while the script runs: a collection stops every thread of the process, the real-time ones too.
        bool noGc = GC.TryStartNoGCRegion(64L << 20);
        var countersBefore = ReadCounters();
        // The leading backtick lines (./defaults.sh, sysctls) are written before the clock starts: the engine applies them
        // at time 0 in no time, and run at time 0 the writes (1–3 ms on a loaded machine) shifted the script's clock off the
        // aligned tick by what they took, every later timer bucket with it (a 1 s SYN-ACK timer at 1.0216 s for 1.024 s).
        int leading = _script.Events.TakeWhile(e => e is ShellEvent { Time: { Kind: EventTimeKind.Relative or EventTimeKind.Absolute, StartUs: 0 } }).Count();
        _t0 = Libc.MonotonicNs();
        foreach (var shell in _script.Events.Take(leading).Cast<ShellEvent>())
            if (!ApplyShell(shell, 0)) break;
        // In hand before the clock starts: enumerated for the first time after the sleep to time 0, the events took
        // 0.2–0.4 ms to come (a first call's cost, paid late).
        var events = _script.Events.Skip(_failure is null ? leading : int.MaxValue).ToArray();
        long? startNs = alignedStart ? KernelClock.NextAlignedTick(aheadNs: StartAheadNs) : null;
        if (startNs is { } start)
        {
            _t0 = start;
            _calls.StandBy(start);
            SleepUntil(0);
        }
        foreach (var ev in events)
        {
            CheckPending(block: false);
            if (_failure is not null) break;
            bool ok = ev switch
            {
                PacketEvent { Direction: PacketDirection.Inbound } p => Inbound(p),
                PacketEvent p when _recorder is not null => Fail(p.At.Line, "error handling packet: record mode records outbound packets; the script states none", "", ""),
                PacketEvent p => Outbound(p),
                SyscallEvent s => Syscall(s),
                ShellEvent c => Shell(c),
                CodeEvent c => Code(c),
                _ => Fail(ev.At.Line, $"unknown event {ev.GetType().Name}", "", ""),
            };
            if (!ok || _failure is not null) break;
        }
        if (_failure is null) CheckPending(block: true);
        if (_recorder is not null && _failure is null)
        {
            // As the engine runner: one tolerance past the last event, what the kernel sent by then.
            long end = Math.Max(_anchor, Now()) + _tolerance;
            SleepUntil(end);
            RecordCaptured();
        }
        var counters = MibDelta.Delta(countersBefore, ReadCounters());
        if (startNs is not null && _checkTimes && KernelClock.Offset(_t0) is { } offset && offset != 0)
            _log.Add(() => $"{MisalignedNote}{offset} ahead of the engine's (mod 512) during the run");
        if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        return new KernelRun(_failure, [.. _log.Select(l => l())], Now(), counters, _recorder?.Events ?? []);
    }

    /// <summary>
    /// The namespace's counters as /proc/net/snmp and /proc/net/netstat print them (per network namespace: nothing else
    /// in this one — lo, the TUN device, IPv6 off — moves a TCP counter).
    /// </summary>
    static Dictionary<string, long> ReadCounters() => MibDelta.Parse(File.ReadAllText("/proc/net/snmp"), File.ReadAllText("/proc/net/netstat"));

    /// <summary>
    /// Compiles this runner's code and the libc stubs before the clock starts, so the first events are not late by the
    /// JIT's milliseconds: every method prepared, then each libc call made once on a descriptor that is not open.
    /// </summary>
    void WarmUp()
    {
        foreach (var type in new[] { typeof(KernelScriptRunner), typeof(KernelSyscalls), typeof(TcpWire), typeof(TunDevice), typeof(TcpInfoLayout), typeof(ErrnoNames), typeof(Libc), typeof(SockDiag), typeof(ScriptRecorder), typeof(LiveTimestamps) })
            foreach (var method in type.GetMethods(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly))
                if (!method.IsAbstract && !method.ContainsGenericParameters)
                    try { System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(method.MethodHandle); } catch (ArgumentException) { }
        var at = new ScriptPosition(0, 0);
        var time = new EventTime(EventTimeKind.Absolute, 0);
        ScriptExpr Fd() => new IntExpr(at, -1);
        var ellipsis = new EllipsisExpr(at);
        var calls = new (string Name, ScriptExpr[] Args)[]
        {
            ("bind", [Fd(), ellipsis, ellipsis]), ("connect", [Fd(), ellipsis, ellipsis]), ("listen", [Fd(), new IntExpr(at, 1)]),
            ("accept", [Fd(), ellipsis, ellipsis]), ("write", [Fd(), ellipsis, new IntExpr(at, 1)]), ("read", [Fd(), ellipsis, new IntExpr(at, 1)]),
            ("send", [Fd(), ellipsis, new IntExpr(at, 1), new IntExpr(at, 0)]), ("recv", [Fd(), ellipsis, new IntExpr(at, 1), new IntExpr(at, 0)]),
            ("shutdown", [Fd(), new WordExpr(at, "SHUT_WR")]), ("close", [Fd()]), ("fcntl", [Fd(), new WordExpr(at, "F_GETFL")]),
            ("setsockopt", [Fd(), new WordExpr(at, "SOL_SOCKET"), new WordExpr(at, "SO_LINGER"), new ListExpr(at, [new IntExpr(at, 1)]), new IntExpr(at, 4)]),
            ("getsockopt", [Fd(), new WordExpr(at, "SOL_SOCKET"), new WordExpr(at, "SO_ERROR"), new ListExpr(at, [new IntExpr(at, 0)]), new ListExpr(at, [new IntExpr(at, 4)])]),
            ("ioctl", [Fd(), new WordExpr(at, "SIOCINQ"), new ListExpr(at, [new IntExpr(at, 0)])]),
            ("poll", [new ListExpr(at, []), new IntExpr(at, 0), new IntExpr(at, 0)]),
        };
        foreach (var (name, args) in calls)
            _calls.Start(new SyscallEvent(at, time, name, [.. args], new IntExpr(at, -1), null, null), _ => KernelSyscalls.NotOpen).Wait();
        int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM, Libc.IPPROTO_TCP);
        SockDiag.Cookie(fd);
        _tun.Collect();
        var info = new byte[256];
        int length = info.Length;
        Libc.getsockopt(fd, 6, 11, info, ref length);
        Libc.close(fd);
        Libc.SleepUntil(Libc.MonotonicNs() + 1_000);
        TcpWire.Build(new WireSegment(0, 0, 0, 0, 0, 0, 0, 0, [new NopOption(at)], 0));
        if (_recorder is not null) WarmUpRecording();
        // The ISN table's generic code (value-tuple keys are compiled per instantiation), on a throwaway of its type: in
        // record mode RecordCaptured() is its first user, on the SYN-ACK line's time.
        var isns = new Dictionary<(ushort Local, ushort Remote), uint> { [(0, 0)] = 0 };
        isns.TryGetValue((0, 0), out _);
        _ = isns.GetValueOrDefault(((ushort)0, (ushort)0), 0u);
    }

    /// <summary>
    /// Record mode's notebook run once on a throwaway recorder and TS clock, as the run will use them: a segment with every
    /// option kind a kernel sends after the handshake (through <see cref="Letters"/>), a mapped ecr, a call, a tcp_info
    /// value. Without it the first <see cref="RecordCaptured"/> that found a segment — the connect()'s SYN, taken when the
    /// SYN-ACK's line came — compiled them then: the SYN-ACK was written 5–7 ms late in every record-mode run of session 22
    /// (the kernel's handshake ACK at 0.1056 s for a SYN-ACK line at 0.100), so the kernel's first RTT sample, and every
    /// timer derived from it, was that much longer than the engine's. Returns what it recorded.
    /// </summary>
    internal static IReadOnlyList<RecordedEvent> WarmUpRecording()
    {
        var at = new ScriptPosition(0, 0);
        var recorder = new ScriptRecorder();
        var clock = new LiveTimestamps();
        var segment = new WireSegment(0, 0, 0, 0, 1, 1, WireSegment.ACK | WireSegment.PSH, 0,
            [new NopOption(at), new TimestampOption(at, 1, 0), new SackOption(at, [(1u, 2u)])], 0);
        recorder.Segment(0, Letters(segment), segment.Seq, 0, segment.Ack, segment.PayloadLength, segment.Window, [.. segment.Options], clock);
        clock.TryLiveEcr(0, ack: true, ecrScaled: true, out _);
        recorder.Call(0, new SyscallEvent(at, new EventTime(EventTimeKind.Absolute, 0), "read", [new IntExpr(at, -1)], new IntExpr(at, -1), null, null), -1, "EAGAIN", "0");
        recorder.Info(0, 0, "tcpi_state", "none");
        return recorder.Events;
    }

    /// <summary>Closes every descriptor the script still has with an RST (SO_LINGER {1, 0}): nothing of the run sends again.</summary>
    public void Abort()
    {
        CheckPending(block: false);
        var linger = new byte[8];
        BitConverter.GetBytes(1).CopyTo(linger, 0);
        foreach (var fd in _fds.Values)
        {
            Libc.setsockopt(fd, Libc.SOL_SOCKET, 13, linger, linger.Length);
            Libc.close(fd);
        }
        _fds.Clear();
    }

    // ---- time ---------------------------------------------------------------------------------

    long Now() => Libc.MonotonicNs() - _t0;

    long StartOf(EventTime t) => t.Kind switch
    {
        EventTimeKind.Absolute or EventTimeKind.AbsoluteRange => t.StartUs * 1_000,
        EventTimeKind.Relative or EventTimeKind.RelativeRange => _anchor + t.StartUs * 1_000,
        _ => Now(),
    };

    long EndOf(EventTime t) => t.Kind switch
    {
        EventTimeKind.AbsoluteRange => t.EndUs * 1_000,
        EventTimeKind.RelativeRange => _anchor + t.EndUs * 1_000,
        _ => StartOf(t),
    };

    /// <summary>
    /// Waits for a script time: asleep until <see cref="Libc.SpinNs"/> before it, then spinning. On this 2-core KVM guest
    /// an asleep real-time thread of this process woke 0.4–0.9 ms late even at load 0 (a C program's 0.1 ms), more than
    /// a script's --tolerance_usecs=1000 leaves once a few events add up.
    /// </summary>
    void SleepUntil(long scriptNs) => Libc.SleepThenSpinUntil(_t0 + scriptNs);

    /// <summary>verify_time() as the engine runner words it: within the tolerance of the time, or of the range.</summary>
    string? VerifyTime(EventTime kind, long expected, long expectedEnd, long actual, string description)
    {
        if (kind.Kind == EventTimeKind.Any || !_checkTimes) return null;
        if (kind.Kind is EventTimeKind.AbsoluteRange or EventTimeKind.RelativeRange)
        {
            if (actual >= expected - _tolerance && actual <= expectedEnd + _tolerance) return null;
            return $"timing error: expected {description} in time range {Secs(expected)} ~ {Secs(expectedEnd)} sec, but happened at {Secs(actual)} sec";
        }
        if (actual >= expected - _tolerance && actual <= expected + _tolerance) return null;
        return $"timing error: expected {description} at {Secs(expected)} sec but happened at {Secs(actual)} sec; tolerance {Secs(_tolerance)} sec";
    }

    /// <summary>
    /// check_event_time() of packetdrill's run.c for an event it starts (an inbound packet, a system call, a command, a
    /// code block) at an absolute time the run is already past by more than the tolerance when it gets there — an earlier
    /// event took the clock beyond it: a timing error at its line, as the engine's runner gives
    /// (<c>PacketdrillRunner.StartsOnTime</c>). Tested before the wait, so a late wake-up of this machine is not the script's.
    /// </summary>
    bool StartsOnTime(ScriptEvent ev, long at, string description)
    {
        if (!ev.Time.IsAbsolute) return true;
        long now = Now(), end = EndOf(ev.Time); // an absolute range (0.1~0.2) is late only past its end (time_usecs_end)
        if (now <= end + _tolerance || VerifyTime(ev.Time, at, end, now, description) is not { } error) return true;
        return Fail(ev.At.Line, error, Secs(at), Secs(now));
    }

    /// <summary>
    /// A note for a packet that is late only by one tick (it would have passed a jiffy earlier): the kernel runs a timer's
    /// bucket on its tick, or a tick later when that CPU's tick handler reads jiffies before the timekeeping CPU has advanced
    /// them (run_local_timers() then raises no TIMER_SOFTIRQ) — 11–16 % of expiries on a loaded 2-CPU machine, in bursts,
    /// a race no model can hold (docs/kernel-check.md, "Why it is no rule"). A packet due at the time of the runner's own
    /// previous event (<paramref name="answersTheRunner"/>: a SYN at connect()'s time, an ACK at its segment's) is sent by
    /// that event, no timer: its note says the runner was late. Null otherwise.
    /// </summary>
    internal static string? OneTickLate(long actual, long expectedEnd, long tolerance, bool answersTheRunner = false)
    {
        long late = actual - expectedEnd;
        if (late <= tolerance || late - KernelClock.TickNs > tolerance) return null;
        string lateBy = $"note: {(late / 1e6).ToString("0.000", CultureInfo.InvariantCulture)} ms late, within the tolerance but for one tick: ";
        return answersTheRunner
            ? lateBy + "no timer sends it (it answers the runner's previous event, due at the same time), so the runner's event was late — the machine's scheduling; run the script again"
            : lateBy + "the kernel's timer may run a tick after its bucket (its CPU read jiffies before the timekeeping CPU advanced them; 11–16 % of expiries, in bursts) — run the script again";
    }

    /// <summary>" (12 µs late)": how much later than its time an event was carried out, for the log.</summary>
    static string Late(long actual, long scheduled) => actual - scheduled > 100_000 ? $" ({(actual - scheduled) / 1000} µs late)" : "";

    internal static string Secs(long ns) => (ns / 1e9).ToString("F6", CultureInfo.InvariantCulture);

    bool Fail(int line, string message, string expected, string actual)
    {
        _failure ??= new KernelFailure(line, $"{_options.ScriptName}:{line}: {message}", expected, actual, Now());
        return false;
    }

    // ---- packets ------------------------------------------------------------------------------

    /// <summary>Whether the script did something the kernel answers with a SYN (a connect(), an inbound SYN to a listener).</summary>
    bool _synDue;

    /// <summary>
    /// Record mode: whether an inbound segment with <paramref name="flags"/> waits for the kernel's SYN before it is
    /// written — its ack is relative to the kernel's ISN, which is not known yet, and a SYN that will tell it is due.
    /// A segment without ACK (a listener's incoming SYN) moves no number by the ISN; a known ISN needs no wait; with no
    /// SYN due (a listener that has answered nothing yet) the wait only made the segment 100 ms late.
    /// </summary>
    internal static bool WaitsForIsn(byte flags, bool isnKnown, bool synDue) => (flags & WireSegment.ACK) != 0 && !isnKnown && synDue;

    /// <summary>
    /// An inbound segment the kernel answers with its SYN-ACK: a SYN with none of ACK, RST, FIN (tcp_rcv_state_process()'s
    /// LISTEN case returns on ACK, discards RST, and a SYN with FIN).
    /// </summary>
    internal static bool SendsSyn(byte flags) => (flags & (WireSegment.SYN | WireSegment.ACK | WireSegment.RST | WireSegment.FIN)) == WireSegment.SYN;

    /// <summary>
    /// Whether the kernel will answer an inbound segment with <paramref name="flags"/> to <paramref name="port"/> with its
    /// SYN-ACK: a plain SYN (<see cref="SendsSyn(byte)"/>) that a listener on that port takes — tcp_v4_rcv() finds no socket for
    /// a SYN to a port nobody listens on and answers it with a RST, so no ISN comes (review34b N4: the next ACK waited 100 ms
    /// for it). <paramref name="sockets"/> is asked only for a SYN: the namespace's sockets (<see cref="SockDiag.Dump"/>).
    /// </summary>
    internal static bool SynAckDue(byte flags, ushort port, Func<IEnumerable<SockDiag.Row>> sockets) =>
        SendsSyn(flags) && sockets().Any(r => r.State == TcpListen && r.LocalPort == port);

    /// <summary>TCP_LISTEN, inet_diag_msg's idiag_state of a listener.</summary>
    const int TcpListen = 10;

    /// <summary>A call that sends the kernel's SYN: connect(), or sendto()/sendmsg() with MSG_FASTOPEN (tcp_sendmsg_fastopen()).</summary>
    internal static bool SendsSyn(string call) => call is "connect" or "sendto" or "sendmsg";

    /// <summary>An inbound segment: written on the TUN at its time, ack and SACK blocks moved by the kernel's ISN, TS ecr mapped.</summary>
    bool Inbound(PacketEvent p)
    {
        long at = StartOf(p.Time);
        if (!StartsOnTime(p, at, "inbound packet")) return false;
        SleepUntil(at);
        RecordCaptured();
        if (!TryFlags(p.FlagsText, out byte flags)) return Fail(p.At.Line, $"error handling packet: bad flags '{p.FlagsText}'", p.FlagsText, "");
        // Record mode has no outbound line to wait on: an ACK that needs the kernel's ISN waits for its SYN (a late
        // wake-up) — only when one is due; a listener's first segments have no SYN to wait for.
        if (_recorder is not null && WaitsForIsn(flags, isnKnown: _localIsn != 0, _synDue) && _tun.Next(Libc.MonotonicNs() + WaitNs / 100) is { } late)
        {
            _tun.PutBack(late);
            RecordCaptured();
        }
        ushort localPort = p.DestinationPort ?? _localPort ?? PacketdrillRunner.ScriptPort;
        _synDue |= _recorder is not null && SynAckDue(flags, localPort, SockDiag.Dump);
        ushort remotePort = p.SourcePort ?? _remotePort ?? PacketdrillRunner.RemoteEphemeralPort;
        if (flags == WireSegment.SYN && _localPort is null)
        {
            _localPort = localPort;
            _remotePort = remotePort;
        }
        bool ack = (flags & WireSegment.ACK) != 0;
        uint isn = IsnOf(p, localPort, remotePort);
        var options = new List<ScriptOption>();
        foreach (var o in p.Options ?? [])
        {
            switch (o)
            {
                case TimestampOption ts:
                    if (!_timestamps.TryLiveEcr(ts.Ecr, ack, _options.TcpTsEcrScaled || _recorder is not null, out uint ecr))
                        return Fail(p.At.Line, $"error handling packet: unable to infer live TS ecr for script TS ecr {ts.Ecr};  no matching or preceding outbound TS val", ts.ToString(), "");
                    options.Add(ts with { Ecr = ecr });
                    break;
                case SackOption s:
                    options.Add(s with { Blocks = [.. s.Blocks.Select(b => (unchecked(b.Left + isn), unchecked(b.Right + isn)))] });
                    break;
                default: options.Add(o); break;
            }
        }
        var segment = new WireSegment(_remoteIp, _localIp, remotePort, localPort, p.Seq, ack ? unchecked((p.Ack ?? 0) + isn) : p.Ack ?? 0,
            flags, p.Window ?? 0, options, p.Length);
        long written = _tun.Inject(TcpWire.Build(segment)) - _t0;
        _log.Add(() => $"{Secs(written)} line {p.At.Line}: < {Describe(p, at)[(Secs(at).Length + 1)..]}{Late(written, at)}");
        Anchor(at, runnersAct: true);
        return true;
    }

    /// <summary>An outbound segment: the next one the kernel sent, compared as the engine runner compares (length, flags, seq, ack, window, options, time).</summary>
    bool Outbound(PacketEvent p)
    {
        long start = StartOf(p.Time);
        long end = EndOf(p.Time);
        long deadline = (p.Time.Kind == EventTimeKind.Any ? Now() : Math.Max(end, Now())) + WaitNs;
        var captured = _tun.Next(_t0 + deadline);
        // What the warm-up's connection (to the peer's port 9, never a script's) may still send is not the script's.
        while (captured is not null && _checkTimes && captured.Segment.DestinationPort == WarmUpPort) captured = _tun.Next(_t0 + deadline);
        if (captured is null) return Fail(p.At.Line, "error handling packet: Timed out waiting for packet", Describe(p, start), "no packet");
        var actual = captured.Segment;
        long at = captured.AtNs - _t0;
        if (actual.Has(WireSegment.SYN)) _localIsn = _isnByPorts[(actual.SourcePort, actual.DestinationPort)] = actual.Seq;
        if (actual.Has(WireSegment.SYN) && !actual.Has(WireSegment.ACK))
        {
            // A connect(): the kernel's ephemeral port names the flow every later inbound segment belongs to.
            _localPort = actual.SourcePort;
            _remotePort = actual.DestinationPort;
        }
        _localPort ??= actual.SourcePort;
        _remotePort ??= actual.DestinationPort;
        uint isn = IsnOf(p, actual.SourcePort, actual.DestinationPort);
        var error = !TryFlags(p.FlagsText, out byte flags) ? $"bad flags '{p.FlagsText}'"
            : PacketdrillRunner.ComparePorts(p, actual.SourcePort, actual.DestinationPort) ?? CompareHeaders(p, flags, actual, isn) ?? CompareOptions(p, actual) ?? VerifyTime(p.Time, start, end, at, "outbound packet");
        if (error is not null)
        {
            string scriptText = Describe(p, start), actualText = ActualText(actual, at, isn);
            string hint = error.StartsWith("timing error", StringComparison.Ordinal) && OneTickLate(at, end, _tolerance, answersTheRunner: _anchorActs && end <= _anchor) is { } note ? $"\n{note}" : "";
            return Fail(p.At.Line, $"error handling packet: {error}\nscript packet:  {scriptText}\nactual packet:  {actualText}{hint}", scriptText, actualText);
        }
        if (actual.Options.OfType<TimestampOption>().FirstOrDefault() is { } liveTs && p.Options?.OfType<TimestampOption>().FirstOrDefault() is { } scriptTs)
            _timestamps.Record(scriptTs.Val, liveTs.Val);
        _log.Add(() => $"{Secs(at)} line {p.At.Line}: > {ActualText(actual, at, isn)[(Secs(at).Length + 1)..]}");
        Anchor(at, runnersAct: false);
        return true;
    }

    /// <summary>
    /// Record mode: every segment the kernel sent that the TUN reader has taken by now, into the notebook; the ISN
    /// and ports learnt as <see cref="Outbound"/> learns them.
    /// </summary>
    void RecordCaptured()
    {
        if (_recorder is null) return;
        // What the kernel sent before now, in hand: an answer to the segment written last (a SYN-ACK and its ISN) included.
        _tun.Collect();
        while (_tun.TryNext() is { } captured)
        {
            var s = captured.Segment;
            if (_checkTimes && s.DestinationPort == WarmUpPort) continue;
            if (s.Has(WireSegment.SYN)) _localIsn = _isnByPorts[(s.SourcePort, s.DestinationPort)] = s.Seq;
            if (s.Has(WireSegment.SYN) && !s.Has(WireSegment.ACK)) (_localPort, _remotePort) = (s.SourcePort, s.DestinationPort);
            _localPort ??= s.SourcePort;
            _remotePort ??= s.DestinationPort;
            _recorder.Segment(captured.AtNs - _t0, Letters(s), s.Seq, _isnByPorts.GetValueOrDefault((s.SourcePort, s.DestinationPort), _localIsn), s.Has(WireSegment.ACK) ? s.Ack : null, s.PayloadLength, s.Window,
                [.. s.Options], _timestamps);
        }
    }

    string? CompareHeaders(PacketEvent p, byte flags, WireSegment actual, uint isn)
    {
        int actualOptionBytes = actual.Options.Sum(o => o.Length);
        int scriptOptionBytes = p.Options is { } list ? list.Sum(o => o.Length) : actualOptionBytes;
        return Field("ipv4_total_length", 40 + scriptOptionBytes + p.Length, 40 + actualOptionBytes + actual.PayloadLength)
            ?? Field("tcp_fin", Bit(flags, WireSegment.FIN), Bit(actual.Flags, WireSegment.FIN))
            ?? Field("tcp_syn", Bit(flags, WireSegment.SYN), Bit(actual.Flags, WireSegment.SYN))
            ?? Field("tcp_rst", Bit(flags, WireSegment.RST), Bit(actual.Flags, WireSegment.RST))
            ?? (_ignoreGsoPsh && (flags & WireSegment.PSH) == 0 ? null : Field("tcp_psh", Bit(flags, WireSegment.PSH), Bit(actual.Flags, WireSegment.PSH)))
            ?? Field("tcp_ack", Bit(flags, WireSegment.ACK), Bit(actual.Flags, WireSegment.ACK))
            ?? Field("tcp_urg", Bit(flags, WireSegment.URG), Bit(actual.Flags, WireSegment.URG))
            ?? Field("tcp_ece", Bit(flags, WireSegment.ECE), Bit(actual.Flags, WireSegment.ECE))
            ?? Field("tcp_cwr", Bit(flags, WireSegment.CWR), Bit(actual.Flags, WireSegment.CWR))
            ?? Field("tcp_seq", p.Seq, unchecked(actual.Seq - isn))
            ?? Field("tcp_ack_seq", (flags & WireSegment.ACK) != 0 ? p.Ack ?? 0 : 0, actual.Has(WireSegment.ACK) ? actual.Ack : 0)
            ?? (p.Window is { } win ? Field("tcp_window", win, actual.Window) : null);
    }

    static long Bit(byte flags, byte bit) => (flags & bit) != 0 ? 1 : 0;

    static string? Field(string name, long expected, long actual) => PacketdrillRunner.Field(name, expected, actual);

    /// <summary>The same option kinds in the same order with the same values (TS val only with --tcp_ts_tick_usecs; ecr never), unless written &lt;...&gt;.</summary>
    string? CompareOptions(PacketEvent p, WireSegment actual) =>
        p.Options is not { } expected ? null : PacketdrillRunner.CompareLiveOptions(expected, actual.Options, _options);

    /// <summary>packetdrill's letters (S F R P . U E W); "" for none.</summary>
    static bool TryFlags(string text, out byte flags)
    {
        flags = 0;
        foreach (var c in text)
        {
            byte bit = c switch
            {
                'F' => WireSegment.FIN, 'S' => WireSegment.SYN, 'R' => WireSegment.RST, 'P' => WireSegment.PSH, '.' => WireSegment.ACK,
                'U' => WireSegment.URG, 'E' => WireSegment.ECE, 'W' => WireSegment.CWR, '-' => 0, _ => 0xff,
            };
            if (bit == 0xff) return false;
            flags |= bit;
        }
        return true;
    }

    static string Describe(PacketEvent p, long at)
    {
        var sb = new StringBuilder();
        sb.Append(Secs(at)).Append(' ').Append(p.FlagsText.Length == 0 ? "-" : p.FlagsText)
            .Append(CultureInfo.InvariantCulture, $" {p.Seq}:{unchecked(p.Seq + (uint)p.Length)}({p.Length})");
        if (p.FlagsText.Contains('.', StringComparison.Ordinal)) sb.Append(CultureInfo.InvariantCulture, $" ack {p.Ack ?? 0}");
        if (p.Window is { } w) sb.Append(CultureInfo.InvariantCulture, $" win {w}");
        if (p.Options is { IsEmpty: false } o) sb.Append($" <{string.Join(",", o)}>");
        return sb.ToString();
    }

    /// <summary>The segment's flags in packetdrill's letters and order (S F R P . U E W); "" for none.</summary>
    static string Letters(WireSegment s)
    {
        var letters = new StringBuilder();
        foreach (var (bit, letter) in new[] { (WireSegment.SYN, 'S'), (WireSegment.FIN, 'F'), (WireSegment.RST, 'R'), (WireSegment.PSH, 'P'), (WireSegment.ACK, '.'), (WireSegment.URG, 'U'), (WireSegment.ECE, 'E'), (WireSegment.CWR, 'W') })
            if (s.Has(bit)) letters.Append(letter);
        return letters.ToString();
    }

    static string ActualText(WireSegment s, long at, uint isn)
    {
        uint seq = unchecked(s.Seq - isn);
        string letters = Letters(s);
        var sb = new StringBuilder();
        sb.Append(Secs(at)).Append(' ').Append(letters.Length == 0 ? "-" : letters)
            .Append(CultureInfo.InvariantCulture, $" {seq}:{unchecked(seq + (uint)s.PayloadLength)}({s.PayloadLength})");
        if (s.Has(WireSegment.ACK)) sb.Append(CultureInfo.InvariantCulture, $" ack {s.Ack}");
        sb.Append(CultureInfo.InvariantCulture, $" win {s.Window}");
        if (s.Options.Count > 0) sb.Append($" <{string.Join(",", s.Options)}>");
        return sb.ToString();
    }

    // ---- system calls -------------------------------------------------------------------------

    int Live(long scriptFd) => _fds.TryGetValue(scriptFd, out var fd) ? fd : KernelSyscalls.NotOpen;

    /// <summary>
    /// A system call at its time: made on the worker thread; written as blocking (<c>start...end</c>) it returns in
    /// the background and must return at its end time; written as non-blocking it must return at once.
    /// </summary>
    bool Syscall(SyscallEvent s)
    {
        CheckPending(block: true);
        if (_failure is not null) return false;
        long start = StartOf(s.Time);
        long expectedEnd = s.EndUs is { } endUs ? (s.Time.IsRelative ? _anchor + endUs * 1_000 : endUs * 1_000) : start;
        if (!StartsOnTime(s, start, "system call start")) return false;
        // Handed to the worker before its time, so the worker is awake and spinning when told to go: a thread woken at
        // the call's time began it 0.3 ms later.
        var (call, go) = _calls.Prepare(s, Live, _t0 + start);
        _synDue |= SendsSyn(s.Name);
        try
        {
            SleepUntil(start);
            RecordCaptured();
            Anchor(start, runnersAct: true);
            // A descriptor the script has not open (the call fails with EBADF) leaves the socket under test as it was, as
            // in the engine runner: a %{ }% after fcntl(4) of a deferred accept() that failed reads the listener.
            if (s.Name != "socket" && s.Arguments.Length > 0 && SyscallMapping.IntValue(s.Arguments[0]) is { } fd && s.Name != "poll"
                && _fds.TryGetValue(fd, out int live)) UseSocket(live);
            long late = Now() - start;
            if (late > 100_000) _log.Add(() => $"{Secs(start + late)} line {s.At.Line}: {s.Name} started {late / 1000} µs late");
        }
        finally
        {
            go(); // never left waiting: the call thread serves this runner's every later call
        }
        _pending = (s, call, expectedEnd, start);
        if (s.EndUs is not null) return true;
        CheckPending(block: true);
        return _failure is null;
    }

    /// <summary>Checks the call in the background once it has returned (waiting for it when <paramref name="block"/>).</summary>
    void CheckPending(bool block)
    {
        if (_pending is not { } p) return;
        if (!p.Call.IsCompleted)
        {
            if (!block) return;
            // Spun for a little first: a call that returns at once is noticed on time (a blocking wait woke 0.1 ms later).
            Libc.SpinBriefly(() => p.Call.IsCompleted);
            long waitMs = Math.Max(0, (_t0 + p.ExpectedEnd + WaitNs - Libc.MonotonicNs()) / 1_000_000);
            if (!p.Call.Wait(TimeSpan.FromMilliseconds(waitMs)))
            {
                _pending = null;
                Fail(p.Event.At.Line, $"runtime error in {p.Event.Name} call: system call did not return (still blocked in the kernel)",
                    $"return at {Secs(p.ExpectedEnd)} sec", "still blocked");
                return;
            }
        }
        _pending = null;
        var outcome = p.Call.Result;
        long returned = outcome.ReturnNs - _t0;
        long noticed = Now(), began = outcome.StartNs - _t0;
        _log.Add(() => $"{Secs(noticed)} line {p.Event.At.Line}: began {Secs(began)} returned {Secs(returned)} noticed {Secs(noticed)}");
        if (_recorder is not null)
        {
            RecordCall(p.Event, outcome, RecordedCallAt(p.Start, began, returned));
            return;
        }
        var timing = VerifyTime(new EventTime(EventTimeKind.Absolute, 0), p.ExpectedEnd, p.ExpectedEnd, returned, "system call return");
        // As the engine runner: a call that returned at once (it did not sleep in the kernel) is judged by its result
        // first, one that blocked by when it returned first.
        bool blocked = outcome.ReturnNs - outcome.StartNs > BlockedNs;
        if (!blocked && !CheckResult(p.Event, outcome, returned)) return;
        if (timing is not null)
        {
            Fail(p.Event.At.Line, timing, $"return at {Secs(p.ExpectedEnd)} sec", $"returned at {Secs(returned)} sec");
            return;
        }
        if (blocked) CheckResult(p.Event, outcome, returned);
    }

    /// <summary>
    /// Record mode: when a call is written down — at its script time, or, when it slept in the kernel, when it returned, as
    /// the engine's recorder writes it (at the virtual time the call completes). Until session 34 a call that blocked was
    /// written at its start, so every record-mode script with a blocking call (<c>+0...0.010 connect</c>, a lingering
    /// <c>close</c>) differed from the engine at that call.
    /// </summary>
    internal static long RecordedCallAt(long start, long began, long returned) => returned - began > BlockedNs ? returned : start;

    /// <summary>Record mode: the call's result, errno and what it wrote back, at the time it is written down (<see cref="RecordedCallAt"/>); a descriptor it made stands for the script's number.</summary>
    void RecordCall(SyscallEvent s, CallOutcome outcome, long start)
    {
        string? value = outcome.Errno != 0 ? null
            : s.Name == "getsockopt" && s.Arguments.Length > 3 && outcome.Optval is { } optval ? KernelSyscalls.Optval(s.Arguments[3], optval)?.Actual
            : s.Name == "ioctl" ? $"{outcome.IoctlValue}"
            : s.Name == "poll" && outcome.Revents is { } revents ? $"\"{string.Join(",", revents.Select(PollEvents.Text))}\""
            : null;
        bool fdCall = s.Name is "socket" or "accept" or "accept4" or "dup";
        // A descriptor the call made is written as the script's number (the live one is the process's).
        long result = fdCall && s.Result is IntExpr { Value: >= 0 } written && outcome.Result >= 0 ? written.Value : outcome.Result;
        _recorder!.Call(start, s, result, ErrnoNames.Of(outcome.Errno), value);
        if (fdCall && s.Result is IntExpr { Value: >= 0 and var number } && outcome.Result >= 0)
        {
            _fds[number] = (int)outcome.Result;
            UseSocket((int)outcome.Result);
        }
        if (s.Name == "close" && outcome.Result == 0 && SyscallMapping.IntValue(s.Arguments[0]) is { } closed) _fds.Remove(closed);
    }

    /// <summary>The result and errno as the engine runner checks them; then getsockopt's value, poll's revents, ioctl's value.</summary>
    bool CheckResult(SyscallEvent s, CallOutcome outcome, long returned)
    {
        long? expected = s.Result is IntExpr i ? i.Value : null;
        long actual = outcome.Result;
        string? errno = ErrnoNames.Of(outcome.Errno);
        var (errnoNumber, errnoText) = (outcome.Errno, errno is null ? "Success" : ErrnoTable.Describe(errno).Text);
        string prefix = $"runtime error in {s.Name} call: ";
        string actualText = errno is null ? $"{actual}" : $"{actual} {errno}";
        if (s.Name is "socket" or "accept" or "accept4" or "dup" && expected is >= 0)
        {
            if (actual < 0)
            {
                Fail(s.At.Line, prefix + $"Expected non-negative result but got {actual} with errno {errnoNumber} ({errnoText})", $"{expected}", actualText);
                return false;
            }
            _fds[expected.Value] = (int)actual;
            UseSocket((int)actual);
        }
        else if (expected is { } e && e != actual)
        {
            Fail(s.At.Line, prefix + $"Expected result {e} but got {actual} with errno {errnoNumber} ({errnoText})",
                $"{e}{(s.Errno is null ? "" : " " + s.Errno)}", actualText);
            return false;
        }
        if (s.Errno is { } want && ErrnoNames.Number(want) != outcome.Errno)
        {
            var (wantNumber, wantText) = ErrnoTable.Describe(want);
            Fail(s.At.Line, prefix + $"Expected errno {wantNumber} ({wantText}) but got {errnoNumber} ({errnoText})", $"{s.Result} {want}", actualText);
            return false;
        }
        if (s.Name == "close" && expected == 0 && SyscallMapping.IntValue(s.Arguments[0]) is { } closed) _fds.Remove(closed);
        _log.Add(() => $"{Secs(returned)} line {s.At.Line}: {s.Name}({string.Join(", ", s.Arguments)}) = {actualText}");
        if (s.Name == "getsockopt" && outcome.Errno == 0 && s.Arguments.Length > 3 && outcome.Optval is { } optval
            && KernelSyscalls.Optval(s.Arguments[3], optval) is { } values && values.Expected != values.Actual)
        {
            Fail(s.At.Line, prefix + $"Bad getsockopt optval: expected: {values.Expected} actual: {values.Actual}", values.Expected, values.Actual);
            return false;
        }
        if (s.Name == "ioctl" && outcome.Errno == 0 && s.Arguments.Length > 2 && SyscallMapping.IntValue(s.Arguments[2]) is { } wantValue && wantValue != outcome.IoctlValue)
        {
            Fail(s.At.Line, prefix + $"Bad ioctl optval: expected: {wantValue} actual: {outcome.IoctlValue}", $"{wantValue}", $"{outcome.IoctlValue}");
            return false;
        }
        if (s.Name == "poll" && outcome.Revents is { } revents && s.Arguments[0] is ListExpr list)
        {
            for (int k = 0; k < list.Items.Length; k++)
            {
                if (SyscallMapping.PollFd(list.Items[k]) is not { Revents: { } wantRevents } pollFd || wantRevents == revents[k]) continue;
                string forFd = list.Items.Length > 1 ? $" for fd {pollFd.Fd}" : "";
                Fail(s.At.Line, prefix + $"Bad poll revents{forFd}: expected: {PollEvents.Text(wantRevents)} actual: {PollEvents.Text(revents[k])}",
                    PollEvents.Text(wantRevents), PollEvents.Text(revents[k]));
                return false;
            }
        }
        return true;
    }

    // ---- shell lines and code blocks -----------------------------------------------------------

    /// <summary>A backtick line: the sysctls it sets (ShellCommands' reading: defaults.sh, sysctl, echo &gt; /proc/sys), written in this namespace at its time.</summary>
    bool Shell(ShellEvent c)
    {
        long at = StartOf(c.Time);
        if (!StartsOnTime(c, at, "command")) return false;
        SleepUntil(at);
        Anchor(at, runnersAct: false);
        long before = Libc.MonotonicNs();
        if (!ApplyShell(c, Now())) return false;
        // The command takes no script time (the engine applies it in no time): the clock of the script is shifted by what it took.
        _t0 += Libc.MonotonicNs() - before;
        return true;
    }

    /// <summary>The sysctls a backtick line sets, written in this namespace; logged at <paramref name="logAt"/> (script time).</summary>
    bool ApplyShell(ShellEvent c, long logAt)
    {
        var (sets, unsupported) = ShellCommands.Parse(c.Command);
        if (unsupported is not null) return Fail(c.At.Line, $"error executing `{c.Command.Trim()}`: {unsupported}", c.Command, "not run");
        foreach (var (name, value) in sets)
            if (Netns.WriteSysctl(name, value) is { } error) return Fail(c.At.Line, $"error executing `{c.Command.Trim()}` command: {error}", $"{name}={value}", error);
        _log.Add(() => $"{Secs(logAt)} line {c.At.Line}: `{c.Command.Trim()}`");
        return true;
    }

    /// <summary>A %{ }% block: each <c>assert tcpi_x OP value</c> against getsockopt(TCP_INFO) of the socket the script used last, at the block's time.</summary>
    bool Code(CodeEvent c)
    {
        long at = StartOf(c.Time);
        if (!StartsOnTime(c, at, "data collection for code")) return false;
        SleepUntil(at);
        Anchor(at, runnersAct: false);
        RecordCaptured();
        var info = new byte[256];
        int length = info.Length;
        var (level, name) = TcpInfoLayout.Option;
        // skmem_ names: getsockopt(SOL_SOCKET, SO_MEMINFO) now, as tcp_info is read (a closed socket has no descriptor: -1).
        var meminfo = new byte[4 * 9];
        int meminfoLength = meminfo.Length;
        bool hasMeminfo = Libc.getsockopt(_socketUnderTest, 1, 55, meminfo, ref meminfoLength) == 0;
        if (_recorder is not null) return RecordInfo(c, at, Libc.getsockopt(_socketUnderTest, level, name, info, ref length) < 0 ? null : info, hasMeminfo ? meminfo : null);
        if (Libc.getsockopt(_socketUnderTest, level, name, info, ref length) < 0)
        {
            // Closed by the script: the orphan is still the kernel's, and sock_diag finds it by its 4-tuple (as ss -ti).
            int errno = Libc.Errno;
            if (ClosedSocketUnderTest().Info is not { } orphan)
                return Fail(c.At.Line, $"error in Python code: getsockopt(TCP_INFO) failed with errno {errno} and sock_diag has no such socket", "tcp_info", "none");
            info = orphan;
        }
        // A field an assertion reads, on either side: SO_MEMINFO's u32 for a skmem_ name, else tcp_info's.
        long? ReadField(string field) =>
            SkmemFields.IndexOf(field) is var m and >= 0 ? BinaryPrimitives.ReadUInt32LittleEndian(meminfo.AsSpan(4 * m)) : TcpInfoLayout.Read(info, field);
        foreach (var a in c.Assertions)
        {
            string? meminfoField = SkmemFields.IndexOf(a.Field) >= 0 ? a.Field : null;
            if (!AssertionValue.TryParse(a.Value, out var expected))
                return Fail(c.At.Line, $"error in Python code: unknown value '{a.Value}' in `{a.Text}`", a.Value, "");
            if (SkmemFields.IndexOf(expected.Field ?? "") >= 0) meminfoField = expected.Field;
            if (meminfoField is not null && !hasMeminfo)
                return Fail(c.At.Line, $"error in Python code: getsockopt(SO_MEMINFO) failed with errno {Libc.Errno}", meminfoField, "none");
            if (ReadField(a.Field) is not { } actual)
                return Fail(c.At.Line, $"error in Python code: unknown tcp_info field {a.Field}", a.Field, "");
            long right = expected.Field is { } field ? ReadField(field) ?? 0 : 0;
            // A time the kernel measured on the real clock (RTT samples, and the RTO and ATO derived from them in
            // jiffies) cannot come out to the microsecond of the script: == holds within the tolerance.
            bool measured = a.Field is "tcpi_rtt" or "tcpi_rttvar" or "tcpi_min_rtt" or "tcpi_rcv_rtt" or "tcpi_rto" or "tcpi_ato";
            bool holds = a.Operator == "==" && measured
                ? expected.Near(actual, right, _options.ToleranceUsecs)
                : expected.Holds(a.Operator, actual, right);
            if (!holds)
                return Fail(c.At.Line, $"error in Python code: AssertionError: {a.Text} ({a.Field} is {actual})", $"{a.Field} {a.Operator} {a.Value}", $"{a.Field} = {actual}");
        }
        long checkedAt = Now();
        _log.Add(() => $"{Secs(checkedAt)} line {c.At.Line}: %{{ {string.Join("; ", c.Assertions.Select(x => x.Text))} }}%");
        return true;
    }

    /// <summary>
    /// The socket under test after the script closed it, found by its 4-tuple over sock_diag: its tcp_info (null for a
    /// timewait socket) and state, both null when the kernel has freed it — or when the socket of that 4-tuple now is
    /// another connection: another cookie than the script's socket had (a request socket of a new SYN to the listener, a
    /// connection a SYN opened over the TIME-WAIT); without a cookie, a request socket (SYN-RECV, no tcp_info) is one.
    /// </summary>
    (byte[]? Info, int? State) ClosedSocketUnderTest()
    {
        if (_localPort is not { } localPort || _remotePort is not { } remotePort) return (null, null);
        var (info, state, cookie) = SockDiag.Find(_localIp, localPort, _remoteIp, remotePort);
        bool another = _cookieUnderTest is { } mine ? state is not null && cookie != mine : info is null && state == (int)TcpState.SynRecv;
        return another ? (null, null) : (info, state);
    }

    /// <summary>
    /// Record mode: each field the block names, from the descriptor's tcp_info, else (closed by the script) sock_diag's
    /// by the 4-tuple — a TIME-WAIT socket has no tcp_info there, only its state — else "none": the kernel has freed it.
    /// </summary>
    bool RecordInfo(CodeEvent c, long at, byte[]? info, byte[]? meminfo)
    {
        int? state = null;
        if (info is null) (info, state) = ClosedSocketUnderTest();
        foreach (var a in c.Assertions)
        {
            string value = SkmemFields.IndexOf(a.Field) is var m and >= 0 ? meminfo is null ? "none" : $"{BinaryPrimitives.ReadUInt32LittleEndian(meminfo.AsSpan(4 * m))}"
                : info is not null && TcpInfoLayout.Read(info, a.Field) is { } v ? $"{v}"
                : a.Field == "tcpi_state" && state is { } st ? $"{st}" : "none";
            _recorder!.Info(at, c.At.Line, a.Field, value);
        }
        return true;
    }
}
