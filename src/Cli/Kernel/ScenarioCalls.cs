using System.Buffers.Binary;
using System.Globalization;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SocketOption = SimService.Domain.Scenarios.SocketOption;
using ShutdownHow = SimService.Domain.Scenarios.ShutdownHow;

namespace SimService.Cli.Kernel;

/// <summary>What a scenario call returned on the real kernel: result, errno name (null if none), what it wrote back (the engine's JSON form), when (ns since time 0).</summary>
internal sealed record ScenarioCallOutcome(long Result, string? Errno, string? Value, long ReturnNs)
{
    /// <summary>When the worker began the call (ns since time 0): how long it blocked counts from here, not from a late step.</summary>
    public long StartNs { get; set; }
}

/// <summary>A descriptor an alias names: its host and process, the number the scenario sees, the kernel's, and the connection's 4-tuple once known.</summary>
internal sealed class AliasEntry(string host, string process)
{
    public string Host { get; } = host;
    public string Process { get; } = process;
    public int KernelFd { get; set; } = -1;
    /// <summary>The alias's descriptor was closed (by close() or a kill): a call through it goes to a number no process has open.</summary>
    public bool Closed { get; set; }
    public (uint Local, ushort LocalPort, uint Remote, ushort RemotePort)? Tuple { get; set; }
    /// <summary>Why the alias names no descriptor yet (an accept not returned, or failed).</summary>
    public string? Unbound { get; set; }
}

/// <summary>
/// Makes a scenario's socket calls on the real kernel: each on a worker thread inside the host's network namespace
/// (so a blocking call sleeps in the kernel while later steps go on), through libc. Descriptors are numbered per
/// scenario process as the engine numbers them (the lowest free from 3) and mapped to the kernel's; results and values
/// come back in the engine's forms (getsockopt's JSON, poll's event names) so that <see cref="ScenarioRunner"/>'s call
/// checks compare them unchanged.
/// </summary>
internal sealed class ScenarioCalls(IReadOnlyDictionary<string, HostNamespace> hosts, IReadOnlyDictionary<string, uint> addresses, int engineRules)
{
    long _t0;
    readonly Lock _lock = new();
    readonly Dictionary<(string Host, string Process), SortedDictionary<int, int>> _fds = [];
    /// <summary>Numbers a call took before it made its descriptor (a sleeping accept's): open, no descriptor yet.</summary>
    readonly Dictionary<(string Host, string Process), HashSet<int>> _reserved = [];
    /// <summary>The standard streams 0–2 (one bit each) that a dup2() replaced and a close() then freed: numbers alloc_fd() may give out.</summary>
    readonly Dictionary<(string Host, string Process), int> _streamsFreed = [];
    /// <summary>
    /// Each scenario process's RLIMIT_NOFILE soft limit (absent: fs.nr_open). The runner does not set the real one:
    /// RLIMIT_NOFILE is the thread group's (signal->rlim), and the runner's worker threads are one process whose table also
    /// holds the .NET runtime's own descriptors, so a limit of 16 would be met at once and by every host alike. It applies
    /// the limit to the scenario process's own numbering instead, as alloc_fd() does: a call whose lowest free number is
    /// at or above it fails EMFILE without being made — as in the kernel, where get_unused_fd_flags() fails before
    /// __sys_socket() keeps a socket or __sys_accept4_file() reaches do_accept(), so no packet and no queue differs.
    /// </summary>
    readonly Dictionary<(string Host, string Process), long> _noFile = [];
    /// <summary>Idle workers, shared by the runs of a process (the warm-up's serve the real run: no thread is made while it runs).</summary>
    static readonly List<Worker> s_idle = [];
    static readonly Lock s_idleLock = new();

    readonly Dictionary<string, AliasEntry> _aliases = new(StringComparer.Ordinal);

    /// <summary>What an alias names now, or null when no call named it yet.</summary>
    public AliasEntry? Alias(string name)
    {
        lock (_lock) return _aliases.GetValueOrDefault(name);
    }

    /// <summary>An accept's alias, until the call returns: it names no descriptor yet.</summary>
    public void Pending(CallStep accept)
    {
        lock (_lock)
            if (accept.As is { } name) _aliases.TryAdd(name, new AliasEntry(accept.Host, accept.Process) { Unbound = $"the accept at {accept.Path} has not returned" });
    }

    /// <summary>
    /// Hands a call to an idle worker ahead of its time <paramref name="atNs"/> (the monotonic clock): the worker enters
    /// the host's namespace now, then waits for the time awake (<see cref="RunnerQueue.AddAt"/>); <see cref="Start"/>
    /// releases it at the step's time. The caller must <see cref="Prepared.Release"/> it in a finally whatever happens:
    /// until then the worker serves nothing else.
    /// </summary>
    public Prepared Prepare(CallStep step, long atNs)
    {
        var host = hosts[step.Host];
        var worker = TakeIdle(host);
        var prepared = new Prepared(worker);
        prepared.Go = worker.Give(host, atNs, () =>
        {
            if (prepared.Skipped)
            {
                Idle(worker);
                return;
            }
            prepared.Began = Now();
            prepared.Started.Set();
            ScenarioCallOutcome? outcome = null;
            Exception? failed = null;
            try
            {
                // Never in another host's namespace: a worker whose setns() failed is still in the one before.
                if (worker.NotEntered is { } why) throw new InvalidOperationException(why);
                outcome = Perform(step);
                outcome.StartNs = prepared.Began;
            }
            catch (Exception e)
            {
                failed = e;
            }
            // The call no longer needs its worker: a kill's signal (Interrupt()) must not reach the next call it serves.
            lock (_lock)
            {
                prepared.Returned = true;
                _workers.Remove(prepared.Done.Task);
            }
            // Idle before the step thread learns the call returned: the next call, prepared at once, comes to this
            // worker, which is still spinning for its next item.
            Idle(worker);
            if (failed is not null) prepared.Done.SetException(failed);
            else prepared.Done.SetResult(outcome!);
        });
        return prepared;
    }

    /// <summary>
    /// Releases a prepared call and returns once it has returned or sleeps in the kernel (the worker thread's state in
    /// /proc is S: a blocking call), so that a later step finds the effects of a call that did not block, as in the
    /// engine; the task completes when the kernel returns. Began: when the worker began the call (ns since time 0).
    /// Both waits spin first (<see cref="Libc.SpinBriefly"/>, yielding to the worker: the same priority) — the second
    /// only after the worker began the call, for while it waits for its release it sleeps too — then sleep between
    /// looks: a worker held off its core by a thread of higher priority is never waited for spinning.
    /// </summary>
    public (Task<ScenarioCallOutcome> Call, long Began) Start(Prepared call)
    {
        call.Release(skip: false);
        if (!Libc.SpinBriefly(() => call.Started.IsSet)) call.Started.Wait();
        bool Returned() => call.Done.Task.IsCompleted || call.Worker.Sleeping();
        if (!Libc.SpinBriefly(Returned))
            while (!Returned()) Libc.SleepUntil(Libc.MonotonicNs() + 50_000);
        lock (_lock)
            if (!call.Returned) _workers[call.Done.Task] = call.Worker;
        return (call.Done.Task, call.Began);
    }

    /// <summary>
    /// The worker of each call started and not returned (<see cref="Interrupt"/>): at most one entry per call in flight.
    /// It kept one per call made until session 33 — 2,000 entries, each holding its task, after 1,000 socket() and close()
    /// pairs (ScenarioCallsTests) — though the workers themselves are pooled (<see cref="s_idle"/>).
    /// </summary>
    readonly Dictionary<Task<ScenarioCallOutcome>, Worker> _workers = [];

    /// <summary>Calls started that have not returned (tests: the table is bounded by the calls in flight).</summary>
    internal int CallsInFlight
    {
        get { lock (_lock) return _workers.Count; }
    }

    /// <summary>Worker threads made by this process (tests: a long run reuses them).</summary>
    internal static int WorkersMade => Volatile.Read(ref s_made);
    static int s_made;

    /// <summary>
    /// A kill's signal reaches a thread asleep in a call: the call returns EINTR — and, if the scenario closed its
    /// descriptor meanwhile, its fdput() drops the file's last reference, so tcp_close() runs in that thread's
    /// task_work_run() (its lo softirq included) before the call is back in user space, as in the killed thread's
    /// get_signal(). Returns once the call has returned: the signal again every millisecond, for one that came before
    /// the thread was in the kernel found nothing to end; false if it has not returned within a second.
    /// </summary>
    public bool Interrupt(Task<ScenarioCallOutcome> call)
    {
        Worker? worker;
        lock (_lock) worker = _workers.GetValueOrDefault(call);
        if (worker is null) return call.IsCompleted || Task.WaitAny([call], 1000) == 0; // returned, its result on the way
        long until = Libc.MonotonicNs() + 1_000_000_000;
        while (!call.IsCompleted && Libc.MonotonicNs() < until)
        {
            Libc.InterruptCalls(worker.Tid);
            Task.WaitAny([call], 1);
        }
        return call.IsCompleted;
    }

    /// <summary>A call handed to a worker ahead of its time, to be released (made) or let go without it (its step failed before).</summary>
    internal sealed class Prepared(Worker worker)
    {
        internal Worker Worker { get; } = worker;
        internal Action Go { get; set; } = () => { };
        internal TaskCompletionSource<ScenarioCallOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal ManualResetEventSlim Started { get; } = new(false, spinCount: 1);
        internal long Began { get; set; }
        internal bool Skipped { get; private set; }
        /// <summary>The call has returned (set under the calls' lock, so that <see cref="Start"/> does not track it).</summary>
        internal bool Returned { get; set; }
        bool _released;

        /// <summary>Lets the worker go: without the call when <paramref name="skip"/> (a no-op once released).</summary>
        public void Release(bool skip = true)
        {
            if (_released) return;
            _released = true;
            Skipped = skip;
            Go();
        }
    }

    /// <summary>An idle worker, one already in <paramref name="host"/>'s namespace if there is one (no setns), else the last one idle (still spinning), else a new one.</summary>
    static Worker TakeIdle(HostNamespace host)
    {
        lock (s_idleLock)
        {
            int i = s_idle.FindLastIndex(w => w.Host == host);
            if (i < 0) i = s_idle.Count - 1;
            if (i < 0) return new Worker();
            var worker = s_idle[i];
            s_idle.RemoveAt(i);
            return worker;
        }
    }

    static void Idle(Worker worker)
    {
        lock (s_idleLock) s_idle.Add(worker);
    }

    /// <summary>The kernel descriptors a process holds (a kill closes them).</summary>
    public List<int> DescriptorsOf(string host, string process)
    {
        lock (_lock) return _fds.TryGetValue((host, process), out var table) ? [.. table.Values] : [];
    }

    /// <summary>
    /// A kill: the process's descriptors close, the highest number first; its table empties. A real kill's do_exit() →
    /// close_files() walks the descriptors upward, but each last fput() only queues ____fput() with task_work_add(),
    /// which pushes at the head of the list, and exit_task_work() runs it from the head: tcp_close() runs for the
    /// highest descriptor first (kernel/task_work.c, fs/file_table.c; the engine's Simulation.Kill). Closed here from a
    /// live thread, each close(2) runs its tcp_close() on return, so the order is the one the closes are made in: upward,
    /// as this was before, the kill's FINs left in the other order, the peer acknowledged them in that order and, with
    /// one TIME-WAIT bucket left, another socket took it (fuzz case limits-6-3: the RST for a FIN only on the engine).
    /// A dying task never lingers: inet_release() passes tcp_close() the SO_LINGER time only without PF_EXITING, so a
    /// {1, N} socket is closed here as with SO_LINGER off (the same tcp_close(sk, 0); {1, 0} keeps its RST) — a close(2)
    /// from this live thread slept N seconds in sk_stream_wait_close() and held every later step up until session 36.
    /// </summary>
    public void CloseAll(string host, string process)
    {
        lock (_lock)
        {
            _reserved.Remove((host, process));
            _streamsFreed.Remove((host, process));
            _noFile.Remove((host, process)); // the process a later call starts is a new one, with the default limit
            if (!_fds.Remove((host, process), out var table)) return;
            foreach (var fd in table.Values.Reverse())
            {
                CloseAsAtExit(fd);
                Libc.close(fd);
            }
            foreach (var a in _aliases.Values.Where(a => a.Host == host && a.Process == process && a.KernelFd >= 0)) (a.KernelFd, a.Closed) = (-1, true);
        }
    }

    /// <summary>SO_LINGER {1, N} with N &gt; 0 turned off before a kill's close (see <see cref="CloseAll"/>): what PF_EXITING does.</summary>
    static void CloseAsAtExit(int fd)
    {
        var linger = new byte[8];
        int length = linger.Length;
        if (Libc.getsockopt(fd, Libc.SOL_SOCKET, SoLinger, linger, ref length) != 0 || BitConverter.ToInt32(linger, 0) == 0 || BitConverter.ToInt32(linger, 4) == 0) return;
        Libc.setsockopt(fd, Libc.SOL_SOCKET, SoLinger, new byte[8], 8);
    }

    const int SoLinger = 13;

    /// <summary>Sets the monotonic time of the scenario's time 0, which the calls' return times count from.</summary>
    public void Begin(long t0)
    {
        _t0 = t0;
        lock (s_idleLock)
            while (s_idle.Count < 4) s_idle.Add(new Worker());
    }

    long Now() => Libc.MonotonicNs() - _t0;

    int KernelFd(CallStep s)
    {
        lock (_lock) return FdOf(s.Socket is { } alias ? _aliases.GetValueOrDefault(alias) : null, s.Host, s.Process);
    }

    /// <summary>
    /// fdget() in the calling process: the alias's kernel descriptor, or -1 for no alias. A closed alias's calls go to a
    /// descriptor no process has open, not to -1: poll() skips a negative fd (revents 0, result 0) but reports POLLNVAL
    /// for a closed one, as for the number the application closed; a number the kernel gave out again would reach another
    /// socket. So does an alias of another process's (or host's) descriptor: each process has its own table, and the
    /// engine fails such a call with EBADF (poll: POLLNVAL) as one on a number the process never opened. The runner's
    /// calls all run in one real process, where the other process's number is open: until session 37 a close() from
    /// process "child" on process "parent"'s alias closed the real descriptor and sent the FIN (0 on the kernel, EBADF on
    /// the engine).
    /// </summary>
    internal static int FdOf(AliasEntry? a, string host, string process) =>
        a is null ? -1 : a.Closed || a.Host != host || a.Process != process ? KernelSyscalls.NotOpen : a.KernelFd;

    /// <summary>
    /// alloc_fd() on the scenario process's numbering: the lowest number (as the engine: from 3, or a standard stream a dup2()
    /// replaced and a close() freed) neither open nor taken by a call still running, taken now; -1 (EMFILE) when it is at or
    /// above the process's RLIMIT_NOFILE.
    /// </summary>
    int Reserve(CallStep step)
    {
        lock (_lock)
        {
            var key = (step.Host, step.Process);
            _fds.TryGetValue(key, out var table);
            if (!_reserved.TryGetValue(key, out var reserved)) _reserved[key] = reserved = [];
            int freed = _streamsFreed.GetValueOrDefault(key);
            int n = 0;
            while ((n < 3 && (freed & (1 << n)) == 0) || table?.ContainsKey(n) == true || reserved.Contains(n)) n++;
            if (n >= _noFile.GetValueOrDefault(key, Simulation.NrOpen)) return -1;
            reserved.Add(n);
            return n;
        }
    }

    bool HasNoFile(CallStep s)
    {
        lock (_lock) return _noFile.GetValueOrDefault((s.Host, s.Process), Simulation.NrOpen) < Simulation.NrOpen;
    }

    /// <summary>put_unused_fd(): the number a failed call took is free again.</summary>
    void Unreserve(CallStep step, int number)
    {
        lock (_lock)
            if (_reserved.TryGetValue((step.Host, step.Process), out var reserved)) reserved.Remove(number);
    }

    /// <summary>A call refused before the kernel saw it, as the kernel refuses it (EMFILE, EBADF, EBUSY).</summary>
    ScenarioCallOutcome Refused(string errno) => new(-1, errno, null, Now());

    /// <summary>
    /// A call that makes a descriptor: the number first (<see cref="Reserve"/>: EMFILE at the limit, the call not made),
    /// then the kernel's call, then the number is the new descriptor's — or free again if the call failed.
    /// </summary>
    ScenarioCallOutcome NewDescriptor(CallStep s, Func<int> make) =>
        Open(s, make, out int kernelFd, out int number) ?? Outcome(number, kernelFd);

    /// <summary>The steps of <see cref="NewDescriptor"/>: null and the kernel descriptor with its number, or the outcome that refused it.</summary>
    ScenarioCallOutcome? Open(CallStep s, Func<int> make, out int kernelFd, out int number)
    {
        kernelFd = -1;
        number = Reserve(s);
        var failed = number < 0 ? Refused(Errno.EMFILE) : null;
        // As the engine: an accept holds its number across its sleep (engine rules 3), under older rules only in a process
        // with a limit of its own.
        bool held = s.Call != SocketCall.Accept || engineRules >= EngineRules.AcceptHoldsItsFd || HasNoFile(s);
        if (failed is null && !held) Unreserve(s, number);
        if (failed is null)
        {
            kernelFd = make();
            if (kernelFd >= 0)
            {
                if (!held) number = Reserve(s);
                Register(s, kernelFd, number);
                return null;
            }
            failed = Outcome(kernelFd, -1);
            if (held) Unreserve(s, number);
        }
        // As the engine's runner: the alias of a socket() that made nothing names no descriptor (an accept's stays unreturned).
        if (s.As is { } alias && s.Call != SocketCall.Accept)
            lock (_lock) _aliases[alias] = new AliasEntry(s.Host, s.Process) { Unbound = $"the {s.Call.ToWireName()} at {s.Path} failed with {failed.Errno}" };
        return failed;
    }

    static int NewTcpSocket() => Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM, Libc.IPPROTO_TCP);

    /// <summary>Installs a kernel descriptor at the number the call took, with the alias, if any.</summary>
    int Register(CallStep step, int kernelFd, int number)
    {
        lock (_lock)
        {
            var key = (step.Host, step.Process);
            if (!_fds.TryGetValue(key, out var table)) _fds[key] = table = [];
            if (_reserved.TryGetValue(key, out var reserved)) reserved.Remove(number);
            int n = number;
            table[n] = kernelFd;
            if (step.As is { } alias)
                _aliases[alias] = new AliasEntry(step.Host, step.Process) { KernelFd = kernelFd };
            return n;
        }
    }

    void Unregister(CallStep step, int kernelFd)
    {
        lock (_lock)
        {
            var key = (step.Host, step.Process);
            if (_fds.TryGetValue(key, out var table))
                foreach (var n in table.Where(e => e.Value == kernelFd).Select(e => e.Key).ToList())
                {
                    table.Remove(n);
                    if (n < 3) _streamsFreed[key] = _streamsFreed.GetValueOrDefault(key) | 1 << n;
                }
            if (step.Socket is { } alias && _aliases.TryGetValue(alias, out var a)) (a.KernelFd, a.Closed) = (-1, true);
        }
    }

    ScenarioCallOutcome Perform(CallStep s)
    {
        int fd = KernelFd(s);
        switch (s.Call)
        {
            case SocketCall.Socket:
                return NewDescriptor(s, NewTcpSocket);
            case SocketCall.Bind:
                return Outcome(Bind(fd, s.Address ?? 0, s.Port ?? 0), fd);
            case SocketCall.Listen when s.Socket is null:
            {
                if (Open(s, NewTcpSocket, out int made, out _) is { } refused) return refused;
                if (s.ReuseAddr) SetInt(made, 1, 2, 1);
                int r = Bind(made, s.Address ?? 0, s.Port ?? 0);
                return Outcome(r < 0 ? r : Libc.listen(made, s.Backlog ?? CallStep.DefaultBacklog), made);
            }
            case SocketCall.Listen:
                return Outcome(Libc.listen(fd, s.Backlog ?? CallStep.DefaultBacklog), fd);
            case SocketCall.Connect when s.Unspec == true:
            {
                // tcp_disconnect() clears inet_dport: the alias forgets its peer (target 0:0, see RemoteOf).
                var unspec = new Libc.SockaddrIn();
                return Outcome(Libc.connect(fd, ref unspec, 16), fd, (0u, (ushort)0));
            }
            case SocketCall.Connect:
            {
                if (s.Socket is null)
                {
                    if (Open(s, NewTcpSocket, out fd, out _) is { } refused) return refused;
                    if (s.Bind is { } b)
                    {
                        if (b.ReuseAddr) SetInt(fd, 1, 2, 1);
                        if (Bind(fd, 0, b.Port) is < 0 and var failed) return Outcome(failed, fd);
                    }
                }
                var to = Libc.Address(AddressOf(s.To!.Host), (ushort)s.To.Port);
                Aim(fd, AddressOf(s.To.Host), (ushort)s.To.Port);
                return Outcome(Libc.connect(fd, ref to, 16), fd, (AddressOf(s.To.Host), (ushort)s.To.Port));
            }
            case SocketCall.Accept:
                // __sys_accept4_file(): the number is taken before the kernel's accept sleeps (EMFILE: not made at all).
                return NewDescriptor(s, () => Libc.accept4(fd, IntPtr.Zero, IntPtr.Zero, 0));
            case SocketCall.Send:
                return Outcome(Libc.send(fd, CallBuffers.Zeros(s.Bytes ?? 0), (nint)(s.Bytes ?? 0), (int)(s.Flags ?? MsgFlags.None)), fd);
            case SocketCall.Recv:
            {
                long length = s.Bytes ?? 1 << 22;
                return Outcome(Libc.recv(fd, CallBuffers.Receive(length), (nint)length, (int)(s.Flags ?? MsgFlags.None)), fd);
            }
            case SocketCall.Shutdown:
                return Outcome(Libc.shutdown(fd, s.How switch { ShutdownHow.Read => 0, ShutdownHow.Write => 1, _ => 2 }), fd);
            case SocketCall.Close:
            {
                var r = Outcome(Libc.close(fd), -1);
                if (r.Errno is null) Unregister(s, fd);
                return r;
            }
            case SocketCall.Setsockopt:
                return Outcome(SetOption(fd, s.Option!.Value, s.Value!), fd);
            case SocketCall.Getsockopt:
                return GetOption(fd, s.Option!.Value);
            case SocketCall.Getpeername:
            {
                var peer = new Libc.SockaddrIn();
                int length = 16;
                int r = Libc.getpeername(fd, ref peer, ref length);
                return r < 0 ? Outcome(r, -1) : new(0, null, $"\"{Dotted(BinaryPrimitives.ReverseEndianness(peer.AddrBe))}:{Port(peer.PortBe)}\"", Now());
            }
            case SocketCall.Fcntl:
            {
                int flags = Libc.fcntl(fd, Libc.F_GETFL, 0);
                if (flags < 0) return Outcome(flags, -1);
                return Outcome(Libc.fcntl(fd, Libc.F_SETFL, s.NonBlock == true ? flags | Libc.O_NONBLOCK : flags & ~Libc.O_NONBLOCK), -1);
            }
            case SocketCall.Poll:
            {
                var fds = new[] { new Libc.PollFd { Fd = fd, Events = (short)(s.Events ?? PollEvents.POLLIN | PollEvents.POLLOUT) } };
                int r = Libc.poll(fds, 1, s.TimeoutMs ?? 0);
                return r < 0 ? Outcome(r, -1) : new(r, null, $"\"{PollEvents.Text((ushort)fds[0].Revents)}\"", Now());
            }
            case SocketCall.Dup:
                return NewDescriptor(s, () => Libc.dup(fd));
            case SocketCall.Dup2:
            {
                int newFd = s.NewFd!.Value;
                int held;
                lock (_lock) held = _fds.TryGetValue((s.Host, s.Process), out var table) && table.TryGetValue(newFd, out var k) ? k : -1;
                if (held == fd && fd >= 0) return new(newFd, null, null, Now());
                // ksys_dup3(): newfd at or above RLIMIT_NOFILE → EBADF; do_dup2(): a number a sleeping accept took → EBUSY.
                if (newFd >= _noFile.GetValueOrDefault((s.Host, s.Process), Simulation.NrOpen)) return Refused(Errno.EBADF);
                lock (_lock)
                    if (_reserved.TryGetValue((s.Host, s.Process), out var reserved) && reserved.Contains(newFd)) return Refused(Errno.EBUSY);
                int copy = Libc.dup(fd);
                if (copy < 0) return Outcome(copy, -1);
                if (held >= 0) Libc.close(held);
                Register(s, copy, newFd);
                return new(newFd, null, null, Now());
            }
            case SocketCall.Setrlimit:
            {
                // do_prlimit()'s tests (SimProcess.NoFileRefusal), then the limit of this scenario process (see _noFile).
                if (SimProcess.NoFileRefusal(s.Soft!.Value, s.Hard!.Value) is { } refused) return Refused(refused);
                lock (_lock) _noFile[(s.Host, s.Process)] = s.Soft.Value;
                return new(0, null, null, Now());
            }
            default:
                throw new InvalidOperationException($"call {s.Call} is not run on the real kernel");
        }
    }

    /// <summary>A call's outcome; after a successful call on a socket, the alias's 4-tuple is read (getsockname, getpeername or the connect's target).</summary>
    ScenarioCallOutcome Outcome(long result, int fd, (uint Address, ushort Port)? target = null)
    {
        var errno = result < 0 ? ErrnoNames.Of(Libc.Errno) : null;
        long at = Now();
        if (fd >= 0 && (errno is null || errno is "EINPROGRESS")) Learn(fd, target);
        return new ScenarioCallOutcome(errno is null ? result : -1, errno, null, at);
    }

    /// <summary>Records the 4-tuple of every alias naming this kernel descriptor.</summary>
    void Learn(int fd, (uint Address, ushort Port)? target)
    {
        var local = new Libc.SockaddrIn();
        var peer = new Libc.SockaddrIn();
        int length = 16, peerLength = 16;
        if (Libc.getsockname(fd, ref local, ref length) < 0) return;
        (uint, ushort)? peerName = Libc.getpeername(fd, ref peer, ref peerLength) == 0
            ? (BinaryPrimitives.ReverseEndianness(peer.AddrBe), Port(peer.PortBe))
            : null;
        lock (_lock)
            foreach (var a in _aliases.Values.Where(a => a.KernelFd == fd))
            {
                var (remote, remotePort) = RemoteOf(peerName, target, a.Tuple);
                a.Tuple = (BinaryPrimitives.ReverseEndianness(local.AddrBe), Port(local.PortBe), remote, remotePort);
            }
    }

    /// <summary>
    /// The remote end of an alias's 4-tuple: the peer getpeername() gave, else the call's target, else the one the alias
    /// had. Models inet_getname() — net/ipv4/af_inet.c: the peer of a socket in CLOSE (or SYN-SENT) is ENOTCONN though
    /// inet_dport still holds it — a descriptor that tcp_time_wait() left in CLOSE keeps its connection's 4-tuple for the
    /// TIME-WAIT entry its alias names after close(); only tcp_disconnect() (connect(AF_UNSPEC), whose target is 0:0)
    /// clears it. Until session 25 a call on such a descriptor (setsockopt, recv) took the tuple's remote end to 0:0,
    /// and after close() the alias named no row (fuzz case observe-24111-16).
    /// </summary>
    internal static (uint Address, ushort Port) RemoteOf((uint, ushort)? peer,
        (uint, ushort)? target, (uint Local, ushort LocalPort, uint Remote, ushort RemotePort)? known) =>
        peer ?? target ?? (known is { } k ? (k.Remote, k.RemotePort) : (0u, (ushort)0));

    /// <summary>
    /// Before a connect: the aliases of the descriptor take the target as their remote end, so that while the call
    /// sleeps (SYN-SENT, no peer for getpeername) <see cref="Refresh"/> finds the connection by its 4-tuple.
    /// </summary>
    void Aim(int fd, uint address, ushort port)
    {
        lock (_lock)
            foreach (var a in _aliases.Values.Where(a => a.KernelFd == fd))
                a.Tuple = a.Tuple is { } t ? (t.Local, t.LocalPort, address, port) : (0u, (ushort)0, address, port);
    }

    /// <summary>Learns the 4-tuple again (a listener's children, a connect that went on in the background).</summary>
    public void Refresh(AliasEntry alias)
    {
        if (alias.KernelFd >= 0) Learn(alias.KernelFd, null);
    }

    static int Bind(int fd, uint address, int port)
    {
        var a = Libc.Address(address, (ushort)port);
        return Libc.bind(fd, ref a, 16);
    }

    static int SetInt(int fd, int level, int name, int value) => Libc.setsockopt(fd, level, name, BitConverter.GetBytes(value), 4);

    static int SetOption(int fd, SocketOption option, SockoptValue value)
    {
        var (level, name) = KernelSyscalls.Option(option.ToWireName())!.Value;
        byte[] bytes = value switch
        {
            IntSockoptValue i => BitConverter.GetBytes(i.Value),
            LingerSockoptValue l => [.. BitConverter.GetBytes(l.OnOff), .. BitConverter.GetBytes(l.Seconds)],
            TimevalSockoptValue tv => [.. BitConverter.GetBytes(tv.Sec), .. BitConverter.GetBytes(tv.Usec)],
            StringSockoptValue s => System.Text.Encoding.ASCII.GetBytes(s.Text),
            PortRangeSockoptValue r => BitConverter.GetBytes((uint)(r.Lo | r.Hi << 16)),
            _ => throw new InvalidOperationException($"unknown option value {value}"),
        };
        return Libc.setsockopt(fd, level, name, bytes, bytes.Length);
    }

    /// <summary>getsockopt() in the engine's terms: the result is the option's value (0 for TCP_INFO, the errno for SO_ERROR), the value its JSON.</summary>
    ScenarioCallOutcome GetOption(int fd, SocketOption option)
    {
        var (level, name) = KernelSyscalls.Option(option.ToWireName())!.Value;
        var v = new byte[256];
        int length = v.Length;
        int r = Libc.getsockopt(fd, level, name, v, ref length);
        if (r < 0) return Outcome(r, -1);
        int i32 = BinaryPrimitives.ReadInt32LittleEndian(v);
        return option switch
        {
            SocketOption.SoLinger => new(i32 != 0 ? BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(4)) : 0, null,
                $"{{\"onoff\":{i32},\"linger\":{BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(4))}}}", Now()),
            SocketOption.SoError => new(i32, null, i32 == 0 ? "0" : $"\"{ErrnoNames.Of(i32)}\"", Now()),
            SocketOption.SoSndTimeo or SocketOption.SoRcvTimeo => new(0, null,
                $"{{\"sec\":{BinaryPrimitives.ReadInt64LittleEndian(v)},\"usec\":{BinaryPrimitives.ReadInt64LittleEndian(v.AsSpan(8))}}}", Now()),
            SocketOption.TcpCongestion => new(0, null, $"\"{System.Text.Encoding.ASCII.GetString(v, 0, Math.Max(0, Array.IndexOf(v, (byte)0)))}\"", Now()),
            SocketOption.IpLocalPortRange => new((uint)i32, null, $"{{\"lo\":{(uint)i32 & 0xffff},\"hi\":{(uint)i32 >> 16}}}", Now()),
            SocketOption.TcpInfo => new(0, null, TcpInfoJson(v), Now()),
            SocketOption.SoMeminfo => new(0, null, MeminfoJson(v), Now()),
            _ => new(i32, null, i32.ToString(CultureInfo.InvariantCulture), Now()),
        };
    }

    /// <summary>SO_MEMINFO's u32 meminfo[SK_MEMINFO_VARS] (sk_get_meminfo()) as the engine writes it (<see cref="SkMeminfo"/>).</summary>
    static string MeminfoJson(byte[] v)
    {
        uint At(int i) => BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(4 * i));
        return new SkMeminfo(At(0), At(1), At(2), At(3), At(4), At(5), At(6), At(7), At(8)).Json;
    }

    /// <summary>struct tcp_info as the engine writes TCP_INFO's value: the state's name, then every field by its name without "tcpi_".</summary>
    internal static string TcpInfoJson(byte[] info)
    {
        var fields = TcpInfoLayout.Names.Where(n => n != "tcpi_state")
            .Select(n => $"\"{n["tcpi_".Length..]}\":{TcpInfoLayout.Read(info, n)}");
        return $"{{\"state\":\"{((TcpState)info[0]).ToDisplayName()}\",{string.Join(',', fields)}}}";
    }

    uint AddressOf(string host) =>
        addresses.TryGetValue(host, out var a) ? a : Ipv4Text.TryParse(host, out var literal) ? literal : 0;

    static ushort Port(ushort big) => BinaryPrimitives.ReverseEndianness(big);

    static string Dotted(uint a) => $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}";

    /// <summary>A real-time thread that makes calls, each in the namespace of the host it is for; back in the idle pool after each.</summary>
    internal sealed class Worker
    {
        readonly RunnerQueue _queue = new();
        readonly ManualResetEventSlim _running = new();
        HostNamespace? _in;
        /// <summary>The thread's /proc/thread-self/stat, open: read again from its start, it tells the thread's state now.</summary>
        int _stat = -1, _syscall = -1;
        readonly byte[] _statText = new byte[1024], _syscallText = new byte[256];

        public Worker()
        {
            Interlocked.Increment(ref s_made);
            _queue.Add(() =>
            {
                Tid = Libc.gettid();
                _stat = Libc.open("/proc/thread-self/stat", Libc.O_RDONLY | Libc.O_CLOEXEC);
                _syscall = Libc.open("/proc/thread-self/syscall", Libc.O_RDONLY | Libc.O_CLOEXEC);
                _running.Set();
            });
            new Thread(_queue.Serve) { IsBackground = true, Name = "scenario call" }.Start();
        }

        /// <summary>Its thread's id (for <see cref="Libc.InterruptCalls"/>), once it runs.</summary>
        public int Tid { get; private set; }

        /// <summary>The namespace of the host its last call was given for (the one its thread is in once that call began).</summary>
        public HostNamespace? Host { get; private set; }

        /// <summary>Gives the thread a call for <paramref name="host"/> at <paramref name="atNs"/>: it enters the namespace now and waits for the time (<see cref="RunnerQueue.AddAt"/>).</summary>
        public Action Give(HostNamespace host, long atNs, Action work)
        {
            _running.Wait();
            Host = host;
            _queue.Add(() =>
            {
                if (_in == host) NotEntered = null;
                else if ((NotEntered = host.Enter()) is null) _in = host;
            });
            return _queue.AddAt(atNs, work);
        }

        /// <summary>Why the thread is not in the namespace of the host its last call was given for (its setns() failed), or null; read on the thread.</summary>
        public string? NotEntered { get; private set; }

        /// <summary>
        /// Whether the thread sleeps in the kernel in its call: state S in its stat (the field after the command's closing
        /// parenthesis) and, in its syscall file, a system call that is not the runtime's own wait (<see cref="InCall"/>).
        /// Both files stay open and are read again from their start (a path opened per look cost more than the look).
        /// </summary>
        public bool Sleeping()
        {
            int n = ReadAgain(_stat, _statText);
            int close = n > 0 ? Array.LastIndexOf(_statText, (byte)')', n - 1) : -1;
            if (close < 0 || close + 2 >= n || _statText[close + 2] != (byte)'S') return false;
            // Without the syscall file (a kernel built without it), the state alone, as before session 20.
            if (_syscall < 0) return true;
            int m = ReadAgain(_syscall, _syscallText);
            return m > 0 && InCall(System.Text.Encoding.ASCII.GetString(_syscallText, 0, m));
        }

        static int ReadAgain(int fd, byte[] buffer) => fd < 0 || Libc.lseek(fd, 0, 0) < 0 ? -1 : (int)Libc.read(fd, buffer, buffer.Length);
    }

    /// <summary>
    /// futex(2)'s number, the .NET runtime's waits (a contended lock, a thread held for a garbage collection): 202 on
    /// x86-64 (arch/x86/entry/syscalls/syscall_64.tbl), 98 on arm64 and the other architectures of the generic table
    /// (include/uapi/asm-generic/unistd.h), where 202 is accept(2).
    /// </summary>
    static readonly int FutexSyscall = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64 ? 202 : 98;

    /// <summary>
    /// Whether /proc/…/syscall's text shows a thread blocked in a system call that may be its socket call: a number
    /// other than futex(2). "running", or -1 (blocked outside a system call: a page fault), is not. A worker seen asleep
    /// in a futex is waiting for the runtime, not in the kernel's socket code: taken for a blocking call, the next step
    /// ran beside it (timers seed 59, case 0: close() of the socket before the setsockopt(SO_LINGER) of the same instant,
    /// which then failed with EBADF in 4 of 5 runs on 6.18.44).
    /// </summary>
    internal static bool InCall(string syscall)
    {
        var first = syscall.AsSpan().Trim();
        int space = first.IndexOf(' ');
        if (space >= 0) first = first[..space];
        return int.TryParse(first, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int nr)
            && nr >= 0 && nr != FutexSyscall;
    }
}
