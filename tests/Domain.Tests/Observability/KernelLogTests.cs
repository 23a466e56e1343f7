using SimService.Domain.Commands;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Observability;

public class KernelLogTests
{
    [Theory]
    [InlineData(12_345_678_901L, "[   12.345678] TCP: too many orphaned sockets")]
    [InlineData(0L, "[    0.000000] TCP: too many orphaned sockets")]
    [InlineData(123_456_000_000_000L, "[123456.000000] TCP: too many orphaned sockets")]
    public void Line_VirtualTime_PrintsPrintkTimestamp(long ns, string line) =>
        Assert.Equal(line, KernelLog.Line(new SimTime(ns), "TCP: too many orphaned sockets"));

    [Fact]
    public void TooManyOrphans_CloseOverTheLimit_LogsAtTheCloseTime()
    {
        var h = new TwoHostHarness();
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_max_orphans", "0"));
        var (c, _, _) = h.Establish();
        var second = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(150));
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, null, true));
        h.Call("client", SocketCallKind.Close, c.Id); // an orphan in FIN-WAIT-1 (its FIN is lost)
        h.At(Ms(275.5));
        h.Call("client", SocketCallKind.Close, second.SocketId); // the 100 ms orphan cache now holds 1 > 0
        Assert.Equal("[    0.275500] TCP: too many orphaned sockets\n", KernelLog.Dmesg(h.Client));
        Assert.Equal("", KernelLog.Dmesg(h.Server));
    }
}
