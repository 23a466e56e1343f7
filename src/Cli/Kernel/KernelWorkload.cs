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
    /// <summary>The most connections a workload step runs on the kernel: a thread per side of each open connection.</summary>
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

    KernelWorkload(WorkloadStep step, IReadOnlyDictionary<string, HostNamespace> hosts, IReadOnlyDictionary<string, uint> addresses,
        Func<string, (int Fd, int Errno)>? socket)
    {
        _step = step;
        _spec = step.Spec;
        _hosts = hosts;
        _serverAddress = addresses[_spec.Server];
        _socket = socket ?? (host => _hosts[host].Run(() => (Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), Libc.Errno)));
    }

    /// <summary>
    /// The workload of <paramref name="step"/>, made when the run is set up, before its clock starts: its threads are
    /// started now (<see cref="PooledThreads"/> at most), each waiting for a side of a connection to serve. A thread started
    /// while the run went on began 16 ms after its Thread.Start() on this loaded machine (a server's child read its request
    /// that late, and its response went out 19 ms after the engine's).
    /// </summary>
    public static KernelWorkload Create(WorkloadStep step, IReadOnlyDictionary<string, HostNamespace> hosts, IReadOnlyDictionary<string, uint> addresses,
        Func<string, (int Fd, int Errno)>? socket = null)
    {
        var w = new KernelWorkload(step, hosts, addresses, socket);
        long threads = Math.Min(PooledThreads, 2 * step.Spec.Connections + 2);
        for (int i = 0; i < threads; i++) w.StartThread(w.Serve);
        w._idle = (int)threads;
        return w;
    }

    /// <summary>The most threads a workload starts before the run (a side of a connection beyond them starts one of its own).</summary>
    const int PooledThreads = 128;

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

    /// <summary>Why the kernel run cannot make this workload step (null: it can).</summary>
    public static string? Unsupported(WorkloadStep step, ScenarioDocument doc, SimDuration longestRun)
    {
        var spec = step.Spec;
        if (spec.GeneratedClients > 0) return "a workload of generated clients (its hosts are not the document's): name the clients";
        if (spec.Connections > MaxConnections) return $"a workload of {spec.Connections:N0} connections (at most {MaxConnections}: a thread for each side of a connection)";
        long lastArrival = step.At.Ns + spec.ArrivalOffsetNs(spec.Connections - 1);
        if (lastArrival > longestRun.Ns) return $"its last connection starts at {new SimTime(lastArrival)}, past the kernel run's {longestRun}";
        if (doc.Steps.OfType<CallStep>().Any(c => c.Host == spec.Server && c.Call == SocketCall.Listen))
            return "a workload adopting a listener: the scenario's own steps listen on the server";
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
        lock (_lock) _refusal = why;
        _stopping = true;
    }

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
        do n = Libc.recv(fd, buffer, buffer.Length, 0); while (n > 0 || (n < 0 && Libc.Errno == Libc.EINTR && !_stopping));
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
        else while (!mine.Wait(100) && !_stopping) { }
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
