using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Observability;

public class ProcNetTcpTests
{
    const string Header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    const string NoPointer = "0000000000000000";

    [Theory]
    [InlineData("10.0.0.1", "0100000A")]
    [InlineData("127.0.0.1", "0100007F")]
    [InlineData("192.0.2.2", "020200C0")] // as the reference machine printed it
    [InlineData("0.0.0.0", "00000000")]
    public void Address_HostByteOrder_PrintsRawLittleEndianValue(string address, string hex) =>
        Assert.Equal(hex, ProcNetTcp.Address(IPv4.Parse(address)));

    [Fact]
    public void TimeWait_OneSecondIn_PrintsState06Timer03AndRefcount3()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1210)); // TIME-WAIT since 210 ms: 14750 jiffies left = 5900 USER_HZ ticks
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 06 00000000:00000000 03:0000170C 00000000     0        0 0 3 {NoPointer}"),
            ProcNetTcp.Format(h.Client));
    }

    [Fact]
    public void OrphanFinWait2_Parked_PrintsSubstate05WithTimer03()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(1120));
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 05 00000000:00000000 03:0000170C 00000000     0        0 0 3 {NoPointer}"),
            ProcNetTcp.Format(h.Client));
    }

    [Fact]
    public void ListenerAndCloseWait_PrintFullSocketLines()
    {
        var h = new TwoHostHarness();
        var (c, s, l) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));
        // Listener: rto = TCP_TIMEOUT_INIT (100 ticks), cwnd 10, fastopen max_qlen 0. CLOSE-WAIT: the FIN's byte
        // in rx_queue, rto 220 ms = 22 ticks, ato 40 ms = 4 ticks (the FIN's delayed ACK left ping-pong mode),
        // ssthresh -1 (initial slow start). Inodes are socket ids.
        Assert.Equal(Lines(
            Header,
            $"   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {l.Id} 1 {NoPointer} 100 0 0 10 0",
            $"   1: 0200000A:0050 0100000A:{c.Local.Port:X4} 08 00000000:00000001 00:00000000 00000000     0        0 {s.Id} 1 {NoPointer} 22 4 0 10 -1"),
            ProcNetTcp.Format(h.Server));
    }

    [Fact]
    public void FinWait1Orphan_Retransmitting_PrintsTimer01AndNoInode()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, null, true));
        h.Call("client", SocketCallKind.Close, c.Id); // the FIN is lost: FIN-WAIT-1, orphan, RTO 220 ms from 100 ms
        h.At(Ms(200));
        // tx_queue holds the FIN; 30 jiffies (120 ms) = 12 ticks left; refcount 2: the armed retransmit timer.
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 04 00000001:00000000 01:0000000C 00000000     0        0 0 2 {NoPointer} 22 0 0 10 -1"),
            ProcNetTcp.Format(h.Client));
        Assert.Contains("FIN-WAIT-1 0      1           10.0.0.1:", SsFormatter.Format(h.Client));
        Assert.Contains(" timer:(on,120ms,0)\n", SsFormatter.Format(h.Client));
    }

    [Fact]
    public void EveryLine_PaddedToTmpszMinusOne()
    {
        var h = new TwoHostHarness();
        h.Establish();
        var lines = ProcNetTcp.Format(h.Server).Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.All(lines[..^1], line => Assert.Equal(149, line.Length));
        Assert.Equal(Header.PadRight(149), lines[0]);
    }

    static string Lines(params string[] lines) => string.Concat(lines.Select(l => l.PadRight(149) + "\n"));
}
