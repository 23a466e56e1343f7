using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Cli.Kernel;

/// <summary>A segment a host put on a link, when the link emulator read it (ns since the scenario's time 0), and whether the link dropped it.</summary>
internal sealed record TracedSegment(long AtNs, string From, string To, WireSegment Segment, bool Dropped);

/// <summary>
/// A scenario link between two hosts' namespaces, emulated in user space (this machine has no netem): each host has a
/// TUN device routed to the other's addresses, and one real-time thread reads the IPv4 packets each kernel sends on
/// its device and writes them on the other's after the direction's one-way delay, unless the direction is a black hole
/// or the seeded loss draws a drop — the engine's link rules (<see cref="Link"/>, Simulation.Send), with the engine's own
/// direction settings. Every segment read is traced with its time: the kernel side's packet capture. The loss draws
/// come from a <see cref="Pcg32"/> of the scenario's seed, but the engine draws ISNs and timestamp offsets from the
/// same generator, so a loss between 0 and 1 drops other segments than the engine's run does — unless the link loses
/// by segment (<see cref="SegmentLoss"/>): then both drop the same segments while both send the same.
/// </summary>
/// <remarks>
/// The forwarding thread only reads, stamps, queues and writes (a loss draw by segment reads the fixed header, no options): packets are parsed when the trace is asked for. Parsing
/// them as they came made the thread compile the SACK-option path (ImmutableArray builders) when the first segment with a
/// SACK block arrived — 1.4–1.8 ms in which it forwarded nothing, so the rest of that flight reached the peer late and its
/// ACKs came back spread out (fuzz case 20-52, seen with ftrace: all ten segments on the TUN device at once, the second
/// read 1.7 ms after the first).
/// </remarks>
internal sealed class LinkEmulator
{
    readonly Link _link;
    readonly int _fdA, _fdB;
    long _t0;
    readonly Pcg32 _random;
    readonly long _seed;
    readonly Lock _lock = new();
    /// <summary>Every packet read, raw: (ns since time 0, from, to, bytes, dropped); parsed by <see cref="Trace"/>.</summary>
    readonly List<(long AtNs, string From, string To, byte[] Packet, bool Dropped)> _read = [];
    readonly PriorityQueue<(int Fd, byte[] Packet), (long DueNs, long Order)> _inFlight = new();
    long _order;
    /// <summary>How late each packet's write began after its delay (ns), for the run's timing log (the write itself runs the receiver's stack).</summary>
    readonly List<long> _late = [];
    volatile bool _stop;
    readonly Thread _thread;

    /// <summary>The CPU its thread keeps to (<see cref="KernelScenarioRunner"/>: a scenario with a workload), or null.</summary>
    readonly int? _cpu;

    public LinkEmulator(ScenarioLink link, int fdA, int fdB, long seed, int? cpu = null)
    {
        _cpu = cpu;
        _link = new Link(link.A, link.B, link.Delay, link.Loss);
        if (link.LossBySegment) _link.LoseBySegment(seed);
        _seed = seed;
        _fdA = fdA;
        _fdB = fdB;
        _random = new Pcg32(seed);
        _thread = new Thread(Forward) { IsBackground = true, Name = $"link {link.A}-{link.B}" };
    }

    /// <summary>Starts forwarding; <paramref name="t0"/> is the monotonic time of the scenario's time 0.</summary>
    public void Start(long t0)
    {
        _t0 = t0;
        _thread.Start();
    }

    public string A => _link.A;

    public string B => _link.B;

    /// <summary>True when nothing is waiting out its delay.</summary>
    public bool Idle
    {
        get
        {
            lock (_lock) return _inFlight.Count == 0;
        }
    }

    /// <summary>What the link carried so far, in the order it read the segments.</summary>
    public List<TracedSegment> Trace()
    {
        lock (_lock)
            return [.. _read.Select(r => TcpWire.Parse(r.Packet) is { } segment ? new TracedSegment(r.AtNs, r.From, r.To, segment, r.Dropped) : null)
                .OfType<TracedSegment>()];
    }

    /// <summary>
    /// A <c>link</c> step: the delay and loss of one direction (from → to) or both, and the whole link's draw by segment
    /// (true: a fresh <see cref="SegmentLoss"/> of the seed unless it has one, false: the generator again) as
    /// Simulation.ChangeLink does; null leaves a field as it is.
    /// </summary>
    public void Change(string? from, SimDuration? delay, double? loss, bool? lossBySegment)
    {
        lock (_lock)
        {
            if (lossBySegment is true && !_link.LossBySegment) _link.LoseBySegment(_seed);
            if (lossBySegment is false) _link.LoseByGenerator();
            foreach (var d in from is null ? [_link.AtoB, _link.BtoA] : new[] { _link.From(from) })
            {
                if (delay is { } dl) d.Delay = dl;
                if (loss is { } ls) d.Loss = ls;
            }
        }
    }

    /// <summary>How late (ns) each packet so far was written after its delay was out.</summary>
    public IReadOnlyList<long> Lateness()
    {
        lock (_lock) return [.. _late];
    }

    public void Stop()
    {
        _stop = true;
        if (_thread.IsAlive) _thread.Join();
    }

    /// <summary>
    /// How long before a packet's time the thread's ppoll() times out: from then it polls without sleeping (a zero
    /// timeout, still reading what the hosts send) until the time. A timeout's wake-up came late on this 2-core KVM guest:
    /// the hrtimer fired a median 24 µs after its expiry and the thread ran 18 µs after that (perf: timer:hrtimer_expire_entry,
    /// sched:sched_switch), so a packet was written a median 70–120 µs after its delay. At priority 60 the thread holds
    /// its core from the run's other threads while it polls: at most this long per packet.
    /// </summary>
    internal const long WakeEarlyNs = 60_000;

    /// <summary>
    /// How long ppoll() waits at <paramref name="nowNs"/> (ns): until <see cref="WakeEarlyNs"/> before the next packet's
    /// time <paramref name="dueNs"/>, 0 from then on, and at most 10 ms (the thread wakes now and then to see it is stopped).
    /// </summary>
    internal static long Timeout(long nowNs, long? dueNs) => Math.Clamp((dueNs ?? long.MaxValue / 2) - WakeEarlyNs - nowNs, 0, 10_000_000);

    void Forward()
    {
        Libc.RealTime(60);
        Libc.PinTo(_cpu);
        var fds = new Libc.PollFd[] { new() { Fd = _fdA, Events = Libc.POLLIN }, new() { Fd = _fdB, Events = Libc.POLLIN } };
        var buffer = new byte[65536];
        while (!_stop)
        {
            long wait;
            lock (_lock) wait = Timeout(Libc.MonotonicNs(), _inFlight.TryPeek(out _, out var due) ? due.DueNs : null);
            var timeout = new Libc.Timespec { Sec = wait / 1_000_000_000, Nsec = wait % 1_000_000_000 };
            fds[0].Revents = fds[1].Revents = 0;
            Libc.ppoll(fds, 2, ref timeout, IntPtr.Zero);
            for (int i = 0; i < 2; i++)
                if ((fds[i].Revents & Libc.POLLIN) != 0) Receive(fds[i].Fd, buffer);
            Deliver();
        }
    }

    /// <summary>One packet a host sent: traced, then dropped or queued for the other host after the direction's delay.</summary>
    void Receive(int fd, byte[] buffer)
    {
        var n = Libc.read(fd, buffer, buffer.Length);
        long at = Libc.MonotonicNs();
        if (n <= 0) return;
        var (from, to, target) = fd == _fdA ? (_link.A, _link.B, _fdB) : (_link.B, _link.A, _fdA);
        var packet = buffer[..(int)n];
        lock (_lock)
        {
            var direction = _link.From(from);
            // Simulation.Send(): a black hole, else a loss draw (loss 1 always drops, 0 never draws).
            // The header only (no options): the forwarding thread must not compile the option paths (see remarks).
            var header = direction.Loss is > 0 and < 1 ? TcpWire.ParseHeader(packet) : null;
            bool dropped = direction.Blackhole || (header is null
                ? direction.Loss >= 1 // not TCP (the engine carries nothing else), or no draw: lost with the whole link only
                : direction.Loses(_random, new Endpoint(new IPv4(header.Source), header.SourcePort), new Endpoint(new IPv4(header.Destination), header.DestinationPort),
                    (TcpFlags)header.Flags, header.Seq, header.Ack, header.PayloadLength));
            _read.Add((at - _t0, from, to, packet, dropped));
            if (!dropped) _inFlight.Enqueue((target, packet), (at + direction.Delay.Ns, _order++));
        }
    }

    void Deliver()
    {
        while (true)
        {
            (int Fd, byte[] Packet) next;
            long dueNs;
            lock (_lock)
            {
                if (!_inFlight.TryPeek(out next, out var due) || due.DueNs > Libc.MonotonicNs()) return;
                _inFlight.Dequeue();
                dueNs = due.DueNs;
            }
            long late = Libc.MonotonicNs() - dueNs;
            Libc.write(next.Fd, next.Packet, next.Packet.Length);
            lock (_lock) _late.Add(late);
        }
    }
}
