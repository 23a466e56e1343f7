using System.Buffers.Binary;
using System.Formats.Tar;
using System.Net;
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

    [Theory]
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
