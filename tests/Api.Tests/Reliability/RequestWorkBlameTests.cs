using SimService.Api.Infrastructure.Hardening;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// What a request's wall-time limit blames (<see cref="RequestWork.Blamed"/>): a request running when its limit ran out
/// after it waited longer than it ran is a wait (a busy problem with Retry-After), not its own work (a 422 work-limit
/// advising to ask for less). The tester's 400 concurrent GET /clock at load 50–80 got 13 × 422: each waited ≈ 9.9 s at
/// the simulation's gate and ran out of time in its read that followed. Ticks are given, not measured.
/// </summary>
public sealed class RequestWorkBlameTests
{
    [Theory]
    [InlineData(9_900, 100, WorkPhase.WaitingForSimulation)] // waited most of the limit, then ran out in a short read
    [InlineData(9_000, 1_000, WorkPhase.WaitingForSimulation)]
    [InlineData(4_000, 6_000, WorkPhase.Running)] // ran longer than it waited: its own work
    [InlineData(0, 10_000, WorkPhase.Running)]
    public void RunningAtTheLimit_BlamesTheLongerOfItsWaitAndItsRun(long waitedMs, long ranMs, WorkPhase blamed)
    {
        long now = 0;
        var work = new RequestWork(() => now);
        work.Move(WorkPhase.WaitingForSimulation);
        now += waitedMs;
        work.Move(WorkPhase.Running);
        now += ranMs;

        Assert.Equal(blamed, work.Blamed());
    }

    [Fact]
    public void StillWaitingAtTheLimit_BlamesTheWait_AndTheLongestOfSeveralWaits()
    {
        long now = 0;
        var work = new RequestWork(() => now);
        work.Move(WorkPhase.Rebuilding);
        now += 2_000;
        Assert.Equal(WorkPhase.Rebuilding, work.Blamed());
        work.Move(WorkPhase.WaitingForSimulation);
        now += 5_000;
        work.Move(WorkPhase.Running);
        now += 3_000;

        Assert.Equal(WorkPhase.WaitingForSimulation, work.Blamed());
    }
}
