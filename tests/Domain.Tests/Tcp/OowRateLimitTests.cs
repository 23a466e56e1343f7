using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// __tcp_oow_rate_limited(), shared by full, TIME-WAIT and request sockets: the last answer's jiffies against
/// tcp_invalid_ratelimit (500 ms = 125 jiffies), compared in whole jiffies as tcp_jiffies32 counts them.
/// </summary>
public class OowRateLimitTests
{
    [Fact]
    public void AnsweredAt3_9ms_SecondAt500ms_125JiffiesLaterSoAnsweredThough496msPassed()
    {
        var host = new TwoHostHarness().Client;
        var limit = new OowRateLimit();
        Assert.False(limit.Limited(host, Ms(3.9), MibCounter.TcpExtTCPACKSkippedChallenge)); // jiffy 0
        // 496.1 ms later, but jiffy 125: elapsed 125 is not < 125.
        Assert.False(limit.Limited(host, Ms(500), MibCounter.TcpExtTCPACKSkippedChallenge));
        Assert.Equal(0, host.Mib[MibCounter.TcpExtTCPACKSkippedChallenge]);
    }

    [Fact]
    public void AnsweredAt0ms_SecondAt499_9ms_Jiffy124SoSkippedAndCounted()
    {
        var host = new TwoHostHarness().Client;
        var limit = new OowRateLimit();
        Assert.False(limit.Limited(host, Ms(0), MibCounter.TcpExtTCPACKSkippedTimeWait));
        Assert.True(limit.Limited(host, Ms(499.9), MibCounter.TcpExtTCPACKSkippedTimeWait));
        Assert.Equal(1, host.Mib[MibCounter.TcpExtTCPACKSkippedTimeWait]);
        // A skipped answer does not move the clock: at 500 ms (jiffy 125) the next one goes out.
        Assert.False(limit.Limited(host, Ms(500), MibCounter.TcpExtTCPACKSkippedTimeWait));
    }

    [Fact]
    public void SegmentWithData_NeverLimited_ASynIs()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        var limit = new OowRateLimit();
        Assert.False(limit.Limited(h.Client, Ms(200), MibCounter.TcpExtTCPACKSkippedSeq));
        Assert.False(limit.Limited(h.Client, Ms(201), From(c, TcpFlags.Ack, 1, 1, len: 10), MibCounter.TcpExtTCPACKSkippedSeq));
        Assert.True(limit.Limited(h.Client, Ms(202), From(c, TcpFlags.Syn, 1, 0), MibCounter.TcpExtTCPACKSkippedSeq));
    }
}
