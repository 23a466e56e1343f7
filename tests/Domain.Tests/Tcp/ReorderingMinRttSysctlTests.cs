using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Tests.Packetdrill;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// net.ipv4.tcp_reordering (tcp_init_sock()'s tp->reordering, tcp_may_raise_cwnd(), tcp_enter_loss()),
/// net.ipv4.tcp_max_reordering (the cap of tcp_check_sack_reordering() / tcp_check_reno_reordering()) and
/// net.ipv4.tcp_min_rtt_wlen (tcp_update_rtt_min()'s minmax_running_min() window, read as tcpi_min_rtt).
/// </summary>
public class ReorderingMinRttSysctlTests
{
    /// <summary>packetdrill/sack-reordering-keeps-rack-window-open.pkt with a sysctl set before the socket is made.</summary>
    static TcpSocket RunReorderingScript(string sysctl)
    {
        const string name = "sack-reordering-keeps-rack-window-open.pkt";
        var text = ProjectScripts.Read(name).Replace("`./defaults.sh`", $"`./defaults.sh`\n`sysctl -q {sysctl}`", StringComparison.Ordinal);
        var result = PacketdrillRunner.Run(text, new PacketdrillOptions { ScriptName = name });
        var sim = result.Simulation!;
        int id = sim.Journal.OfType<StateChanged>().First(e => e.Host == PacketdrillRunner.LocalHost).SocketId;
        return sim.FindSocket(id)!;
    }

    [Fact]
    public void Disorder_HoleFilledWithTcpMaxReordering2_ReorderingCappedAtTheSysctl()
    {
        // fack − low_seq = 4000 bytes > 3 · 1000: tcp_check_sack_reordering() would raise tp->reordering to 4, but
        // min_t(u32, 4, tcp_max_reordering = 2) keeps it at 2; reord_seen counts the event all the same.
        var sk = RunReorderingScript("net.ipv4.tcp_max_reordering=2");

        Assert.Equal((2, 1), (sk.Info.Reordering, sk.Info.ReordSeen));
    }

    [Fact]
    public void Disorder_HoleFilledWithTcpReordering5_StartsAt5AndTheDistanceDoesNotRaiseIt()
    {
        // tcp_init_sock(): tp->reordering = 5; 4000 bytes is not more than 5 · 1000, so it stays 5 (reord_seen 1).
        var sk = RunReorderingScript("net.ipv4.tcp_reordering=5");

        Assert.Equal((5, 1), (sk.Info.Reordering, sk.Info.ReordSeen));
    }

    [Fact]
    public void Listen_TcpReorderingChangedAfterListen_ChildKeepsTheListenersValue()
    {
        // The child is a clone of the listener (sk_clone_lock()): its tp->reordering is what tcp_init_sock() gave the
        // listener, not the sysctl at accept time; a new client socket takes the new value.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.SetSysctl("server", "net.ipv4.tcp_reordering", "7");
        h.Sim.SetSysctl("client", "net.ipv4.tcp_reordering", "9");
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));

        Assert.Equal(3, h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!.Info.Reordering);
        Assert.Equal(9, h.Sim.FindSocket(c.SocketId)!.Info.Reordering);
    }

    /// <summary>
    /// tcp_reordering is an int sysctl (proc_dointvec on linux-4.4; 6.18.44 refuses -1) read into the u32 tp->reordering:
    /// -1 is 4294967295, which ss prints with %u; tcpi_reordering carries the same 32 bits.
    /// </summary>
    [Fact]
    public void Established_TcpReorderingMinusOne_ReorderingIsTheU32Maximum()
    {
        var h = new TwoHostHarness(profile: SimService.Domain.Engine.KernelProfile.Linux44);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_reordering", "-1");
        var (c, _, _) = h.Establish();
        Assert.Equal(-1, c.Info.Reordering);
        Assert.Contains(" reordering:4294967295", SimService.Domain.Observability.SsFormatter.Format(h.Client));
    }

    /// <summary>
    /// Connects at 1 ms over a 10 ms link (SYN-ACK RTT sample 20 ms), makes the path 50 ms each way at 100 ms, sends
    /// 3000 bytes at <paramref name="sendAt"/>: the ACK of the first full segment is a 100 ms sample (a lone runt's ACK
    /// would be FLAG_ACK_MAYBE_DELAYED and skipped above the minimum).
    /// </summary>
    static TcpSocket SlowerPathThenSend(string? wlen, SimTime sendAt)
    {
        var h = new TwoHostHarness();
        if (wlen is not null) h.Sim.SetSysctl("client", "net.ipv4.tcp_min_rtt_wlen", wlen);
        var (c, _, _) = h.Establish();
        Assert.Equal(20_000, c.Info.MinRttUs);
        Assert.Null(h.Sim.ChangeLink("client", "server", false, SimDuration.FromMilliseconds(50), null, null));
        h.At(sendAt);
        h.Send(c.Id, 3000);
        h.At(sendAt + SimDuration.FromMilliseconds(200));
        return c;
    }

    [Fact]
    public void Established_RttGrowsAndDefaultWindow_MinRttKeepsTheOldSample()
    {
        // tcp_min_rtt_wlen 300 s: the 100 ms sample at 2.1 s is neither below the 20 ms one nor past the window.
        var c = SlowerPathThenSend(null, S(2));

        Assert.Equal(20_000, c.Info.MinRttUs);
    }

    [Fact]
    public void Established_RttGrowsPastAOneSecondWindow_MinRttIsTheNewSample()
    {
        // tcp_min_rtt_wlen 1: win = 250 jiffies. The 100 ms sample at 2.1 s comes more than 250 jiffies after the third
        // choice (the 20 ms sample of 21 ms): "nothing left in window?" — minmax_reset() to the new sample.
        var c = SlowerPathThenSend("1", S(2));

        Assert.Equal(100_000, c.Info.MinRttUs);
    }

    [Fact]
    public void Established_RttGrowsWithinAOneSecondWindow_MinRttKeepsTheOldSample()
    {
        // The same 1 s window, the data sent at 0.6 s: its sample (0.7 s) is 170 jiffies after the best — inside the
        // window; being past a quarter of it with no second choice, it becomes the 2nd and 3rd choice only.
        var c = SlowerPathThenSend("1", Ms(600));

        Assert.Equal(20_000, c.Info.MinRttUs);
    }

    [Fact]
    public void Linux44_MinRttWlen_NotASysctl()
    {
        var h = new TwoHostHarness(profile: Engine.KernelProfile.Linux44);

        Assert.NotNull(h.Sim.SetSysctl("client", "net.ipv4.tcp_min_rtt_wlen", "1"));
    }
}
