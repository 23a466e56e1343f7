using SimService.Domain.Scenarios;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Cli.Kernel;

/// <summary>
/// A scenario's <c>workload</c> step on the real kernel: the calls the engine's <see cref="Workload"/> makes, at the same
/// virtual times, on the scenario's client and server namespaces. Connection i's client begins at the step's time plus
/// <see cref="WorkloadSpec.ArrivalOffsetNs"/>: socket() in its host's namespace, the spec's options, a blocking connect()
/// to the server, send() of the request, recv() of the response, then its part of the close; the server's listener
/// (socket, options, bind, listen at the step's own time) accepts on a thread of its own and each child reads the request,
/// thinks, answers and closes its part. Each side is a thread of blocking calls, so each call follows the one before as
/// soon as it returns — as the engine's connection continues at a blocked call's return. connect() results are counted by
/// errno as the engine's <see cref="WorkloadResult.ConnectResults"/> counts them. Like the engine's, the listener is
/// closed once every connection's two sides are finished.
/// </summary>
internal sealed class KernelWorkload
{
    /// <summary>
    /// The most connections the workload steps of a scenario run on the kernel, all steps together: a thread for each side of
    /// every connection, all started before the run's clock (<see cref="Create"/>).
    /// </summary>
    public const int MaxConnections = 500;

    /// <summary>How long before its arrival a client's thread is started (it then sleeps to its time).</summary>
    const long StartAheadNs = 5_000_000;

    const int SoReuseAddr = 2, SoKeepAlive = 9, SoLinger = 13, TcpLinger2 = 8, TcpUserTimeout = 18, ShutWr = 1, ShutRdWr = 2;

    readonly WorkloadStep _step;
    readonly WorkloadSpec _spec;
    readonly IReadOnlyDictionary<string, HostNamespace> _hosts;
    readonly uint _serverAddress;
    long _startNs;
    readonly Lock _lock = new();
    readonly HashSet<int> _open = [];
    readonly List<Thread> _threads = [];
    readonly SortedDictionary<string, long> _connectResults = new(StringComparer.Ordinal);
    readonly List<string> _errors = [];
    /// <summary>closeFirst both: the side that got there first, waiting for its peer, by the client's local port and address.</summary>
    readonly Dictionary<(uint, ushort), ManualResetEventSlim> _together = [];
    int _listener = -1;
    long _sidesOpen;
    bool _arrivalsDone;
    volatile bool _stopping;

    /// <summary>socket() in a host's namespace: the descriptor (or -1) and the errno.</summary>
    readonly Func<string, (int Fd, int Errno)> _socket;

    /// <summary>The CPU its threads keep to, the link emulators' (<see cref="KernelScenarioRunner.WorkloadCpu"/>), or null.</summary>
    readonly int? _cpu;

    KernelWorkload(WorkloadStep step, IReadOnlyDictionary<string, HostNamespace> hosts, IReadOnlyDictionary<string, uint> addresses,
        Func<string, (int Fd, int Errno)>? socket, int? cpu)
    {
        _cpu = cpu;
        _step = step;
        _spec = step.Spec;
        _hosts = hosts;
        _serverAddress = addresses[_spec.Server];
        _socket = socket ?? (host => _hosts[host].Run(() => (Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), Libc.Errno)));
    }

    /// <summary>
    /// The workload of <paramref name="step"/>, made when the run is set up, before its clock starts: every thread it can
    /// need is started now, each waiting for a side of a connection to serve — a side of each connection, the accept loop
    /// and the arrivals (<see cref="ThreadsNeeded"/>). A thread started while the run went on began 16 ms after its
    /// Thread.Start() on this loaded machine (a server's child read its request that late); with 128 threads pooled, a
    /// workload of 500 connections arriving within 0.5 µs made 282 connect()s in the run's second (tester38 MEDIUM-4).
    /// </summary>
    public static KernelWorkload Create(WorkloadStep step, IReadOnlyDictionary<string, HostNamespace> hosts, IReadOnlyDictionary<string, uint> addresses,
        Func<string, (int Fd, int Errno)>? socket = null, int? cpu = null)
    {
        var w = new KernelWorkload(step, hosts, addresses, socket, cpu);
        int threads = ThreadsNeeded(step.Spec);
        for (int i = 0; i < threads; i++) w.StartThread(w.Serve);
        w._idle = threads;
        w._pooled = threads;
        return w;
    }

    /// <summary>The most threads a workload's sides use at once: each connection's two, its accept loop, its arrivals.</summary>
    static int ThreadsNeeded(WorkloadSpec spec) => (int)Math.Min(2 * spec.Connections + 2, 2 * MaxConnections + 2);

    int _pooled;

    /// <summary>Threads started after <see cref="Create"/> (a side that found no pooled thread idle): none when the pool holds every side.</summary>
    internal int ThreadsStartedLate
    {
        get
        {
            lock (_lock) return _threads.Count - _pooled;
        }
    }

    readonly System.Collections.Concurrent.BlockingCollection<Action> _queue = [];
    int _idle;

    /// <summary>A pooled thread: the sides of connections given to it, one after another.</summary>
    void Serve()
    {
        while (_queue.TryTake(out var work, Timeout.Infinite))
        {
            work();
            lock (_lock) _idle++;
        }
    }

    /// <summary>
    /// How often the harness makes a workload's connection at best. On two cores 500 connections arriving within 0.5 µs
    /// (every thread pooled) sent their SYNs from 4 to 233 ms into the run (tester38's wfast500.json, 6.18.44, 18:12 UTC);
    /// on the one CPU a workload's threads keep to (<see cref="KernelScenarioRunner.WorkloadCpu"/>) 500 arriving every 1 ms
    /// sent theirs 4 to 36 ms late, a median 13 ms (w500.json, 18:43 UTC): about one a millisecond. Arrivals closer than
    /// that fall behind their times.
    /// </summary>
    const long ConnectEveryNs = 1_000_000;

    /// <summary>Why the kernel run cannot make this workload step (null: it can).</summary>
    public static string? Unsupported(WorkloadStep step, ScenarioDocument doc, SimDuration longestRun)
    {
        var spec = step.Spec;
        if (spec.GeneratedClients > 0) return "a workload of generated clients (its hosts are not the document's): name the clients";
        if (spec.Connections > MaxConnections) return $"a workload of {spec.Connections:N0} connections (at most {MaxConnections}: a thread for each side of a connection)";
        // The threads of every workload step are started before the run (Create): the cap holds for all steps together
        // (tester38 LOW-9: three steps of 300 ran 900 connections' threads at once).
        long upToHere = doc.Steps.OfType<WorkloadStep>().TakeWhile(w => !ReferenceEquals(w, step)).Sum(w => w.Spec.Connections) + spec.Connections;
        if (upToHere > MaxConnections)
            return $"the scenario's workload steps make {upToHere:N0} connections up to this one (at most {MaxConnections} in all: a thread for each side of every connection, started before the run)";
        if (step.LastArrival > new SimTime(longestRun.Ns)) return $"its last connection starts at {step.LastArrival}, past the kernel run's {longestRun}";
        long behind = spec.Connections * ConnectEveryNs - spec.ArrivalOffsetNs(spec.Connections - 1);
        if (behind > KernelScenarioRunner.Tolerance.Ns)
            return $"its {spec.Connections:N0} connections arrive within {new SimDuration(spec.ArrivalOffsetNs(spec.Connections - 1))}: the harness makes a connection"
                + $" every {new SimDuration(ConnectEveryNs)} at best, so its last would start {new SimDuration(behind)} late, past the {KernelScenarioRunner.Tolerance} a kernel run's times are held to";
        // Workload.Arrive's drain timer counts from the last arrival, which the harness makes up to the tolerance late: a shorter
        // limit could end the workload before its last connection is made, or race a step at its instant (tester39 MEDIUM-5:
        // a 1 ns limit was "still running" at the next step, 1 ns after the last arrival).
        if (spec.DrainLimit.Ns < KernelScenarioRunner.Tolerance.Ns)
            return $"a drain limit of {spec.DrainLimit}: the harness may make the last connection as late as the {KernelScenarioRunner.Tolerance} a kernel run's"
                + $" times are held to, so a shorter limit could end the workload before it; give a drainLimit of at least {KernelScenarioRunner.Tolerance}";
        if (AdoptedListener(step, doc) is { } listen)
            return $"a workload adopting a listener: {listen.Path} listens on {spec.Server}:{spec.Port} before it";
        return null;
    }

    /// <summary>
    /// The listen step whose listener on the workload's server and port would exist at the workload's step — the one
    /// Workload.Listen() takes over (Workload.OwnedListener) — or null: one on another port, or closed before, is not
    /// adopted (tester38 LOW-7). A listen on a socket bound to no port the document gives (port 0, or no bind step) counts.
    /// </summary>
    static CallStep? AdoptedListener(WorkloadStep step, ScenarioDocument doc)
    {
        var before = doc.Steps.TakeWhile(s => !ReferenceEquals(s, step)).OfType<CallStep>().Where(c => c.Host == step.Spec.Server).ToList();
        for (int i = 0; i < before.Count; i++)
        {
            var listen = before[i];
            if (listen.Call != SocketCall.Listen) continue;
            var alias = listen.As ?? listen.Socket;
            int? port = listen.Port ?? before.Take(i).LastOrDefault(b => b.Call == SocketCall.Bind && b.Socket == alias)?.Port;
            if (port is > 0 && port != step.Spec.Port) continue;
            if (alias is not null && before.Skip(i + 1).Any(c => c.Call == SocketCall.Close && c.Socket == alias)) continue;
            return listen;
        }
        return null;
    }

    /// <summary>
    /// The workload ahead of its step's time (<paramref name="t0"/>: the run's time 0): its arrivals' thread starts now, so
    /// that the first client's thread waits for its time awake (a thread started at the step's time began its connect()
    /// 5.5 ms late); <see cref="Listen"/> at the step's time makes the listener, and no client connects before it.
    /// </summary>
    public void Prepare(long t0)
    {
        _startNs = t0 + _step.At.Ns;
        Spawn(Arrivals);
    }

    /// <summary>connect()'s results by errno ("0": success), as the engine's workload result counts them.</summary>
    public SortedDictionary<string, long> ConnectResults()
    {
        lock (_lock) return new(_connectResults, StringComparer.Ordinal);
    }

    /// <summary>connect() results as "0 ×10, EADDRNOTAVAIL ×2".</summary>
    public static string Describe(IReadOnlyDictionary<string, long> results) =>
        results.Count == 0 ? "none" : string.Join(", ", results.Select(r => $"{r.Key} ×{r.Value}"));

    /// <summary>Calls that failed where the engine's cannot (a setsockopt, the listener's bind): the step's run errors.</summary>
    public List<string> Errors()
    {
        lock (_lock) return [.. _errors];
    }

    /// <summary>
    /// Ends the run's workload threads: each descriptor still open is shut down (a blocked accept() or recv() returns) and
    /// closed. Only after the run's last reading: it sends FINs the engine's run never sent.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        _queue.CompleteAdding();
        _listening.Set(); // a client still waiting for a listener the run never reached goes on, and ends (review37b S-4)
        int[] open;
        lock (_lock) open = [.. _open];
        foreach (var fd in open) Libc.shutdown(fd, ShutRdWr);
        Thread[] threads;
        lock (_lock) threads = [.. _threads];
        long until = Libc.MonotonicNs() + 2_000_000_000;
        foreach (var t in threads) t.Join(TimeSpan.FromTicks(Math.Max(0, until - Libc.MonotonicNs()) / 100));
        // Closed once: whoever takes a descriptor out of the set closes it (a thread's own Close, or this).
        lock (_lock)
        {
            open = [.. _open];
            _open.Clear();
        }
        foreach (var fd in open) Libc.close(fd);
    }

    /// <summary>Runs <paramref name="work"/> on an idle pooled thread, or on a thread of its own when none is idle.</summary>
    void Spawn(Action work)
    {
        if (_stopping) return; // no work starts once Stop has begun (the queue takes no more)
        bool pooled;
        lock (_lock)
            if (pooled = _idle > 0) _idle--;
        if (pooled) _queue.Add(() => Guarded(work));
        else StartThread(() => Guarded(work));
    }

    void Guarded(Action work)
    {
        try
        {
            work();
        }
        catch (Abandoned)
        {
            // The workload was drained: the side makes no further call, its descriptor left open (Stop closes it after the run).
        }
        catch (Exception e)
        {
            Fail(e.Message);
        }
    }

    void StartThread(Action run)
    {
        var t = new Thread(() =>
        {
            Libc.RealTime(Libc.RunnerPriority);
            Libc.PinTo(_cpu);
            run();
        }, 256 * 1024) { IsBackground = true };
        lock (_lock) _threads.Add(t);
        t.Start();
    }

    void Fail(string why)
    {
        lock (_lock) _errors.Add(why);
    }

    /// <summary>socket() in <paramref name="host"/>'s namespace (a socket belongs to the namespace it was made in), the spec's options set.</summary>
    int Socket(string host)
    {
        var (fd, errno) = TrySocket(host);
        return fd >= 0 ? fd : throw new InvalidOperationException($"socket() on {host} failed ({errno})");
    }

    /// <summary><see cref="Socket"/>, or -1 and the errno's name when socket() fails.</summary>
    (int Fd, string? Errno) TrySocket(string host)
    {
        var (fd, errno) = _socket(host);
        if (fd < 0) return (-1, ErrnoNames.Of(errno));
        lock (_lock) _open.Add(fd);
        // Workload.SetOptions' order.
        if (_spec.ReuseAddr) Option(fd, Libc.SOL_SOCKET, SoReuseAddr, 1, "SO_REUSEADDR");
        if (_spec.Linger2 is { } l2) Option(fd, Libc.IPPROTO_TCP, TcpLinger2, l2, "TCP_LINGER2");
        if (_spec.KeepAlive) Option(fd, Libc.SOL_SOCKET, SoKeepAlive, 1, "SO_KEEPALIVE");
        if (_spec.UserTimeoutMs > 0) Option(fd, Libc.IPPROTO_TCP, TcpUserTimeout, _spec.UserTimeoutMs, "TCP_USER_TIMEOUT");
        return (fd, null);
    }

    void Option(int fd, int level, int name, int value, string what)
    {
        if (Libc.setsockopt(fd, level, name, BitConverter.GetBytes(value), 4) != 0) Fail($"setsockopt({what}) failed ({ErrnoNames.Of(Libc.Errno)})");
    }

    void Linger(int fd, int seconds)
    {
        if (Libc.setsockopt(fd, Libc.SOL_SOCKET, SoLinger, [.. BitConverter.GetBytes(1), .. BitConverter.GetBytes(seconds)], 8) != 0)
            Fail($"setsockopt(SO_LINGER) failed ({ErrnoNames.Of(Libc.Errno)})");
    }

    /// <summary>At the step's time: the listener (socket, options, bind, listen, as Workload.Listen()), then the arrivals go.</summary>
    public void Listen()
    {
        try
        {
            int fd = Socket(_spec.Server);
            var any = Libc.Address(0, _spec.Port);
            if (Libc.bind(fd, ref any, 16) != 0 || Libc.listen(fd, _spec.Backlog) != 0)
            {
                NotRun($"the workload's listener on {_spec.Server}:{_spec.Port} failed ({ErrnoNames.Of(Libc.Errno)})");
                return;
            }
            _listener = fd;
            Spawn(AcceptLoop);
        }
        catch (InvalidOperationException e) // its socket() failed
        {
            NotRun(e.Message);
        }
        finally
        {
            _listening.Set();
        }
    }

    /// <summary>Its listener could not be made: no connection is made, and the step is said not run (<see cref="Refusal"/>).</summary>
    void NotRun(string why)
    {
        Fail(why);
        Refuse(why);
    }

    /// <summary>
    /// The step is not run (<see cref="Refusal"/>): no listener, no connection. The runner's refusal when another workload
    /// is still running at its time, as Simulation.StartWorkload refuses it.
    /// </summary>
    public void Refuse(string why)
    {
        lock (_lock) _refusal = why;
        _stopping = true;
        _listening.Set();
        _finished.Set();
    }

    /// <summary>Whether the workload has ended (Workload.Done): every side finished, drained, or the step not run.</summary>
    public bool Done => _finished.IsSet;

    string? _refusal;

    /// <summary>Why the step made no workload (its listener failed), or null.</summary>
    public string? Refusal
    {
        get
        {
            lock (_lock) return _refusal;
        }
    }

    /// <summary>Set once <see cref="Listen"/> has made the listener (or failed): no client connects before.</summary>
    readonly ManualResetEventSlim _listening = new(false, spinCount: 0);

    void AcceptLoop()
    {
        while (!_stopping)
        {
            int child = Libc.accept4(_listener, IntPtr.Zero, IntPtr.Zero, Libc.SOCK_CLOEXEC);
            if (child < 0)
            {
                if (Libc.Errno == Libc.EINTR) continue;
                return; // the listener was closed or shut down
            }
            lock (_lock)
            {
                _open.Add(child);
                _sidesOpen++;
            }
            Spawn(() => Server(child));
        }
    }

    /// <summary>Workload.Arrive(): connection i at the step's time plus i / rate, its client the i-th of the list, round robin.</summary>
    void Arrivals()
    {
        for (long i = 0; i < _spec.Connections && !_stopping; i++)
        {
            long at = _startNs + _spec.ArrivalOffsetNs(i);
            Libc.SleepUntil(at - StartAheadNs);
            var client = _spec.Clients[(int)(i % _spec.Clients.Count)];
            lock (_lock) _sidesOpen++;
            Spawn(() =>
            {
                // A bounded spin to the time (a sleep alone woke up to 11 ms late on this loaded machine), then a blocking
                // wait for the listener, never a spin: real-time spinners on both cores starved the namespace thread that
                // makes the listener's socket (the run hung, both cores busy).
                Libc.SleepThenSpinUntil(at);
                _listening.Wait();
                if (_stopping) SideFinished(counted: true); // the run ended before its time: the engine's did not make it either
                else Client(client);
            });
        }
        lock (_lock) _arrivalsDone = true;
        SideFinished(counted: false);
        DrainAt(_startNs + _spec.ArrivalOffsetNs(_spec.Connections - 1), _spec.DrainLimit.Ns);
    }

    /// <summary>
    /// Workload.Arrive's drain timer: <paramref name="limitNs"/> after the last arrival, a workload not finished by then ends
    /// (Workload.Finish(drained: true)): its listener is closed — shutdown() wakes the accept(), as the engine's
    /// InterruptCall, and inet_csk_listen_stop() resets the children not accepted, as the engine's close() of it — and its
    /// connections stop acting: each side makes no call after the one it is in returns (<see cref="StopIfDrained"/>), its
    /// socket left as it is (tester38 MEDIUM-5: the kernel served connections the engine abandoned).
    /// </summary>
    void DrainAt(long lastArrivalNs, long limitNs)
    {
        long at = limitNs > long.MaxValue - lastArrivalNs ? long.MaxValue : lastArrivalNs + limitNs;
        // Polled, so that Stop (the run's end, usually long before a 300 s default limit) ends the wait within 100 ms; each wait
        // the smaller of 100 ms and the time left (tester39 MEDIUM-5: a whole 100 ms wait drained a 30 ms limit at ≈ 100 ms,
        // after a server's think time ended and it answered).
        for (long now; !_stopping && !_finished.IsSet && (now = Libc.MonotonicNs()) < at - 2_000_000;)
            _finished.Wait(PollMs(at - 2_000_000 - now));
        if (_stopping || _finished.IsSet) return;
        Libc.SleepThenSpinUntil(at);
        int listener;
        lock (_lock)
        {
            if (_listener < 0 || _stopping) return; // every side finished just before (CheckDone closed it), or the run ended
            _drained = true;
            listener = _listener;
            _listener = -1;
            if (!_open.Remove(listener)) return;
        }
        Libc.shutdown(listener, ShutRdWr);
        Libc.close(listener);
        _finished.Set();
    }

    /// <summary>One wait of <see cref="DrainAt"/>'s poll: the time left rounded up to a millisecond, at most 100 ms.</summary>
    internal static int PollMs(long leftNs) => (int)Math.Clamp((leftNs + 999_999) / 1_000_000, 1, 100);

    volatile bool _drained;

    /// <summary>Thrown by a side that finds the workload drained after a call returned: the side ends where it is.</summary>
    sealed class Abandoned : Exception;

    /// <summary>Workload.Connection.OnDue: once the workload is done (drained), a returned call's side stops acting.</summary>
    void StopIfDrained()
    {
        if (_drained) throw new Abandoned();
    }

    /// <summary>ClientConnection: connect → send the request → read the response → its part of the close.</summary>
    void Client(string host)
    {
        var (fd, failed) = TrySocket(host);
        if (fd < 0)
        {
            // connect()'s own socket() failed (EMFILE, ENFILE, ENOBUFS): counted by its errno as the engine counts it, and the
            // side ends at once, nothing to close (review37b N-1: it threw, the side never ended, and the run waited for it to
            // its bound with the listener open).
            CountConnect(failed);
            SideFinished(counted: true);
            return;
        }
        var to = Libc.Address(_serverAddress, _spec.Port);
        int r;
        do r = Libc.connect(fd, ref to, 16); while (r != 0 && Libc.Errno == Libc.EINTR && !_stopping);
        var errno = r == 0 ? null : ErrnoNames.Of(Libc.Errno);
        StopIfDrained(); // the engine counts a connect() by its return, which a drained workload no longer takes
        CountConnect(errno);
        if (errno is not null || (_spec.RequestBytes > 0 && !Send(fd, _spec.RequestBytes)))
        {
            Close(fd, CloseStyle.Close);
            return;
        }
        if (_spec.ResponseBytes > 0 && !ReceiveWhole(fd, _spec.ResponseBytes)) return;
        switch (_spec.CloseFirst)
        {
            case CloseFirst.Server: AwaitEof(fd); break;
            case CloseFirst.Both: CloseTogether(fd, client: true); break;
            default: Close(fd, _spec.CloseStyle); break;
        }
    }

    /// <summary>One connect() result: its errno's name, null for success ("0").</summary>
    void CountConnect(string? errno)
    {
        lock (_lock) _connectResults[errno ?? "0"] = _connectResults.GetValueOrDefault(errno ?? "0") + 1;
    }

    /// <summary>ServerConnection: read the request → think → send the response → its part of the close.</summary>
    void Server(int fd)
    {
        if (_spec.RequestBytes > 0 && !ReceiveWhole(fd, _spec.RequestBytes)) return;
        if (_spec.ThinkTime.Ns > 0) Libc.SleepThenSpinUntil(Libc.MonotonicNs() + _spec.ThinkTime.Ns);
        StopIfDrained();
        if (_spec.ResponseBytes > 0 && !Send(fd, _spec.ResponseBytes)) Close(fd, CloseStyle.Close);
        else if (_spec.CloseFirst == CloseFirst.Client) AwaitEof(fd);
        else if (_spec.CloseFirst == CloseFirst.Both) CloseTogether(fd, client: false);
        else Close(fd, _spec.CloseStyle);
    }

    /// <summary>A blocking send() of <paramref name="bytes"/> (it returns once all are queued); false on an error.</summary>
    bool Send(int fd, long bytes)
    {
        var buffer = new byte[Math.Min(bytes, 65536)];
        for (long left = bytes; left > 0;)
        {
            nint n = Libc.send(fd, buffer, (nint)Math.Min(left, buffer.Length), 0x4000 /* MSG_NOSIGNAL */);
            StopIfDrained();
            if (n < 0 && Libc.Errno == Libc.EINTR && !_stopping) continue;
            if (n <= 0) return false;
            left -= n;
        }
        return true;
    }

    /// <summary>Connection.ReceivedWhole: reads until <paramref name="expected"/> bytes are in; EOF or an error closes (false).</summary>
    bool ReceiveWhole(int fd, long expected)
    {
        var buffer = new byte[65536];
        for (long received = 0; received < expected;)
        {
            nint n = Libc.recv(fd, buffer, buffer.Length, 0);
            StopIfDrained();
            if (n < 0 && Libc.Errno == Libc.EINTR && !_stopping) continue;
            if (n <= 0)
            {
                Close(fd, CloseStyle.Close);
                return false;
            }
            received += n;
        }
        return true;
    }

    /// <summary>Connection.AwaitEof: reads until EOF or an error, then a plain close().</summary>
    void AwaitEof(int fd)
    {
        var buffer = new byte[65536];
        nint n;
        do
        {
            n = Libc.recv(fd, buffer, buffer.Length, 0);
            StopIfDrained();
        }
        while (n > 0 || (n < 0 && Libc.Errno == Libc.EINTR && !_stopping));
        Close(fd, CloseStyle.Close);
    }

    /// <summary>Connection.CloseTogether: the second side to get there releases the first; both close at that instant.</summary>
    void CloseTogether(int fd, bool client)
    {
        var local = Libc.Address(0, 0);
        int length = 16;
        _ = client ? Libc.getsockname(fd, ref local, ref length) : Libc.getpeername(fd, ref local, ref length);
        var tuple = (local.AddrBe, local.PortBe);
        ManualResetEventSlim? peer;
        var mine = new ManualResetEventSlim();
        lock (_lock)
            if (!_together.Remove(tuple, out peer)) _together[tuple] = mine;
        if (peer is not null) peer.Set();
        else
            while (!mine.Wait(100) && !_stopping) StopIfDrained();
        Close(fd, _spec.CloseStyle);
    }

    /// <summary>Connection.Close: the close style's calls; the side is finished when close() returns.</summary>
    void Close(int fd, CloseStyle style)
    {
        switch (style)
        {
            case CloseStyle.ShutdownThenClose:
                Libc.shutdown(fd, ShutWr);
                AwaitEof(fd);
                return;
            case CloseStyle.LingerZero:
                Linger(fd, 0);
                break;
            case CloseStyle.Linger:
                Linger(fd, _spec.LingerSeconds);
                break;
            // CloseStyle.Kill: the process's exit closes its one descriptor, tcp_close(sk, 0) — a plain close() (no SO_LINGER is on).
        }
        bool mine;
        lock (_lock) mine = _open.Remove(fd);
        if (mine) Libc.close(fd); // else Stop took it and closes it
        SideFinished(counted: true);
    }

    /// <summary>Workload.CheckDone: once every side is finished, the workload closes its listener.</summary>
    void SideFinished(bool counted)
    {
        int listener;
        lock (_lock)
        {
            if (counted) _sidesOpen--;
            if (!_arrivalsDone || _sidesOpen > 0 || _listener < 0) return;
            listener = _listener;
            _listener = -1;
            if (!_open.Remove(listener)) return; // Stop took it: it shuts it down and closes it
        }
        Libc.shutdown(listener, ShutRdWr); // wakes the sleeping accept(), as the engine's InterruptCall does
        Libc.close(listener);
        _finished.Set();
    }

    readonly ManualResetEventSlim _finished = new(false, spinCount: 0);

    /// <summary>Waits up to <paramref name="timeout"/> for every side to finish and the listener to be closed; whether they did.</summary>
    internal bool WaitFinished(TimeSpan timeout) => _finished.Wait(timeout);
}
