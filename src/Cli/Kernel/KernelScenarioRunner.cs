using System.Collections.Immutable;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Cli.Kernel;

/// <summary>A scenario's run on the real kernel: each check's result, run errors, notes (what differs from the engine's run), the packet trace, and how long it ran.</summary>
internal sealed record KernelScenarioRun(List<CheckResult> Checks, List<ScenarioError> Errors, List<string> Notes, List<string> Trace, long EndNs,
    RunOutcome? Outcome = null, List<string>? Log = null);

/// <summary>
/// Runs a scenario document on the real Linux kernel of this machine: each host a network namespace of its own
/// (<see cref="HostNamespace"/>) brought to the engine's sysctl defaults and the host's own, each link a
/// <see cref="LinkEmulator"/> between TUN devices, the steps at their times on the monotonic clock (time 0 on a jiffy
/// lined up as the engine's, <see cref="KernelClock"/>), then the document's expectations checked by the engine
/// runner's own rules against what the kernel showed: sock_diag for sockets, /proc/net of each namespace for sockstat
/// and counters, the emulators' traces and a capture on each lo (<see cref="LoopbackCapture"/>) for packets. Times are compared with packetdrill's tolerance, 4 ms: a packet or
/// a blocked call's return within 4 ms of what the check allows passes, and an <c>expect</c> step holds when one of
/// its readings, taken from 4 ms before to 4 ms after its time (never across a neighbouring step), shows it.
/// </summary>
internal sealed class KernelScenarioRunner
{
    /// <summary>packetdrill's --tolerance_usecs default.</summary>
    public static readonly SimDuration Tolerance = SimDuration.FromMilliseconds(4);

    /// <summary>The longest run the kernel target makes (real time, not virtual): a scenario that runs longer is not run.</summary>
    public static readonly SimDuration LongestRun = SimDuration.FromSeconds(130);

    readonly ScenarioDocument _doc;
    readonly Dictionary<string, HostNamespace> _hosts = new(StringComparer.Ordinal);
    readonly Dictionary<string, uint> _addresses = new(StringComparer.Ordinal);
    readonly List<LinkEmulator> _links = [];
    readonly List<LoopbackCapture> _loopbacks = [];
    readonly List<CheckResult> _checks = [];
    readonly List<ScenarioError> _errors = [];
    readonly List<string> _notes = [];
    readonly List<(CallStep Step, long IssuedNs, Task<ScenarioCallOutcome> Call)> _calls = [];
    /// <summary>The expect steps' checks, made from their readings once the run is over (so that no step waits on them).</summary>
    readonly List<Action> _deferred = [];
    /// <summary>Every host's listings around each expect step (the readings its checks use), for the difference report.</summary>
    readonly List<(string Label, long At, List<Reading> Readings)> _snapshots = [];
    /// <summary>How late each step, call and forwarded packet was (--verbose).</summary>
    readonly RunTiming _timing = new();
    ScenarioCalls _sockets = null!;
    /// <summary>The workload steps started, each with its step (<see cref="KernelWorkload"/>).</summary>
    readonly List<(WorkloadStep Step, KernelWorkload Workload)> _workloads = [];
    /// <summary>The machine's kernel log since the setup began (null if /dev/kmsg cannot be read: dmesg checks are then noted, not made).</summary>
    KernelLog? _log;
    long _t0;

    /// <summary>--machine-orphans / --machine-mem: the parent set the scenario's tcp_max_orphans / tcp_mem on the machine (<see cref="MachineSysctl"/>); with the orphans sockstat's orphan count is checked.</summary>
    readonly MachineWide _machine;
    readonly bool _machineOrphans;

    KernelScenarioRunner(ScenarioDocument doc, MachineWide machine)
    {
        _doc = doc;
        _machine = machine;
        _machineOrphans = machine.HasFlag(MachineWide.Orphans);
    }

    /// <summary>
    /// What the kernel run cannot do in this document (it is then not run): one error per step or host. With
    /// <paramref name="machine"/> (--machine-orphans, --machine-mem) net.ipv4.tcp_max_orphans / net.ipv4.tcp_mem is allowed: the
    /// parent sets it machine-wide (a tcp_mem run only up to <see cref="LongestMachineMemRun"/>: the machine's TCP is under it meanwhile).
    /// </summary>
    public static List<ScenarioError> Unsupported(ScenarioDocument doc, MachineWide machine = MachineWide.None)
    {
        var why = new List<ScenarioError>();
        if (doc.Kernel != Domain.Engine.KernelProfile.Linux6) why.Add(new("$.kernel", "the machine runs Linux 6.18: a linux-4.4 scenario cannot run on it"));
        foreach (var h in doc.Hosts)
        {
            if (h.Kind == ScenarioHostKind.Scripted) why.Add(new($"$.hosts.{h.Name}", "a scripted host (inject steps): use a packetdrill script"));
            if (h.BehindNat is not null) why.Add(new($"$.hosts.{h.Name}.behindNat", "NAT is not emulated on the kernel"));
            foreach (var s in h.Sysctls.Where(s => IsGlobal(s.Name) && !SetOnTheMachine(machine, s.Name)))
                why.Add(new($"$.hosts.{h.Name}.sysctls.{s.Name}", MachineSysctl.Named(s.Name) is { } kind
                    ? $"a machine-wide sysctl cannot be set for one namespace ({kind.Option} sets it on the whole machine for the run)"
                    : "a machine-wide sysctl cannot be set for one namespace"));
        }
        foreach (var kind in MachineSysctl.Of(machine))
            if (kind.ValueOf(doc).Error is { } valueError) why.Add(new("$.hosts", valueError));
        if (machine.HasFlag(MachineWide.Mem) && MachineSysctl.Mem.ValueOf(doc).Value is not null)
        {
            // Without runUntil the run goes on until the kernel is idle — up to LongestRun, a TIME-WAIT's timer keeps it
            // busy — all that time under the scenario's tcp_mem (review36b M-1: "at most 10 s" did not hold).
            // One value for the machine: a host that does not set it would run under the default on the engine and under the
            // scenario's value on the kernel (review36b S-4).
            foreach (var h in doc.Hosts.Where(h => h.Sysctls.All(s => s.Name != MachineSysctl.Mem.Sysctl)))
                why.Add(new($"$.hosts.{h.Name}.sysctls", $"--machine-mem sets one {MachineSysctl.Mem.Sysctl} for the whole machine: every host must set it (the engine would run this one under the default)"));
            if (doc.RunUntil is null)
                why.Add(new("$.runUntil", $"--machine-mem needs runUntil: without it the run goes on until the kernel is idle (up to {LongestRun}), all that time with {MachineSysctl.Mem.Sysctl} set on the whole machine"));
            else if ((doc.Steps.IsEmpty ? 0 : doc.Steps[^1].At.Ns) + doc.RunUntil.Value.Ns > LongestMachineMemRun.Ns)
                why.Add(new("$.steps", $"runs past {LongestMachineMemRun} of real time with {MachineSysctl.Mem.Sysctl} set on the whole machine (--machine-mem runs are kept short)"));
        }
        if (doc.Steps.OfType<InjectStep>().ToList() is { Count: > 0 } injects)
            why.Add(new(injects[0].Path, $"{injects.Count} inject step{(injects.Count == 1 ? " is" : "s are")} not run on the kernel (from this one on)"));
        foreach (var w in doc.Steps.OfType<WorkloadStep>())
            if (KernelWorkload.Unsupported(w, doc, LongestRun) is { } workloadWhy) why.Add(new(JsonPath.Member(w.Path, "workload"), workloadWhy));
        var last = doc.Steps.IsEmpty ? SimTime.Zero : doc.Steps[^1].At;
        if (last.Ns > LongestRun.Ns)
            why.Add(new("$.steps", $"runs past {LongestRun} of real time (its last step is at {last})"));
        else if (last.Ns + (doc.RunUntil?.Ns ?? 0) > LongestRun.Ns)
            why.Add(new("$.runUntil", $"runs past {LongestRun} of real time (runUntil {doc.RunUntil} after the last step, at {last})"));
        return why;
    }

    /// <summary>The longest scenario --machine-mem runs: every socket on the machine is under its tcp_mem meanwhile.</summary>
    public static readonly SimDuration LongestMachineMemRun = SimDuration.FromSeconds(10);

    /// <summary>Whether the parent sets <paramref name="sysctl"/> on the whole machine for the run (its flag given).</summary>
    static bool SetOnTheMachine(MachineWide machine, string sysctl) => MachineSysctl.Named(sysctl) is { } kind && machine.HasFlag(kind.Flag);

    static bool IsGlobal(string sysctl) => SysctlCatalog.All.TryGetValue(sysctl, out var d) && d.Scope == SysctlScope.Global;

    /// <summary>Runs the document; null and the setup error when the namespaces or links cannot be made.</summary>
    public static (KernelScenarioRun? Run, string? SetupError) Run(ScenarioDocument doc, MachineWide machine = MachineWide.None)
    {
        var runner = new KernelScenarioRunner(doc, machine);
        try
        {
            if (runner.SetUp() is { } error) return (null, error);
            return (runner.Execute(), null);
        }
        finally
        {
            foreach (var w in runner._workloads) w.Workload.Stop();
            foreach (var link in runner._links) link.Stop();
            foreach (var lo in runner._loopbacks) lo.Stop();
            foreach (var ns in runner._hosts.Values) ns.Dispose();
            runner._log?.Dispose();
        }
    }

    /// <summary>
    /// A short scenario through every kind of step, call and check, run (and thrown away) before the real one so that the
    /// JIT has compiled each path and libc's stubs are bound: otherwise the first calls come several milliseconds late.
    /// Each form of a call counts: a connect() that makes its own socket compiled CallStep.Bind's getter at the real run's
    /// first such connect, on its worker, 0.4 ms of the call (a <c>kernel --verbose</c> run counts the methods compiled
    /// while the steps ran); a kill step compiled 14 methods at its time (kill-keeps-buffered-data's took 10 ms). A link
    /// that loses (0 &lt; loss &lt; 1) draws for every segment on the link emulator's thread — from the generator, or by
    /// segment (<see cref="SegmentLoss"/>: its dictionaries of tuple keys are generic code compiled for them) — so the
    /// warm-up draws both ways with a loss that never drops: without it, the case's first segment on a lossy link stopped
    /// the forwarding for ~9 ms while that was compiled (fuzz cases loss-27102-3 and loss-27112-1: the rest of a flight,
    /// or its ACKs, 9 ms behind the first segment in every run).
    /// </summary>
    internal const string WarmUpScenario = """
        {
          "name": "warm-up",
          "hosts": { "a": { "address": "10.255.0.1" }, "b": { "address": "10.255.0.2" } },
          "links": [ { "between": ["a", "b"], "delay": "1ms" } ],
          "steps": [
            { "host": "b", "call": "listen", "port": 9, "as": "l" },
            { "host": "a", "call": "socket", "as": "c" },
            { "host": "a", "call": "setsockopt", "socket": "c", "option": "SO_REUSEADDR", "value": 1 },
            { "host": "a", "call": "bind", "socket": "c", "port": 0 },
            { "host": "a", "call": "connect", "socket": "c", "to": "b:9", "expect": { "result": 0 } },
            { "host": "b", "call": "accept", "socket": "l", "as": "s" },
            { "host": "a", "call": "connect", "to": "b:9", "bind": { "port": 0, "reuseaddr": true }, "as": "c2" },
            { "at": "+5ms", "host": "a", "call": "send", "socket": "c", "bytes": 10 },
            { "host": "a", "call": "poll", "socket": "c", "events": ["POLLOUT"], "expect": { "result": 1 } },
            { "host": "a", "call": "getpeername", "socket": "c", "expect": { "value": "b:9" } },
            { "host": "a", "call": "getsockopt", "socket": "c", "option": "TCP_INFO", "expect": { "value": { "state": "ESTABLISHED" } } },
            { "host": "a", "call": "getsockopt", "socket": "c", "option": "SO_ERROR" },
            { "host": "a", "call": "getsockopt", "socket": "c", "option": "SO_RCVTIMEO" },
            { "host": "a", "call": "getsockopt", "socket": "c", "option": "TCP_NODELAY" },
            { "host": "a", "call": "fcntl", "socket": "c", "nonblock": true },
            { "host": "a", "call": "recv", "socket": "c", "expect": { "result": "EAGAIN" } },
            { "host": "a", "call": "dup", "socket": "c", "as": "d" },
            { "host": "a", "call": "close", "socket": "d" },
            { "at": "+5ms", "host": "b", "call": "recv", "socket": "s", "bytes": 10 },
            { "sysctl": { "host": "a", "values": { "net.ipv4.tcp_fin_timeout": 60 } } },
            { "link": { "between": ["a", "b"], "delay": "1ms", "loss": 0.000001 } },
            { "host": "a", "call": "shutdown", "socket": "c", "how": "SHUT_WR" },
            { "at": "+1ms", "link": { "between": ["a", "b"], "lossBySegment": true } },
            { "host": "a", "call": "setsockopt", "socket": "c", "option": "SO_LINGER", "value": { "onoff": 1, "linger": 0 } },
            { "host": "a", "call": "getsockopt", "socket": "c", "option": "SO_LINGER" },
            { "at": "+5ms", "expect": { "sockets": [ { "socket": "c", "state": "FIN-WAIT-2" }, { "host": "b", "local": ":9", "count": 3 } ],
                "sockstat": { "a": { "tw": 0 } }, "counters": { "a": { "TcpExt.TW": 0 } }, "dmesg": { "a": [ "warm-up" ] } } },
            { "host": "a", "call": "close", "socket": "c" },
            { "host": "b", "call": "close", "socket": "s" },
            { "host": "a", "call": "close", "socket": "c2" },
            { "host": "a", "process": "k", "call": "socket", "as": "k" },
            { "workload": { "clients": ["a"], "server": "b", "port": 10, "rate": 1000, "count": 2, "requestBytes": 10, "responseBytes": 10,
                "closeFirst": "both", "closeStyle": "shutdown-then-close", "reuseaddr": true } },
            { "kill": { "host": "a", "process": "k", "signal": "SIGKILL" } }
          ],
          "runUntil": "5ms",
          "expect": { "packets": [ { "from": "a", "flags": "S" } ], "noPackets": [ { "flags": "F" } ], "packetsExact": [ { "flags": "S" } ] }
        }
        """;

    /// <summary>Runs <see cref="WarmUpScenario"/>; its outcome is not used.</summary>
    public static void WarmUp()
    {
        if (ScenarioParser.Parse(WarmUpScenario).Document is { } doc) Run(doc);
        // A flight's worth of distinct segments drawn by segment: its dictionaries grow (resize) as a bulk transfer's do.
        var bySegment = new SegmentLoss(0);
        for (uint i = 0; i < 64; i++) bySegment.Draw(new Endpoint(new IPv4(1), 1), new Endpoint(new IPv4(2), 2), TcpFlags.Ack, 1 + i * 1448, 1, 1448);
    }

    // ---- setup -----------------------------------------------------------------------------

    /// <summary>
    /// The buckets of each host namespace's own established-hash table: tcp_set_hashinfo() (net/ipv4/tcp_ipv4.c) gives a
    /// namespace one of its own when the namespace that makes it has net.ipv4.tcp_child_ehash_entries set, and
    /// inet_diag_dump_icsk() walks the table a namespace uses, every bucket. The machine's has 262144 buckets: each
    /// host's dump took 1.3 ms, an expect step's reading of two hosts 2.6 ms, and its five readings 2 ms apart made it
    /// and the steps after it late by up to 30 ms. The table's size changes no rule of TCP; tcp_set_hashinfo() derives
    /// the defaults of tcp_max_tw_buckets (buckets / 2) and tcp_max_syn_backlog (max(128, buckets / 128)) from it, which
    /// the run then writes back to the engine's (<see cref="HostNamespace.ApplyEngineDefaults"/>).
    /// </summary>
    internal const int HostEhashEntries = 1024;

    string? SetUp()
    {
        bool defaultsNoted = false;
        // Before any sysctl is written: a write can log (ip_local_port_range's parity warning).
        if (_doc.Steps.Any(s => s is ExpectStep { Expect.Dmesg.IsEmpty: false }) || _doc.Expect?.State.Dmesg.IsEmpty == false)
        {
            (_log, var why) = KernelLog.Open();
            if (why is not null) _notes.Add($"dmesg checks not made: {why}");
        }
        // Before the hosts' namespaces are made: each then gets an established-hash table of its own, whose sock_diag dump
        // walks its buckets only (see HostEhashEntries).
        if (Netns.WriteSysctl("net.ipv4.tcp_child_ehash_entries", HostEhashEntries.ToString(System.Globalization.CultureInfo.InvariantCulture)) is { } ehashError)
            _notes.Add($"the hosts share the machine's established-hash table ({ehashError}): each reading of their sockets walks all of it");
        for (int i = 0; i < _doc.Hosts.Length; i++)
        {
            var host = _doc.Hosts[i];
            var (ns, error) = HostNamespace.Create(host.Name);
            if (ns is null) return error;
            _hosts[host.Name] = ns;
            if (error is not null) return error;
            _addresses[host.Name] = host.Address;
            ns.WriteSysctl("net.ipv6.conf.all.disable_ipv6", "1");
            ns.WriteSysctl("net.ipv6.conf.default.disable_ipv6", "1");
            var (changed, refused) = ns.ApplyEngineDefaults(_doc.Kernel);
            if (!defaultsNoted && changed.Count > 0)
                _notes.Add($"set to the engine's defaults in each namespace: {string.Join("; ", changed)}");
            defaultsNoted = true;
            if (refused.Count > 0) return string.Join("; ", refused);
            foreach (var s in host.Sysctls.Where(s => !SetOnTheMachine(_machine, s.Name)))
                if (ns.WriteSysctl(s.Name, s.Text) is { } sysctlError) return sysctlError;
            var own = AddressesOf(host).ToHashSet();
            foreach (var a in own)
                if (ns.Ip("addr", "add", $"{Ipv4Text.Format(a)}/32", "dev", "lo") is { } addrError) return addrError;
            var (capture, captureError) = LoopbackCapture.Open(ns, a => a >> 24 == 127 || own.Contains(a));
            if (capture is null) return captureError;
            _loopbacks.Add(capture);
        }
        for (int i = 0; i < _doc.Links.Length; i++)
        {
            var link = _doc.Links[i];
            var (a, errorA) = Attach(link.A, link.B, $"sl{i}");
            var (b, errorB) = Attach(link.B, link.A, $"sl{i}");
            if ((errorA ?? errorB) is { } error) return error;
            _links.Add(new LinkEmulator(link, a, b, _doc.Seed, WorkloadCpu(_doc)));
            if (link.Loss is > 0 and < 1 && !link.LossBySegment)
                _notes.Add($"link {link.A}-{link.B}: loss {link.Loss} is drawn from the seed on its own, so other segments are dropped than in the engine's run");
        }
        _sockets = new ScenarioCalls(_hosts, _addresses, _doc.EngineRules ?? EngineRules.Current);
        foreach (var workload in _doc.Steps.OfType<WorkloadStep>()) _workloads.Add((workload, KernelWorkload.Create(workload, _hosts, _addresses, cpu: WorkloadCpu(_doc))));
        return null;
    }

    /// <summary>
    /// The CPU a scenario with a workload step keeps its link emulators' and workload's threads on (the machine's last), or
    /// null. The engine delivers the segments due at one instant, then runs the call they woke; on two cores a client's
    /// recv() thread, woken by the first segment of a response, ran on the other core and owned the socket while the
    /// emulator wrote the next ones, so tcp_v4_rcv() put them in its backlog (TCPBacklogCoalesce 0 → 1) — one ACK fewer,
    /// TCPRcvCoalesce and TCPHPHits lower (tester38 MEDIUM-3). On the emulator's core the woken thread (priority
    /// <see cref="Libc.RunnerPriority"/>) waits until the emulator (60) has written what is due and sleeps.
    /// </summary>
    internal static int? WorkloadCpu(ScenarioDocument doc) =>
        doc.Steps.Any(s => s is WorkloadStep) ? Environment.ProcessorCount - 1 : null;

    IEnumerable<uint> AddressesOf(ScenarioHost host) => [host.Address, .. host.Addresses ?? []];

    /// <summary>A TUN device in <paramref name="host"/>'s namespace, up, with routes to the peer's addresses through it.</summary>
    (int Fd, string? Error) Attach(string host, string peer, string device)
    {
        var ns = _hosts[host];
        var (fd, error) = ns.Run(() => TunDevice.Attach(device));
        if (fd < 0) return (fd, error);
        if (ns.Ip("link", "set", device, "up") is { } upError) return (-1, upError);
        foreach (var a in AddressesOf(_doc.Hosts.First(h => h.Name == peer)))
            if (ns.Ip("route", "add", $"{Ipv4Text.Format(a)}/32", "dev", device, "src", Ipv4Text.Format(_addresses[host])) is { } routeError)
                return (-1, routeError);
        return (fd, null);
    }

    // ---- steps -----------------------------------------------------------------------------

    KernelScenarioRun Execute()
    {
        var timeline = Timeline();
        var countersBefore = _hosts.ToDictionary(h => h.Key, h => h.Value.Counters(), StringComparer.Ordinal);
        // Collect now, and as little as possible while it runs: a collection stops every thread, the real-time ones too.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.SustainedLowLatency;
        Libc.RealTime(Libc.RunnerPriority);
        _t0 = KernelClock.NextAlignedTick(aheadNs: 50_000_000) ?? Libc.MonotonicNs() + 50_000_000;
        foreach (var link in _links) link.Start(_t0);
        foreach (var lo in _loopbacks) lo.Start(_t0);
        _sockets.Begin(_t0);
        int collections = GC.CollectionCount(0);
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        foreach (var (at, label, step, reading) in timeline)
        {
            // A call is handed to a worker before its time and released at it (always: the worker serves nothing else
            // until then): a worker woken only at the step's time began the call 0.1–0.5 ms late, or 2 ms for its setns.
            var prepared = step is CallStep call ? _sockets.Prepare(call, _t0 + at) : null;
            if (step is WorkloadStep workload) _workloads.Single(w => ReferenceEquals(w.Step, workload)).Workload.Prepare(_t0);
            long began;
            long? callBegan = null;
            try
            {
                Libc.SleepThenSpinUntil(_t0 + at);
                began = Now();
                if (step is not null) callBegan = Perform(step, prepared);
                else reading!();
            }
            finally
            {
                prepared?.Release();
            }
            _timing.Step(at, label, began, callBegan, Now());
        }
        _timing.Collections = GC.CollectionCount(0) - collections;
        _timing.Compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiled;
        if (_timing.Latest is { Late: > 1_000_000 } latest)
            _notes.Add($"the latest step began {latest.Late / 1e6:0.0} ms after its time, {new SimTime(latest.At)} (the machine's scheduling)");
        foreach (var check in _deferred) check();
        long end = RunAfterLastStep();
        var endReading = Read(StateChecks.None, end);
        var countersAfter = _hosts.ToDictionary(h => h.Key, h => RunOutcome.Deltas(countersBefore[h.Key], h.Value.Counters()), StringComparer.Ordinal);
        if (KernelClock.Offset(_t0) is { } offset && offset != 0)
            _notes.Add($"the kernel's jiffies were {offset} ahead of the engine's (mod 512) during the run: its timers fall that much later");
        foreach (var (step, issued, call) in _calls)
        {
            if (call.IsFaulted)
            {
                _errors.Add(new(step.Path, call.Exception!.InnerException!.Message));
                continue;
            }
            if (step.Expect is not { } expect) continue;
            if (!call.IsCompleted)
            {
                _checks.AddRange(ScenarioRunner.FailedCallChecks(step, expect, $"still blocked at the end of the run (issued at {new SimTime(issued)})", new SimTime(end)));
                continue;
            }
            var o = call.Result;
            var value = step.Option == Domain.Scenarios.SocketOption.TcpInfo && expect.Value is { } want && o.Value is { } got ? MeasuredWithinTolerance(want, got) : o.Value;
            var returned = new CallReturned(new SimTime(o.ReturnNs), 0, step.Host, step.Process, 0, default, 0, o.Result, o.Errno,
                new SimDuration(Math.Max(0, o.ReturnNs - Math.Max(issued, o.StartNs))), value);
            _checks.AddRange(ScenarioRunner.CallChecks(step, expect, returned, HostPortAddress, Tolerance));
        }
        if (_doc.Expect is { } final) CheckFinal(final, end);
        foreach (var (step, workload) in _workloads)
        {
            var path = JsonPath.Member(step.Path, "workload");
            _notes.Add($"{path}: connect() results on the kernel: {KernelWorkload.Describe(workload.ConnectResults())}");
            foreach (var why in workload.Errors()) _errors.Add(new(path, why));
        }
        foreach (var lo in _loopbacks)
            if (lo.Drops() is { Drops: > 0 } stats)
                _errors.Add(new("$", $"the capture on lo of {lo.Host} dropped {stats.Drops} of {stats.Packets} packets (PACKET_STATISTICS tp_drops, its ring full): the run's packets are not evidence"));
        var packets = Packets();
        var outcome = new RunOutcome([.. packets.Select(OutcomePacket.Of)],
            [.. _snapshots.Select(s => new OutcomeSnapshot(s.Label, s.At, [.. s.Readings.Select(Outcome)])), new OutcomeSnapshot(RunOutcome.End, end, [Outcome(endReading)])],
            countersAfter)
        {
            ConnectResults = [.. _workloads.Select(w => new StepConnectResults(JsonPath.Member(w.Step.Path, "workload"), w.Workload.ConnectResults()) { Refused = w.Workload.Refusal })],
            LinkLatenessNs = Median(_links.SelectMany(l => l.Lateness())),
        };
        var log = _timing.Lines(_links.Select(l => ($"{l.A}-{l.B}", l.Lateness())));
        return new KernelScenarioRun(_checks, _errors, _notes, [.. packets.Select(p => p.ToString())], end, outcome, log);
    }

    /// <summary>The median of <paramref name="values"/>, null when there are none.</summary>
    static long? Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? null : sorted[sorted.Count / 2];
    }

    /// <summary>The tcp_info fields measured on the real clock (µs): the RTT estimator's and the timers derived from it.</summary>
    static readonly string[] MeasuredFields = ["rtt", "rttvar", "min_rtt", "rcv_rtt", "rto", "ato"];

    /// <summary>
    /// TCP_INFO's value with each measured field the check names taken as the expected one when it lies within the
    /// tolerance of it (as the script runner treats tcpi_rtt … tcpi_ato): a real RTT of 20.3 ms is the engine's 20 ms.
    /// </summary>
    static string MeasuredWithinTolerance(string expected, string actual)
    {
        if (System.Text.Json.Nodes.JsonNode.Parse(expected) is not System.Text.Json.Nodes.JsonObject want
            || System.Text.Json.Nodes.JsonNode.Parse(actual) is not System.Text.Json.Nodes.JsonObject got)
            return actual;
        foreach (var field in MeasuredFields)
            if (want[field]?.GetValue<long>() is { } e && got[field]?.GetValue<long>() is { } a && Math.Abs(a - e) <= Tolerance.Ns / 1000)
                got[field] = e;
        return got.ToJsonString();
    }

    /// <summary>
    /// Every step's action at its time, named for the log; an expect step becomes readings around its time, then its
    /// checks.
    /// </summary>
    List<(long At, string Label, ScenarioStep? Step, Action? Reading)> Timeline()
    {
        var timeline = new List<(long At, int Order, string Label, ScenarioStep? Step, Action? Reading)>();
        var steps = _doc.Steps;
        for (int i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            long at = step.At.Ns;
            if (step is ExpectStep expect)
            {
                long low = Math.Max(at - Tolerance.Ns, i > 0 ? steps[i - 1].At.Ns : 0);
                long high = Math.Min(at + Tolerance.Ns, i + 1 < steps.Length ? steps[i + 1].At.Ns : long.MaxValue);
                var readings = new List<Reading>();
                var times = new SortedSet<long> { low, (low + at) / 2, at, (at + high) / 2, high };
                foreach (var t in times)
                    timeline.Add((t, i, $"{expect.Path} expect (a reading)", null, () => readings.Add(Read(expect.Expect, t))));
                _snapshots.Add((expect.Path, at, readings));
                _deferred.Add(() => CheckState(expect.Expect, JsonPath.Member(expect.Path, "expect"), readings, at, LoggedBy(high)));
            }
            else timeline.Add((at, i, $"{step.Path} {Kind(step)}", step, null));
        }
        return [.. timeline.OrderBy(e => e.At).ThenBy(e => e.Order).Select(e => (e.At, e.Label, e.Step, e.Reading))];
    }

    static string Kind(ScenarioStep step) => step switch
    {
        CallStep c => c.Call.ToString().ToLowerInvariant(),
        LinkStep => "link",
        SysctlStep => "sysctl",
        KillStep => "kill",
        WorkloadStep => "workload",
        _ => step.GetType().Name,
    };

    /// <summary>
    /// Carries out a step (a call through its <paramref name="prepared"/> worker); returns when its call began (ns since
    /// time 0), null for a step that makes none.
    /// </summary>
    long? Perform(ScenarioStep step, ScenarioCalls.Prepared? prepared)
    {
        switch (step)
        {
            case CallStep call:
                if (call.Socket is { } alias && _sockets.Alias(alias)?.Unbound is { } why)
                {
                    _errors.Add(new(call.Path, why));
                    break;
                }
                if (call.Call == SocketCall.Accept) _sockets.Pending(call);
                // A call that returns at once does so before the next step, as in the engine; a blocking one goes on in the background.
                var (task, began) = _sockets.Start(prepared!);
                // A call the worker could not make (its setns() into the host's namespace failed) is the step's error.
                if (task.IsFaulted) _errors.Add(new(call.Path, task.Exception!.InnerException!.Message));
                else _calls.Add((call, call.At.Ns, task));
                return began;
            case LinkStep link:
                foreach (var l in _links.Where(l => (l.A == link.A && l.B == link.B) || (l.A == link.B && l.B == link.A)))
                    l.Change(link.Direction?.From, link.Delay, link.Loss, link.LossBySegment);
                break;
            case SysctlStep sysctl:
                foreach (var s in sysctl.Values)
                    if (_hosts[sysctl.Host].WriteSysctl(s.Name, s.Text) is { } error) _errors.Add(new(JsonPath.Member(sysctl.Path, s.Name), error));
                break;
            case KillStep kill:
                // complete_signal() wakes every thread of the process: each blocked call returns EINTR (a file it held last
                // closed in its thread's get_signal() → task_work_run()) before do_exit() closes the descriptors.
                foreach (var (blocked, _, sleeping) in _calls)
                    if (blocked.Host == kill.Host && blocked.Process == kill.Process && !sleeping.IsCompleted && !_sockets.Interrupt(sleeping))
                        _errors.Add(new(kill.Path, $"the call at {blocked.Path} did not return within a second of the kill's signal"));
                _sockets.CloseAll(kill.Host, kill.Process);
                break;
            case WorkloadStep workload:
                var started = _workloads.Single(w => ReferenceEquals(w.Step, workload)).Workload;
                // Simulation.StartWorkload: one workload runs at a time. The reader refuses a step sure to overlap (before the
                // last arrival); one that comes after it, while connections are still open, is refused here as the engine's run does.
                if (_workloads.TakeWhile(w => !ReferenceEquals(w.Step, workload)).FirstOrDefault(w => !w.Workload.Done).Step is { } running)
                {
                    var overlap = $"the workload of {running.Path} is still running on the kernel: one workload runs at a time";
                    started.Refuse(overlap);
                    _errors.Add(new(step.Path, overlap));
                }
                else started.Listen(); // prepared before its time (Execute)
                break;
            default:
                throw new InvalidOperationException($"step {step.GetType().Name} is not run on the kernel");
        }
        return null;
    }

    /// <summary>
    /// After the last step: for <c>runUntil</c>, or until the kernel is idle as the engine's queue drains — no socket
    /// with a timer that ss shows, nothing on a link — read twice 250 ms apart, at most <see cref="LongestRun"/>.
    /// </summary>
    long RunAfterLastStep()
    {
        long last = _doc.Steps.IsEmpty ? 0 : _doc.Steps[^1].At.Ns;
        if (_doc.RunUntil is { } runFor)
        {
            Libc.SleepUntil(_t0 + last + runFor.Ns);
            return last + runFor.Ns;
        }
        int quiet = 0;
        while (Now() < LongestRun.Ns && quiet < 2)
        {
            bool idle = _links.All(l => l.Idle) && _hosts.Values.All(h => h.Run(SockDiag.Dump).All(r => r.Timer == 0));
            quiet = idle ? quiet + 1 : 0;
            if (quiet < 2) Thread.Sleep(idle ? 250 : 20);
        }
        return Now();
    }

    long Now() => Libc.MonotonicNs() - _t0;

    // ---- what the kernel shows -------------------------------------------------------------

    /// <summary>What an expect step checks, as the kernel shows it at one instant: each host's sockets, sockstat and counters, each alias's rows.</summary>
    internal sealed record Reading(long AtNs, Dictionary<string, List<SocketRow>> Hosts, Dictionary<string, List<SocketRow>> Aliases,
        Dictionary<string, Dictionary<string, long>> Sockstat, Dictionary<string, Dictionary<string, long>> Counters);

    /// <summary>A reading's listings of every host as the difference report takes them.</summary>
    OutcomeReading Outcome(Reading reading) => new(reading.AtNs,
        [.. _doc.Hosts.SelectMany(h => reading.Hosts.GetValueOrDefault(h.Name) ?? []).Select(r => OutcomeSocket.Of(r, HostAt)).OfType<OutcomeSocket>()]);

    /// <summary>The name of the host that has <paramref name="address"/>, or null.</summary>
    string? HostAt(IPv4 address) => _doc.Hosts.FirstOrDefault(h => AddressesOf(h).Contains(address.Value))?.Name;

    Reading Read(StateChecks checks, long at)
    {
        var hosts = new Dictionary<string, List<SocketRow>>(StringComparer.Ordinal);
        List<SocketRow> RowsOf(string host) => hosts.TryGetValue(host, out var r) ? r : hosts[host] = _hosts[host].Run(SockDiag.Dump).Select(x => Row(host, x)).ToList();
        var aliases = new Dictionary<string, List<SocketRow>>(StringComparer.Ordinal);
        // Every host's listing, for the difference report (a dump of each namespace's sockets: well under a millisecond).
        foreach (var name in _hosts.Keys) RowsOf(name);
        foreach (var c in checks.Sockets)
        {
            if (c.Selector is HostSelector h && _hosts.ContainsKey(h.Host)) RowsOf(h.Host);
            if (c.Selector is AliasSelector a && _sockets.Alias(a.Alias) is { Unbound: null } entry)
            {
                _sockets.Refresh(entry);
                aliases[a.Alias] = AliasRows(entry, RowsOf(entry.Host));
            }
        }
        var sockstat = checks.Sockstat.Where(s => _hosts.ContainsKey(s.Host)).DistinctBy(s => s.Host).ToDictionary(s => s.Host, s => _hosts[s.Host].Sockstat());
        var counters = checks.Counters.Where(s => _hosts.ContainsKey(s.Host)).DistinctBy(s => s.Host).ToDictionary(s => s.Host, s => _hosts[s.Host].Counters());
        return new Reading(at, hosts, aliases, sockstat, counters);
    }

    /// <summary>A sock_diag row as the engine's listing row: state (a timewait socket shows its substate), endpoints, the ss -o timer and its time left.</summary>
    static SocketRow Row(string host, SockDiag.Row r) => new(host, r.Timer == 3 ? SocketRowKind.TimeWait : SocketRowKind.Full, 0, (TcpState)r.State,
        new Endpoint(new IPv4(r.Local), r.LocalPort), new Endpoint(new IPv4(r.Remote), r.RemotePort), 0, 0,
        r.Timer switch { 1 => "on", 2 => "keepalive", 3 => "timewait", 4 => "persist", _ => null },
        new SimTime(r.ExpiresMs * 1_000_000L), 0, false);

    /// <summary>
    /// The rows of an alias's connection: those of its 4-tuple (the socket, or what the kernel keeps after close: an
    /// orphan, a timewait entry) — none while the descriptor is still open on a socket tcp_time_wait() left in CLOSE
    /// (unhashed, no ss row: the alias is CLOSED and the TIME-WAIT entry a row of its own, as docs/scenario-format.md
    /// and the engine's SocketListing.RowsOf have it). Until session 24 the runner gave such an alias a CLOSED row and
    /// the TIME-WAIT entry both, so an alias check of CLOSED failed where the engine's passed (fuzz case observe-24103-26).
    /// Any open descriptor in CLOSE is unhashed, so a row of its 4-tuple — the TIME-WAIT entry, or another socket's
    /// connection on the same ports — is never its own (the alias keeps its tuple: <see cref="ScenarioCalls.RemoteOf"/>).
    /// </summary>
    List<SocketRow> AliasRows(AliasEntry alias, List<SocketRow> rows)
    {
        if (alias.Tuple is not { } t) return [];
        var mine = rows.Where(r => r.Local.Address.Value == t.Local && r.Local.Port == t.LocalPort && r.Remote.Address.Value == t.Remote && r.Remote.Port == t.RemotePort).ToList();
        if (alias.KernelFd >= 0 && mine.Count > 0)
        {
            var info = new byte[256];
            int length = info.Length;
            if (Libc.getsockopt(alias.KernelFd, 6, 11, info, ref length) == 0 && (TcpState)info[0] == TcpState.Close) return [];
        }
        return mine;
    }

    // ---- checks ----------------------------------------------------------------------------

    /// <summary>
    /// The last instant (ns since time 0) whose kernel log lines an expect step's <c>dmesg</c> checks count: its last
    /// reading's time, <paramref name="high"/>, as late as the run was by then (the latest step's lateness up to it,
    /// <see cref="RunTiming.LateBy"/>). A step made late makes the packets it sends and their log lines late too: when the
    /// machine held the run up 42.8 ms, the readings read the log before the emulator had written the SYN whose SYN flood
    /// line they looked for. The log is read when the checks are made, after the last step, so a line the kernel printed
    /// after a reading counts if it was stamped by this instant; one a later step caused does not.
    /// </summary>
    long LoggedBy(long high) => high + _timing.LateBy(high);

    /// <summary>
    /// Each check of an expect step holds when one reading shows it; the actual text is the reading nearest the step's
    /// time, or the one that held. A <c>dmesg</c> check holds when a kernel log line stamped by <paramref name="loggedBy"/> has the text.
    /// </summary>
    void CheckState(StateChecks checks, string path, List<Reading> readings, long at, long loggedBy)
    {
        var nearest = readings.OrderBy(r => Math.Abs(r.AtNs - at)).ToList();
        var sockets = JsonPath.Member(path, "sockets");
        for (int i = 0; i < checks.Sockets.Length; i++)
        {
            var c = checks.Sockets[i];
            var results = nearest.Select(r => SocketCheck(c, JsonPath.Item(sockets, i), r)).ToList();
            _checks.Add(results.FirstOrDefault(r => r.Passed) ?? results[0]);
        }
        foreach (var c in checks.Sockstat)
            if (Sockstat(c, JsonPath.Member(JsonPath.Member(path, "sockstat"), c.Host), nearest, _machineOrphans, _notes) is { } check)
                _checks.Add(check);
        foreach (var c in checks.Counters)
        {
            var p = JsonPath.Member(JsonPath.Member(JsonPath.Member(path, "counters"), c.Host), c.Counter.ToString());
            var results = nearest.Select(r => CounterCheck(c, p, r)).ToList();
            _checks.Add(results.FirstOrDefault(r => r.Passed) ?? results[0]);
        }
        if (checks.Dmesg.IsEmpty || _log is null) return;
        var log = _log.Lines(_t0 + loggedBy);
        foreach (var c in checks.Dmesg)
        {
            var p = JsonPath.Member(JsonPath.Member(path, "dmesg"), c.Host);
            _notes.Add($"{p}: the kernel log is the machine's, not the namespace's: a line of another namespace counts too, and net_ratelimit() is shared");
            for (int i = 0; i < c.Substrings.Length; i++) _checks.Add(DmesgCheck(c.Substrings[i], JsonPath.Item(p, i), log, at, loggedBy));
        }
    }

    CheckResult SocketCheck(SocketCheck check, string path, Reading reading)
    {
        var at = new SimTime(reading.AtNs);
        var expected = ScenarioRunner.Describe(check);
        IReadOnlyList<SocketRow> rows;
        switch (check.Selector)
        {
            case AliasSelector a when reading.Aliases.TryGetValue(a.Alias, out var r):
                rows = r;
                break;
            case AliasSelector a:
                var why = _sockets.Alias(a.Alias) is { } entry ? entry.Unbound ?? "no 4-tuple known" : $"no socket is called \"{a.Alias}\"";
                return new CheckResult(false, CheckKinds.Sockets, path, expected, why, at);
            case HostSelector h when reading.Hosts.TryGetValue(h.Host, out var all):
                var local = AddressOf(h.Local);
                var remote = AddressOf(h.Remote);
                var own = new IPv4(_addresses[h.Host]);
                rows = all.Where(r => ScenarioRunner.EndpointMatches(local, h.Local?.Port, r.Local, own)
                    && ScenarioRunner.EndpointMatches(remote, h.Remote?.Port, r.Remote, wildcardMeans: null)).ToList();
                break;
            case HostSelector h:
                return new CheckResult(false, CheckKinds.Sockets, path, expected, $"host \"{h.Host}\" does not exist", at);
            default:
                throw new InvalidOperationException($"unknown selector {check.Selector}");
        }
        int counted = ScenarioRunner.CountedRows(check, rows).Count;
        return new CheckResult(ScenarioRunner.SocketCheckHolds(check, rows, SimTime.Zero, Tolerance), CheckKinds.Sockets, path, expected,
            ScenarioRunner.DescribeRows(check, rows, counted, SimTime.Zero), at);
    }

    IPv4? AddressOf(SockAddrPattern? pattern) =>
        pattern?.Address is { } literal ? new IPv4(literal) : pattern?.Host is { } name && _addresses.TryGetValue(name, out var a) ? new IPv4(a) : null;

    /// <summary>
    /// A sockstat check as the kernel run makes it, at a step or in the final expect: <c>inuse</c> and <c>tw</c> are the
    /// namespace's (sock_prot_inuse_get(net, &amp;tcp_prot), net-&gt;ipv4.tcp_death_row), <c>orphan</c> and <c>alloc</c> are
    /// machine-wide on 6.18 (tcp_orphan_count_sum(), the per-cpu tcp_orphan_count; tcp_sockets_allocated, a global
    /// percpu_counter), so every other process's sockets count too. <c>orphan</c> is compared only under --machine-orphans
    /// (refused while the machine has orphans of its own); <c>alloc</c> never. What is skipped is said in
    /// <paramref name="notes"/>; a check that names nothing comparable is no check (null), never a passed one.
    /// </summary>
    internal static CheckResult? Sockstat(SockstatCheck c, string path, IReadOnlyList<Reading> nearest, bool machineOrphans, ICollection<string> notes)
    {
        var skipped = new (string Name, long? Expected)[] { ("orphan", machineOrphans ? null : c.Orphan), ("alloc", c.Alloc) }
            .Where(f => f.Expected is not null).Select(f => f.Name).ToList();
        if (skipped.Count > 0) notes.Add($"not checked on the kernel: {path} {string.Join('/', skipped)} (machine-wide counters on Linux 6.18)");
        var fields = new (string Name, long? Expected)[] { ("inuse", c.InUse), ("tw", c.Tw), ("orphan", machineOrphans ? c.Orphan : null) }
            .Where(f => f.Expected is not null).ToList();
        if (fields.Count == 0) return null;
        var results = nearest.Select(reading =>
        {
            var values = reading.Sockstat.GetValueOrDefault(c.Host) ?? [];
            return new CheckResult(fields.All(f => values.GetValueOrDefault(f.Name, -1) == f.Expected), CheckKinds.Sockstat, path,
                string.Join(' ', fields.Select(f => $"{f.Name}={f.Expected}")), string.Join(' ', fields.Select(f => $"{f.Name}={values.GetValueOrDefault(f.Name, -1)}")),
                new SimTime(reading.AtNs));
        }).ToList();
        return results.FirstOrDefault(r => r.Passed) ?? results[0];
    }

    /// <summary>As the engine's check: a line logged since the run began (and by <paramref name="loggedBy"/>) contains the text.</summary>
    static CheckResult DmesgCheck(string substring, string path, IReadOnlyList<string> log, long at, long loggedBy)
    {
        var line = log.FirstOrDefault(l => l.Contains(substring, StringComparison.Ordinal));
        return new CheckResult(line is not null, CheckKinds.Dmesg, path, $"a kernel log line containing \"{substring}\"",
            line is not null ? $"\"{line}\"" : $"no such line among {log.Count} kernel log lines from the run's start to {new SimTime(loggedBy)}", new SimTime(at));
    }

    static CheckResult CounterCheck(CounterCheck c, string path, Reading reading)
    {
        var expected = $"{c.Counter}={c.Value}";
        var counters = reading.Counters.GetValueOrDefault(c.Host) ?? [];
        return counters.TryGetValue(c.Counter.ToString(), out var actual)
            ? new CheckResult(actual == c.Value, CheckKinds.Counters, path, expected, $"{c.Counter}={actual}", new SimTime(reading.AtNs))
            : new CheckResult(false, CheckKinds.Counters, path, expected, $"{c.Counter} is not in /proc/net/netstat or snmp", new SimTime(reading.AtNs));
    }

    void CheckFinal(FinalExpect expect, long end)
    {
        const string path = "$.expect";
        var reading = Read(expect.State, end);
        CheckState(expect.State, path, [reading], end, Now());
        foreach (var c in expect.Data)
            _notes.Add($"not checked on the kernel: {JsonPath.Member(JsonPath.Member(path, "data"), c.Alias)} (the data ledger is the engine's)");
        _checks.AddRange(ScenarioRunner.PacketChecks(expect, Packets(), path, new SimTime(end), Tolerance));
    }

    /// <summary>The links' traces as the engine's capture: SegmentSent events (and SegmentDropped for a drop) in time order, numbered as Wireshark does.</summary>
    ImmutableArray<WirePacket> Packets()
    {
        var journal = new List<SimEvent>();
        long id = 0;
        foreach (var t in _links.SelectMany(l => l.Trace()).Concat(_loopbacks.SelectMany(l => l.Trace())).OrderBy(t => t.AtNs))
        {
            var s = t.Segment;
            var tuple = new FourTuple(new Endpoint(new IPv4(s.Source), s.SourcePort), new Endpoint(new IPv4(s.Destination), s.DestinationPort));
            var at = new SimTime(t.AtNs);
            var flags = (TcpFlags)(s.Flags & ~WireSegment.URG); // URG is never sent
            journal.Add(new SegmentSent(at, ++id, t.From, tuple, flags, s.Seq, s.Ack, s.PayloadLength, s.Window, Options(s), "kernel", t.To, id));
            if (t.Dropped) journal.Add(new SegmentDropped(at, id, t.From, tuple, flags, s.Seq, s.Ack, s.PayloadLength, "link", id));
        }
        return ScenarioRunner.CapturePackets(journal, address => _addresses.FirstOrDefault(a => a.Value == address.Value).Key);
    }

    static TcpOptions Options(WireSegment s)
    {
        var o = new TcpOptions();
        foreach (var option in s.Options)
            o = option switch
            {
                Domain.Packetdrill.MssOption m => o with { Mss = m.Mss },
                Domain.Packetdrill.WscaleOption w => o with { WindowScale = w.Shift },
                Domain.Packetdrill.SackOkOption => o with { SackPermitted = true },
                Domain.Packetdrill.TimestampOption ts => o with { HasTimestamp = true, TsVal = ts.Val, TsEcr = ts.Ecr },
                Domain.Packetdrill.SackOption sack => o with { Sack = SackBlocks.Of([.. sack.Blocks.Select(b => new SackBlock(b.Left, b.Right))]) },
                _ => o,
            };
        return o;
    }

    /// <summary>"server:80" as the address getpeername reports ("10.0.0.2:80"), or null when it names no host.</summary>
    string? HostPortAddress(string text)
    {
        int colon = text.LastIndexOf(':');
        return colon > 0 && _addresses.TryGetValue(text[..colon], out var a) ? $"{Ipv4Text.Format(a)}:{text[(colon + 1)..]}" : null;
    }
}
