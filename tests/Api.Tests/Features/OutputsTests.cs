using System.Buffers.Binary;
using System.Formats.Tar;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>The output endpoints map to the domain's writers (whose files the Domain tests read back with tshark and node_exporter).</summary>
[Collection(ApiCollection.Name)]
public sealed class OutputsTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task LingerZeroRst_GetPcap_HostViewIsClassicPcapWithEverySegmentItSentOrReceived(DatabaseProvider provider)
    {
        var sim = await Stories.LingerZeroRstAsync(hosts.Client(provider));

        var response = await sim.Client.GetAsync($"{sim.Base}/pcap?host=client");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.tcpdump.pcap", response.Content.Headers.ContentType?.MediaType);
        var pcap = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(0xa1b23c4du, BinaryPrimitives.ReadUInt32LittleEndian(pcap));
        Assert.Equal(101u, BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(20)));
        var sent = (await sim.JournalAsync("&host=client&type=segment-sent")).Count;
        var received = (await sim.JournalAsync("&host=client&type=segment-delivered")).Count;
        Assert.Equal(sent + received, PcapRecords(pcap).Count);
        var late = PcapRecords((await sim.Client.GetByteArrayAsync($"{sim.Base}/pcap?host=client&fromNs=200000000")));
        Assert.All(late, at => Assert.True(at >= 200_000_000));
        Assert.NotEmpty(late);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task LingerZeroRst_GetPcapWithoutHost_IsPcapngOfTheWholeSimulation(DatabaseProvider provider)
    {
        var sim = await Stories.LingerZeroRstAsync(hosts.Client(provider));

        var response = await sim.Client.GetAsync($"{sim.Base}/pcap");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-pcapng", response.Content.Headers.ContentType?.MediaType);
        var data = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(0x0A0D0D0Au, BinaryPrimitives.ReadUInt32LittleEndian(data));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task OrderlyClose_GetProcFsTar_HoldsTheHostsProcNetFiles(DatabaseProvider provider)
    {
        var sim = await Stories.OrderlyCloseAsync(hosts.Client(provider));

        var response = await sim.Client.GetAsync($"{sim.Base}/hosts/client/procfs.tar");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-tar", response.Content.Headers.ContentType?.MediaType);
        var files = new Dictionary<string, string>();
        using (var tar = new TarReader(await response.Content.ReadAsStreamAsync()))
            while (tar.GetNextEntry() is { } entry)
                files[entry.Name] = entry.DataStream is { } data ? await new StreamReader(data).ReadToEndAsync() : "";
        Assert.Equal(["net/", "net/netstat", "net/snmp", "net/snmp6", "net/sockstat", "net/sockstat6", "net/tcp", "net/tcp6"], files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(await sim.GetTextAsync("hosts/client/proc/net/sockstat"), files["net/sockstat"]);
        Assert.Equal(await sim.GetTextAsync("hosts/client/proc/net/snmp"), files["net/snmp"]);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task LingerZeroRst_GetDiagram_IsSvgWithAnArrowPerSegmentOfTheChosenWindow(DatabaseProvider provider)
    {
        var sim = await Stories.LingerZeroRstAsync(hosts.Client(provider));

        var response = await sim.Client.GetAsync($"{sim.Base}/diagram.svg?host=client&host=server&fromNs=150000000");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
        XNamespace svg = "http://www.w3.org/2000/svg";
        var doc = XDocument.Parse(await response.Content.ReadAsStringAsync());
        var sent = (await sim.JournalAsync("&type=segment-sent&fromNs=150000000")).Count;
        Assert.Equal(sent, doc.Descendants(svg + "g").Count(g => ((string?)g.Attribute("class"))?.StartsWith("segment", StringComparison.Ordinal) == true));
        Assert.Contains(doc.Descendants(svg + "g"), g => (string?)g.Attribute("data-flags") == "R.");
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task OrderlyClose_GetSocketTableAtPastTimes_ShowsTheStatesOfThoseTimes(DatabaseProvider provider)
    {
        var sim = await Stories.OrderlyCloseAsync(hosts.Client(provider));

        async Task<string> StatesAt(string query)
        {
            var table = await sim.GetJsonAsync($"socket-table{query}");
            return string.Join(" | ", table.GetProperty("hosts").EnumerateArray().Select(h =>
                h.GetProperty("host").GetString() + ":" + string.Join(",", h.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("state").GetString()))));
        }

        Assert.Equal("client:SYN-SENT | server:LISTEN", await StatesAt("?atNs=0")); // commands at a time count at that time
        Assert.Equal("client:FIN-WAIT-2 | server:LISTEN,CLOSE-WAIT", await StatesAt("?atNs=399000000"));
        Assert.Equal("client:TIME-WAIT | server:LISTEN", await StatesAt("?atNs=1000000000"));
        Assert.Equal("client: | server:LISTEN", await StatesAt(""));
        Assert.Equal(await StatesAt(""), await StatesAt($"?atNs={(await sim.ClockAsync()).NowNs}"));
        var past = await sim.GetJsonAsync("socket-table?atNs=1000000000");
        Assert.Equal(1_000_000_000, past.GetProperty("atNs").GetInt64());
        var timer = past.GetProperty("hosts")[0].GetProperty("items")[0].GetProperty("timer");
        Assert.InRange(timer.GetProperty("leftNs").GetInt64(), 58_000_000_000, 60_500_000_000);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task OrderlyClose_GetTimeSeries_CountsEachStateWhileItLasts(DatabaseProvider provider)
    {
        var sim = await Stories.OrderlyCloseAsync(hosts.Client(provider));

        var series = await sim.GetJsonAsync("timeseries?points=1261&toNs=63000000000");
        var svg = XDocument.Parse(await (await sim.Client.GetAsync($"{sim.Base}/timeseries.svg?points=100")).Content.ReadAsStringAsync());

        Assert.Equal(63_000_000_000, series.GetProperty("toNs").GetInt64());
        var client = series.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "client");
        var points = client.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(1261, points.Count);
        long Count(string field, long atNs) => points.Single(p => p.GetProperty("atNs").GetInt64() == atNs).GetProperty(field).GetInt64();
        Assert.Equal(1, Count("established", 50_000_000));
        Assert.Equal(0, Count("established", 100_000_000)); // close() at 100 ms
        Assert.Equal(1, Count("finWait2", 400_000_000));
        Assert.Equal(1, Count("timeWait", 1_000_000_000));
        Assert.Equal(0, Count("timeWait", 63_000_000_000));
        Assert.Equal(28232, client.GetProperty("limits").GetProperty("ephemeralPorts").GetInt64());
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(2, svg.Descendants(ns + "g").Count(g => (string?)g.Attribute("class") == "panel"));
    }

    /// <summary>
    /// A TIME-WAIT storm run by the workload command: 200 client-closes-first connections at 100/s
    /// (all done by about 2.1 s: 10 ms links) into a client whose tcp_max_tw_buckets is 150. The first
    /// 150 enter TIME-WAIT, the other 50 overflow (tcp_time_wait(): inet_twsk_alloc() fails once
    /// tw_count reaches sysctl_max_tw_buckets, TCPTimeWaitOverflow). The entries end 60–62.048 s
    /// after they began (the timer wheel's 2.048 s level-3 granularity), so by 70 s none is left.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task TimeWaitStormWorkload_GetTimeSeries_CapsAtTheBucketLimitAndDrains(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider), "storm", clientSysctls: new Dictionary<string, string>
        {
            ["net.ipv4.tcp_max_tw_buckets"] = "150",
        });
        var workload = (await sim.PostOkAsync("workloads", new
        {
            clients = new[] { "client" }, server = "server", port = 80, rate = 100, count = 200,
            closeFirst = "Client", closeStyle = "Close", level = "Counters", resolutionNs = 333_333_333,
        })).GetProperty("result");
        Assert.True(workload.GetProperty("completed").GetBoolean());
        await sim.AdvanceToAsync(80_000_000_000);
        // The workload ends when the last application close() returns; the client's last FIN-WAIT-2
        // becomes TIME-WAIT one link delay later, so the overflow count is read from the host.
        var counters = (await sim.GetJsonAsync("hosts/client/counters")).GetProperty("counters");
        Assert.Equal(50, counters.GetProperty("TcpExt.TCPTimeWaitOverflow").GetInt64());

        var series = await sim.GetJsonAsync("timeseries?points=81&toNs=80000000000"); // one sample a second
        var svg = XDocument.Parse(await (await sim.Client.GetAsync($"{sim.Base}/timeseries.svg?points=81&toNs=80000000000")).Content.ReadAsStringAsync());

        var client = series.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "client");
        var points = client.GetProperty("points").EnumerateArray().ToDictionary(p => p.GetProperty("atNs").GetInt64());
        Assert.Equal(81, points.Count);
        Assert.Equal(150, points[10_000_000_000].GetProperty("timeWait").GetInt64());
        Assert.Equal(150, points[59_000_000_000].GetProperty("timeWait").GetInt64());
        Assert.Equal(0, points[70_000_000_000].GetProperty("timeWait").GetInt64());
        Assert.All(points.Values, p => Assert.InRange(p.GetProperty("timeWait").GetInt64(), 0, 150));
        Assert.All(points.Values.Where(p => p.GetProperty("atNs").GetInt64() >= 3_000_000_000),
            p => Assert.Equal(0, p.GetProperty("established").GetInt64()));
        Assert.Equal(150, client.GetProperty("limits").GetProperty("tcpMaxTwBuckets").GetInt64());
        // The workload's own samples (read from the engine's state counters as it ran) agree with the
        // replayed socket table. Its samples fall every 333,333,333 ns, never on a whole millisecond, so
        // no segment or timer shares their instant (links are 10 ms, jiffies 4 ms).
        var during = (await sim.GetJsonAsync("timeseries?points=7&toNs=1999999998")).GetProperty("hosts").EnumerateArray()
            .Single(h => h.GetProperty("host").GetString() == "client").GetProperty("points").EnumerateArray()
            .ToDictionary(p => p.GetProperty("atNs").GetInt64());
        var own = workload.GetProperty("series").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "client")
            .GetProperty("samples").EnumerateArray().Where(p => during.ContainsKey(p.GetProperty("atNs").GetInt64())).ToList();
        Assert.Equal(7, own.Count);
        Assert.Contains(own, p => p.GetProperty("established").GetInt64() > 0);
        Assert.Contains(own, p => p.GetProperty("timeWait").GetInt64() > 0);
        foreach (var p in own)
        {
            var replayed = during[p.GetProperty("atNs").GetInt64()];
            foreach (var field in new[] { "established", "timeWait", "finWait2", "closeWait", "orphans", "memPages" })
                Assert.Equal(p.GetProperty(field).GetInt64(), replayed.GetProperty(field).GetInt64());
        }

        XNamespace ns = "http://www.w3.org/2000/svg";
        var panel = svg.Descendants(ns + "g").Single(g => (string?)g.Attribute("class") == "panel" && (string?)g.Attribute("data-host") == "client");
        var groups = panel.Descendants(ns + "g").ToList();
        Assert.Contains(groups, g => (string?)g.Attribute("class") == "series" && (string?)g.Attribute("data-series") == "time-wait");
        var limit = groups.Single(g => (string?)g.Attribute("class") == "limit" && (string?)g.Attribute("data-limit") == "tcp_max_tw_buckets");
        Assert.Equal("150", (string?)limit.Attribute("data-value"));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task AnySimulation_GetIt_LinksToItsViewPageWhichEmbedsTheDiagram(DatabaseProvider provider)
    {
        var sim = await Stories.LingerZeroRstAsync(hosts.Client(provider));

        var resource = await sim.Client.GetFromJsonAsync<JsonElement>(sim.Base);
        var view = resource.GetProperty("links").GetProperty("view").GetString()!;
        var response = await sim.Client.GetAsync(view);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal($"/api/v1/simulations/{sim.Id}/view", view);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\"", html);
        Assert.Contains($"const api = \"/api/v1/simulations/{sim.Id}\"", html);
        Assert.Contains("${api}/socket-table?atNs=", html);
        var swagger = await sim.Client.GetStringAsync("/swagger/v1/swagger.json");
        Assert.Contains("/api/v1/simulations/{id}/view", JsonDocument.Parse(swagger).RootElement.GetProperty("info").GetProperty("description").GetString());
    }

    [Theory]
    [InlineData("socket-table?atNs=-1", HttpStatusCode.BadRequest)]
    [InlineData("timeseries?points=1", HttpStatusCode.BadRequest)]
    [InlineData("pcap?host=nobody", HttpStatusCode.NotFound)]
    [InlineData("diagram.svg?host=nobody", HttpStatusCode.NotFound)]
    [InlineData("diagram.svg?toNs=-3", HttpStatusCode.BadRequest)]
    [InlineData("hosts/nobody/procfs.tar", HttpStatusCode.NotFound)]
    [InlineData("pcap?fromNs=5&toNs=4", HttpStatusCode.BadRequest)]
    [InlineData("pcap?fromNs=-1", HttpStatusCode.BadRequest)]
    public async Task TwoHosts_GetOutputWithBadInput_IsAProblem(string path, HttpStatusCode expected)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        var response = await sim.Client.GetAsync($"{sim.Base}/{path}");
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>
    /// A socket filter is checked as a host filter is (tester session 24: ?socket=999 was an empty diagram while ?host=nobody
    /// was a 404): a socket never allocated is a 404 naming the parameter, a negative id a 400; a closed socket's id stays
    /// known. A socket table of a time past the clock is a 400 naming atNs with the current time (it was the present, silently).
    /// </summary>
    [Theory]
    [InlineData("diagram.svg?socket=999", HttpStatusCode.NotFound, "socket", "There is no socket 999 in the simulation.")]
    [InlineData("diagram.svg?socket=2&socket=-1", HttpStatusCode.BadRequest, "socket", "socket is a socket id, 1 or more; -1 is not.")]
    [InlineData("journal?socketId=999", HttpStatusCode.NotFound, "socketId", "There is no socket 999 in the simulation.")]
    [InlineData("journal?socketId=-1", HttpStatusCode.BadRequest, "socketId", "socketId is a socket id, 1 or more; -1 is not.")]
    [InlineData("diagram.svg?socket=0", HttpStatusCode.BadRequest, "socket", "socket is a socket id, 1 or more; 0 is not.")]
    [InlineData("socket-table?atNs=99999999999999999", HttpStatusCode.BadRequest, "atNs",
        "atNs 99999999.999999999s is after the simulation's current time 1s (1000000000 ns); advance the clock first.")]
    [InlineData("timeseries?fromNs=1000000001", HttpStatusCode.BadRequest, "fromNs",
        "fromNs 1.000000001s is after the simulation's current time 1s (1000000000 ns); advance the clock first.")]
    [InlineData("timeseries.svg?fromNs=5000000000", HttpStatusCode.BadRequest, "fromNs",
        "fromNs 5s is after the simulation's current time 1s (1000000000 ns); advance the clock first.")]
    public async Task Connected_UnknownSocketOrFutureTime_IsAProblemNamingTheParameter(string path, HttpStatusCode expected, string field, string message)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        var pair = await sim.ConnectAsync();
        await sim.CallAsync(pair.ClientSocketId, "close");
        await sim.AdvanceToAsync(1_000_000_000);

        var problem = await (await sim.Client.GetAsync($"{sim.Base}/{path}")).ReadProblemAsync(expected);

        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal(message, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Equal(HttpStatusCode.OK, (await sim.Client.GetAsync($"{sim.Base}/diagram.svg?socket={pair.ClientSocketId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await sim.Client.GetAsync($"{sim.Base}/journal?socketId={pair.ClientSocketId}")).StatusCode);
    }

    /// <summary>
    /// A series has at most one point per nanosecond of its range: fromNs=1&amp;toNs=3&amp;points=5000 gave 5,000 points, each
    /// instant ~1,700 times; now 1, 2, 3. A range of 1 s keeps the 5 points asked.
    /// </summary>
    [Theory]
    [InlineData("timeseries?fromNs=1&toNs=3&points=5000", new long[] { 1, 2, 3 })]
    [InlineData("timeseries?fromNs=7&toNs=7&points=2", new long[] { 7 })]
    [InlineData("timeseries?fromNs=0&toNs=1000000000&points=5", new long[] { 0, 250_000_000, 500_000_000, 750_000_000, 1_000_000_000 })]
    public async Task TimeSeries_MorePointsThanNanoseconds_OnePointPerInstant(string path, long[] atNs)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        await sim.ConnectAsync();
        await sim.AdvanceToAsync(1_000_000_000);

        var series = await sim.GetJsonAsync(path);

        Assert.All(series.GetProperty("hosts").EnumerateArray(), host =>
            Assert.Equal(atNs, host.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("atNs").GetInt64())));
    }

    /// <summary>The virtual timestamps (ns) of a nanosecond classic pcap's records.</summary>
    private static List<long> PcapRecords(byte[] pcap)
    {
        var times = new List<long>();
        for (int at = 24; at < pcap.Length;)
        {
            var span = pcap.AsSpan(at);
            times.Add(BinaryPrimitives.ReadUInt32LittleEndian(span) * 1_000_000_000L + BinaryPrimitives.ReadUInt32LittleEndian(span[4..]));
            at += 16 + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        }
        return times;
    }
}
