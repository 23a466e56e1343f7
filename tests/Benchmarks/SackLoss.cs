using System.Globalization;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Benchmarks;

/// <summary>
/// SACK: one bulk transfer with thousands of segments in flight over a lossy path, so that every ACK carries SACK blocks
/// over a long retransmission queue (the cost of tcp_sacktag_write_queue()'s walk per ACK). 4 MB socket buffers both
/// ends (net.core.rmem_max/wmem_max of 6.18), a 50 ms one-way link losing 1 % of the segments (seeded) for 100 ms of every 2 s, the
/// receiver reading everything as it arrives.
/// </summary>
static class SackLoss
{
    static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    public static string Run(long bytes)
    {
        var returns = new ReturnsJournal();
        var sim = new Simulation(KernelProfile.Linux6, seed: 1) { Sink = returns };
        Workloads.Must(sim, new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []));
        Workloads.Must(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []));
        Workloads.Must(sim, new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(50), 0));
        var l = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Socket));
        Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Setsockopt) { SocketId = l.SocketId, Option = SocketOption.SO_RCVBUF, Value = 4 << 20 });
        Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = l.SocketId, Port = 80 });
        Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = l.SocketId });
        var c = Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Socket));
        Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.SocketId, Option = SocketOption.SO_SNDBUF, Value = 4 << 20 });
        Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = c.SocketId, ToHost = "server", ToPort = 80 });
        var a = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        sim.RunUntil(new SimTime(SimDuration.FromMilliseconds(300).Ns));
        var accepted = returns.Of(a.CallId) ?? throw new InvalidOperationException("not accepted");
        var client = sim.FindHost("client")!;
        var m = new Measure();
        Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = bytes });
        long read = 0;
        var start = sim.Now;
        var end = sim.Now + SimDuration.FromSeconds(600);
        while (read < bytes && sim.Now < end)
        {
            var r = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = accepted.SocketId, Bytes = 1 << 22 });
            var ret = returns.Of(r.CallId);
            while (ret is null && sim.Now < end)
            {
                // Loss in bursts: 1 % of the segments for 20 ms of every 4 s, so the window has grown back in between.
                double loss = (sim.Now.Ns - start.Ns) % 4_000_000_000 >= 3_980_000_000 ? 0.01 : 0;
                if (sim.ChangeLink("client", "server", oneDirection: false, delay: null, loss: loss, blackhole: null) is { } err)
                    throw new InvalidOperationException(err.Message);
                sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(10));
                ret = returns.Of(r.CallId);
            }
            if (ret is null || ret.Result <= 0) break;
            read += ret.Result;
        }
        double wall = m.WallSeconds, cpu = m.CpuSeconds;
        var mib = client.Mib;
        long acks = mib[MibCounter.TcpInSegs];
        return $"SACK bytes={read} virtual_s={F2(sim.Now.Ns / 1e9)} wall_s={F2(wall)} cpu_s={F2(cpu)} acks_in={acks} " +
            $"us_per_ack={F2(cpu * 1e6 / Math.Max(1, acks))} retrans={mib[MibCounter.TcpRetransSegs]} " +
            $"sack_recovery={mib[MibCounter.TcpExtTCPSackRecovery]} peak_rss_mb={Measure.PeakRssMb()}";
    }

    /// <summary>A States-level sink that keeps only the calls' returns, by call id.</summary>
    sealed class ReturnsJournal : IJournalSink
    {
        readonly Dictionary<long, CallReturned> _returns = [];
        public JournalLevel Level => JournalLevel.States;
        public IReadOnlyList<SimEvent> Held => [];
        public long Appended { get; private set; }
        public void Append(SimEvent e)
        {
            Appended++;
            if (e is CallReturned r) _returns[r.CallId] = r;
        }
        public CallReturned? Of(long callId) => _returns.GetValueOrDefault(callId);
    }

    static CallHandle Call(Simulation sim, SocketCallRequest r)
    {
        var result = sim.Call(r);
        if (!result.IsOk) throw new InvalidOperationException(result.Error!.Message);
        return result.Value;
    }
}
