using System.Xml.Linq;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Outputs;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Outputs;

public class TimeSeriesTests
{
    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>
    /// The sample instants are whole nanoseconds computed exactly, the last one toNs: over the clock's whole range they were
    /// computed in doubles, every instant rounded to a multiple of 512 ns and the last 512 ns short of toNs (tester38 LOW-6).
    /// </summary>
    [Fact]
    public void Evenly_OverTheClocksWholeRange_ExactInstantsEndingAtTo()
    {
        var to = SimTime.MaxClock;

        var times = TimeSampler.Evenly(SimTime.Zero, to, 240);

        Assert.Equal(240, times.Count);
        Assert.Equal([SimTime.Zero, new SimTime(13_204_016_736_401_673), new SimTime(3_142_555_983_263_598_326), to], [times[0], times[1], times[^2], times[^1]]);
    }

    /// <summary>
    /// A TIME-WAIT storm made of calls: 40 short connections, one every 100 ms, each closed by the client first,
    /// on a client with 50 ephemeral ports and tcp_max_tw_buckets 30. Sampled every 250 ms while it runs.
    /// </summary>
    static (TwoHostHarness H, Dictionary<string, List<HostSample>> Samples) Storm(string twBuckets = "30",
        KernelProfile profile = KernelProfile.Linux6)
    {
        var h = new TwoHostHarness(profile: profile);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_max_tw_buckets", twBuckets));
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40049"));
        var samples = new Dictionary<string, List<HostSample>>();
        var sampler = TimeSampler.HostCounts(TimeSampler.Evenly(SimTime.Zero, S(70), 281), samples);
        sampler.Attach(h.Sim);
        var listener = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        for (int i = 0; i < 40; i++)
        {
            var (c, a) = Open(h, listener, i);
            h.Call("client", SocketCallKind.Close, c.SocketId);
            h.At(Ms(80 + i * 100));
            h.Call("server", SocketCallKind.Close, h.Returned(a.CallId)!.SocketId);
        }
        h.At(S(70));
        sampler.Finish(h.Sim);
        return (h, samples);
    }

    /// <summary>Connection <paramref name="i"/> of a storm: connect and accept at 10 + 100·i ms, run to 60 + 100·i ms.</summary>
    static (CallHandle Connect, CallHandle Accept) Open(TwoHostHarness h, CallHandle listener, int i)
    {
        h.At(Ms(10 + i * 100));
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call("server", SocketCallKind.Accept, listener.SocketId);
        h.At(Ms(60 + i * 100));
        return (c, a);
    }

    /// <summary>
    /// HostSample.Of reads the host's per-state counts; at every sample of the storm they equal the rows `ss -tan`
    /// lists (SocketListing), state by state — the series served is the one the socket table gives.
    /// </summary>
    [Fact]
    public void TimeWaitStorm_EverySample_CountsEqualTheSsRowsOfThatMoment()
    {
        var h = new TwoHostHarness();
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_max_tw_buckets", "30"));
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "3"));
        int checkedSamples = 0;
        var sampler = new TimeSampler(TimeSampler.Evenly(SimTime.Zero, S(70), 701), (sim, at) =>
        {
            foreach (var host in sim.Hosts)
            {
                var rows = SimService.Domain.Observability.SocketListing.Rows(host).ToList();
                int Rows(TcpState state) => rows.Count(r => r.State == state);
                Assert.Equal(new HostSample(at.Ns, Rows(TcpState.Established), Rows(TcpState.TimeWait), Rows(TcpState.FinWait2),
                    Rows(TcpState.CloseWait), host.OrphanCount, host.TcpMemPages), HostSample.Of(host, at));
                checkedSamples++;
            }
        });
        sampler.Attach(h.Sim);
        var listener = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        for (int i = 0; i < 40; i++)
        {
            var (c, a) = Open(h, listener, i);
            // Every other connection: the server closes first (CLOSE-WAIT on the client until it closes 20 ms later).
            var (first, second) = i % 2 == 0 ? ("client", "server") : ("server", "client");
            int Of(string host) => host == "client" ? c.SocketId : h.Returned(a.CallId)!.SocketId;
            h.Call(first, SocketCallKind.Close, Of(first));
            h.At(Ms(80 + i * 100));
            if (i % 4 != 3) h.Call(second, SocketCallKind.Close, Of(second)); // a quarter of the second closes never come
        }
        h.At(S(70));
        sampler.Finish(h.Sim);
        Assert.Equal(2 * 701, checkedSamples);
    }

    [Fact]
    public void TimeWaitStorm_Sampled_TimeWaitClimbsToTheBucketLimitThenDrainsAfter60s()
    {
        var (h, samples) = Storm();
        var client = samples["client"];
        Assert.Equal(281, client.Count);
        Assert.Equal(30, client.Max(s => s.TimeWait));
        Assert.Equal(40 - 30, h.Client.Mib[SimService.Domain.Network.MibCounter.TcpExtTCPTimeWaitOverflow]);
        Assert.Equal(0, client[^1].TimeWait);
        Assert.All(samples["server"], s => Assert.Equal(0, s.TimeWait));
        // A sample is the state after everything due at or before its time: at 4.5 s every connection has closed.
        Assert.Equal(30, client.Single(s => s.AtNs == 4_500_000_000).TimeWait);
    }

    [Fact]
    public void TimeWaitStorm_Chart_IsValidSvgWithAPanelPerHostTheSeriesAxesLegendAndLimitLines()
    {
        var (h, samples) = Storm();
        var series = TimeSampler.Series(h.Sim, samples);

        var doc = XDocument.Parse(TimeSeriesChart.Svg(series));

        Assert.Equal("svg", doc.Root!.Name.LocalName);
        var panels = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "panel").ToList();
        Assert.Equal(["client", "server"], panels.Select(p => (string?)p.Attribute("data-host")));
        var client = panels[0];
        Assert.Equal(["established", "time-wait", "fin-wait-2", "close-wait", "orphans", "mem"],
            client.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "series").Select(g => (string?)g.Attribute("data-series")));
        var limits = client.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "limit")
            .ToDictionary(g => (string)g.Attribute("data-limit")!, g => (long)g.Attribute("data-value")!);
        Assert.Equal(new Dictionary<string, long> { ["tcp_max_tw_buckets"] = 30, ["ephemeral-ports"] = 50 }, limits);
        Assert.Contains(client.Descendants(Svg + "text"), t => t.Value == "virtual time (s)");
        Assert.Contains(client.Descendants(Svg + "text"), t => t.Value == "sockets (count)");
        Assert.Contains(client.Descendants(Svg + "text"), t => t.Value == "TIME-WAIT");
        // The TIME-WAIT line reaches the tcp_max_tw_buckets line and no further.
        var twPath = (string)client.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "series" && (string?)g.Attribute("data-series") == "time-wait").Element(Svg + "path")!.Attribute("d")!;
        var limitY = (double)client.Descendants(Svg + "g").Single(g => (string?)g.Attribute("data-limit") == "tcp_max_tw_buckets").Element(Svg + "line")!.Attribute("y1")!;
        var ys = System.Text.RegularExpressions.Regex.Matches(twPath, @"V(-?[0-9.]+)").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(limitY, ys.Min(), 1);
    }

    /// <summary>
    /// A negative tcp_max_tw_buckets is no limit on linux-6 (inet_twsk_alloc() compares unsigned, D69): no limit line —
    /// it was drawn below the zero of the axis, at -1 — and the limit named under the chart; every TIME-WAIT kept (40 at
    /// 4 s, the ephemeral ports' 50 the only line). On linux-4.4 the same value keeps none: its line lies on zero.
    /// </summary>
    [Fact]
    public void NegativeTwBuckets_Chart_NoLimitLineOnLinux6AndALineAtZeroOnLinux44()
    {
        var (h, samples) = Storm("-1");
        var series = TimeSampler.Series(h.Sim, samples);
        Assert.Equal(new HostLimits(-1, 50, null), series[0].Limits);
        Assert.Equal(40, samples["client"].Single(s => s.AtNs == 4_000_000_000).TimeWait);

        var client = Panels(TimeSeriesChart.Svg(series))[0];
        Assert.Equal(["ephemeral-ports"], client.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "limit").Select(g => (string?)g.Attribute("data-limit")));
        Assert.Contains(client.Descendants(Svg + "text"), t => t.Value == "limits: net.ipv4.tcp_max_tw_buckets = -1 (no limit)");
        var plotBottom = (double)client.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "axes").Element(Svg + "line")!.Attribute("y1")!;
        Assert.All(client.Descendants(Svg + "line"), l => Assert.True((double)l.Attribute("y1")! <= plotBottom + 5, l.ToString()));

        var (old, oldSamples) = Storm("-1", KernelProfile.Linux44);
        var oldSeries = TimeSampler.Series(old.Sim, oldSamples);
        Assert.Equal(new HostLimits(-1, 50, 0), oldSeries[0].Limits);
        var oldClient = Panels(TimeSeriesChart.Svg(oldSeries))[0];
        var line = oldClient.Descendants(Svg + "g").Single(g => (string?)g.Attribute("data-limit") == "tcp_max_tw_buckets");
        Assert.Equal(("0", "net.ipv4.tcp_max_tw_buckets = -1 (keeps none)"), ((string?)line.Attribute("data-value"), line.Element(Svg + "text")!.Value));
        Assert.Equal(plotBottom, (double)line.Element(Svg + "line")!.Attribute("y1")!);
        Assert.True((double)line.Element(Svg + "text")!.Attribute("y")! < plotBottom); // its label over the line, off the time axis
    }

    static List<XElement> Panels(string svg) =>
        [.. XDocument.Parse(svg).Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "panel")];
}
