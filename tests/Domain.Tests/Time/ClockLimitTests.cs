using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Time;

/// <summary>Virtual-time arithmetic never overflows, and the clock never passes <see cref="SimTime.MaxClock"/>.</summary>
public sealed class ClockLimitTests
{
    [Fact]
    public void SimTime_PlusHugeDuration_SaturatesInsteadOfOverflowing()
    {
        Assert.Equal(long.MaxValue, (new SimTime(1) + new SimDuration(long.MaxValue)).Ns);
        Assert.Equal(long.MaxValue, (new SimDuration(long.MaxValue) + new SimDuration(long.MaxValue)).Ns);
        Assert.Equal(long.MinValue, (new SimDuration(long.MinValue) + new SimDuration(-1)).Ns);
        Assert.Equal(long.MaxValue, (new SimDuration(long.MaxValue / 2) * 3).Ns);
        Assert.Equal(long.MaxValue, SimDuration.FromSeconds(long.MaxValue).Ns);
        Assert.Equal(long.MaxValue, (new SimTime(0) - new SimDuration(long.MinValue)).Ns);
    }

    [Fact]
    public void Clock_AdvanceByMaxLongOnceTimeHasPassed_RefusedNamingTheAmount()
    {
        var h = new TwoHostHarness();
        h.At(TwoHostHarness.Ms(5));

        var outcome = CommandApplier.Apply(h.Sim, new AdvanceCommand(AdvanceMode.By, new SimDuration(long.MaxValue), 10));

        Assert.Equal(("invalid", "amount"), (outcome.Error?.Code, outcome.Error?.Field));
        Assert.Equal(TwoHostHarness.Ms(5), h.Sim.Now);
    }

    [Fact]
    public void Clock_AdvanceToPastMaxClock_Refused()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);

        var outcome = CommandApplier.Apply(sim, new AdvanceCommand(AdvanceMode.To, new SimDuration(SimTime.MaxClock.Ns + 1), 10));

        Assert.Equal(("invalid", "amount"), (outcome.Error?.Code, outcome.Error?.Field));
        Assert.Equal(SimTime.Zero, sim.Now);
    }

    [Fact]
    public void Clock_AtMaxClock_ConnectArmsTimersAndRunsWithoutOverflow()
    {
        var h = new TwoHostHarness();
        Assert.True(CommandApplier.Apply(h.Sim, new AdvanceCommand(AdvanceMode.To, new SimDuration(SimTime.MaxClock.Ns), 10)).IsOk);

        var listen = CommandApplier.Apply(h.Sim, new SocketCallCommand(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 }));
        var connect = CommandApplier.Apply(h.Sim, new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }));
        var idle = CommandApplier.Apply(h.Sim, new AdvanceCommand(AdvanceMode.UntilIdle, new SimDuration(long.MaxValue), 1000));

        Assert.True(listen.IsOk && connect.IsOk && idle.IsOk);
        Assert.Equal(SimTime.MaxClock, h.Sim.Now);
        Assert.True(h.Sim.PendingEvents > 0, "the connection's timers lie past the maximum clock and stay pending");
    }
}
