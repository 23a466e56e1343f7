using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Outputs;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Outputs;

/// <summary>The procfs bundle read by the real prometheus-node-exporter (Debian's, installed by .ci/run).</summary>
public class NodeExporterTests
{
    [Fact]
    public void ClientWithTimeWaitAndOrphan_NodeExporterReadsTheBundle_ReportsTheSimulationsNumbers()
    {
        var h = new TwoHostHarness();
        var (first, firstPeer, listener) = h.Establish();
        // Second connection: the server never reads, the client closes with data queued (an orphan in FIN-WAIT-1).
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var accept = h.Call("server", SocketCallKind.Accept, listener.Id);
        h.At(Ms(300));
        Assert.NotNull(h.Returned(accept.CallId));
        h.Send(connect.SocketId, 200_000);
        // The first connection closes in order: the client ends in TIME-WAIT.
        h.Call("client", SocketCallKind.Close, first.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, firstPeer.Id);
        h.At(S(2));
        h.Call("client", SocketCallKind.Close, connect.SocketId);
        h.At(S(3));
        var client = h.Client;
        Assert.True(client.TimeWaitCount > 0 && client.OrphanCount > 0, $"tw {client.TimeWaitCount} orphan {client.OrphanCount}");

        var metrics = Scrape(ProcFs.Tar(client));

        Assert.Equal(client.TimeWaitCount, metrics["node_sockstat_TCP_tw"]);
        Assert.Equal(client.OrphanCount, metrics["node_sockstat_TCP_orphan"]);
        Assert.Equal(client.InUse, metrics["node_sockstat_TCP_inuse"]);
        Assert.Equal(client.Allocated, metrics["node_sockstat_TCP_alloc"]);
        Assert.Equal(client.TcpMemPages, metrics["node_sockstat_TCP_mem"]);
        Assert.Equal(client.Allocated, metrics["node_sockstat_sockets_used"]);
        // Every counter the simulator keeps and 6.18 prints (PAWSPassive, linux-4.4 only, is not printed).
        var printed = new Dictionary<string, IReadOnlyList<string>>
        {
            ["Ip"] = ProcNetSnmp.Ip, ["Tcp"] = ProcNetSnmp.Tcp, ["TcpExt"] = ProcNetNetstat.TcpExt, ["IpExt"] = ProcNetNetstat.IpExt,
        };
        foreach (var c in Enum.GetValues<MibCounter>().Where(c => printed[Mib.Group(c)].Contains(Mib.Name(c))))
            Assert.True(client.Mib[c] == metrics[$"node_netstat_{Mib.Group(c)}_{Mib.Name(c)}"], $"{Mib.Group(c)}.{Mib.Name(c)}: {client.Mib[c]}");
        // Every TcpExt and Tcp field the kernel prints is there (the simulator's or 0).
        Assert.Equal(ProcNetNetstat.TcpExt.Count, metrics.Keys.Count(k => k.StartsWith("node_netstat_TcpExt_", StringComparison.Ordinal)));
        Assert.Equal(ProcNetSnmp.Tcp.Count, metrics.Keys.Count(k => k.StartsWith("node_netstat_Tcp_", StringComparison.Ordinal)));
        Assert.Equal(client.AllSockets.Count(sk => sk.State is TcpState.Established or TcpState.CloseWait), metrics["node_netstat_Tcp_CurrEstab"]);
        // Ip: counters agree with TCP: every segment received was one IPv4 datagram; the IP layer counts what it sends
        // per skb, before GSO cuts a TSO chunk into segments (the 200 KB went in multi-segment chunks).
        long sent = h.Sim.Journal.OfType<SegmentSent>().Count(s => s.Host == "client");
        long received = h.Sim.Journal.OfType<SegmentDelivered>().Count(s => s.Host == "client");
        double skbs = metrics["node_netstat_Ip_OutRequests"];
        Assert.True(skbs < sent, $"{skbs} skbs, {sent} segments");
        Assert.Equal(skbs, metrics["node_netstat_Ip_OutTransmits"]);
        Assert.Equal(received, metrics["node_netstat_Ip_InReceives"]);
        Assert.Equal(received, metrics["node_netstat_Ip_InDelivers"]);
        Assert.Equal(metrics["node_netstat_Tcp_InSegs"], metrics["node_netstat_Ip_InReceives"]);
        Assert.Equal(metrics["node_netstat_Tcp_OutSegs"] + metrics["node_netstat_Tcp_RetransSegs"], sent);
        Assert.Equal(64, metrics["node_netstat_Ip_DefaultTTL"]);
        // IpExt octets as the real capture counts them: tshark's ip.len summed over what the client sent and received.
        var frames = Tshark.Fields(PacketCapture.ForHost(h.Sim.Journal, "client", TimeWindow.All), "ip.src", "ip.len");
        long Octets(bool sentByClient) =>
            frames.Where(f => (f["ip.src"] == client.Address.ToString()) == sentByClient).Sum(f => long.Parse(f["ip.len"], CultureInfo.InvariantCulture));
        // A chunk's later segments add only their payload: the skb's headers (IP, TCP with the timestamp) count once.
        Assert.Equal(Octets(sentByClient: true) - (sent - skbs) * 52, metrics["node_netstat_IpExt_OutOctets"]);
        Assert.Equal(Octets(sentByClient: false), metrics["node_netstat_IpExt_InOctets"]);
        Assert.Equal(received, metrics["node_netstat_IpExt_InNoECTPkts"]);
        Assert.True(metrics["node_netstat_IpExt_OutOctets"] > 40 * sent); // 20 + 20 header bytes each, and data besides
    }

    /// <summary>Extracts the bundle with tar, runs node_exporter on it (loopback, a free port) and scrapes /metrics once.</summary>
    static Dictionary<string, double> Scrape(byte[] bundle)
    {
        var root = Directory.CreateTempSubdirectory("simservice-procfs-");
        Process? exporter = null;
        try
        {
            File.WriteAllBytes(Path.Combine(root.FullName, "procfs.tar"), bundle);
            var procfs = Directory.CreateDirectory(Path.Combine(root.FullName, "proc")).FullName;
            Run("tar", "-xf", Path.Combine(root.FullName, "procfs.tar"), "-C", procfs);

            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var psi = new ProcessStartInfo("prometheus-node-exporter") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { $"--path.procfs={procfs}", $"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                         "--collector.sockstat", "--collector.netstat", "--collector.netstat.fields=.*" })
                psi.ArgumentList.Add(a);
            exporter = Process.Start(psi) ?? throw new InvalidOperationException("node_exporter did not start");
            // Wait for its own "Listening on" log line rather than for a clock.
            string? line;
            var log = new List<string>();
            while ((line = exporter.StandardError.ReadLine()) is not null && !line.Contains("Listening on", StringComparison.Ordinal)) log.Add(line);
            Assert.True(line is not null, "node_exporter exited: " + string.Join("\n", log));
            _ = exporter.StandardError.ReadToEndAsync();

            using var http = new HttpClient();
            var text = http.GetStringAsync($"http://127.0.0.1:{port}/metrics").GetAwaiter().GetResult();
            Assert.DoesNotContain("node_scrape_collector_success{collector=\"netstat\"} 0", text);
            Assert.DoesNotContain("node_scrape_collector_success{collector=\"sockstat\"} 0", text);
            return text.Split('\n')
                .Where(l => l.StartsWith("node_", StringComparison.Ordinal) && !l.Contains('{'))
                .Select(l => l.Split(' '))
                .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            if (exporter is { HasExited: false }) exporter.Kill();
            exporter?.WaitForExit();
            exporter?.Dispose();
            root.Delete(recursive: true);
        }
    }

    static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed: {err}");
    }
}
