using Microsoft.Extensions.Configuration;
using SimService.Api.Infrastructure.Engines;

namespace SimService.Api.Tests.Features;

/// <summary>
/// Where the caller of engine work goes on (<see cref="EngineThreads"/>): after light work, on the engine thread that ran
/// it (no thread-pool hop); after heavy (demoted) work, on the thread pool — never on a demoted thread.
/// </summary>
public sealed class EngineThreadsTests
{
    /// <summary>Engine threads whose slice is long enough that a busy test machine never demotes the light work.</summary>
    private static EngineThreads Threads() =>
        new(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Engines:SliceMs"] = "600000" }).Build());

    /// <summary>
    /// Runs work and reports where it ran and where its caller went on: the caller is waiting (its continuation registered)
    /// before the work may end — work that ends first leaves its caller going on on its own thread, with no hop at all. On
    /// the pool, so that no test synchronization context takes the continuation.
    /// </summary>
    /// <remarks>Threads are compared as objects, not by ManagedThreadId: a demoted engine thread that ends frees its id,
    /// which the pool may give to a new thread.</remarks>
    private static Task<(Thread RanOn, Thread ContinuedOn, string? Name, bool OnPool)> RunAndObserve(EngineThreads threads, bool heavy) =>
        Task.Run(async () =>
        {
            using var go = new ManualResetEventSlim();
            var observed = Observe(threads.RunAsync(() => { go.Wait(); return Thread.CurrentThread; }, heavy, CancellationToken.None));
            go.Set();
            return await observed;
        });

    private static async Task<(Thread RanOn, Thread ContinuedOn, string? Name, bool OnPool)> Observe(Task<Thread> work)
    {
        var ranOn = await work;
        return (ranOn, Thread.CurrentThread, Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread);
    }

    [Fact]
    public async Task LightWork_Completes_CallerContinuesOnTheEngineThreadThatRanIt()
    {
        var threads = Threads();

        var (ranOn, continuedOn, name, onPool) = await RunAndObserve(threads, heavy: false);

        Assert.Same(ranOn, continuedOn);
        Assert.Equal("engine", name);
        Assert.False(onPool);
        Assert.Equal(0, threads.Demotions);
    }

    [Fact]
    public async Task HeavyWork_Completes_CallerContinuesOnThePoolNotOnTheDemotedThread()
    {
        var threads = Threads();

        var (ranOn, continuedOn, _, onPool) = await RunAndObserve(threads, heavy: true);

        Assert.NotSame(ranOn, continuedOn);
        Assert.True(onPool);
        Assert.Equal(1, threads.Demotions);
    }

    [Fact]
    public async Task LightWork_Throws_CallerSeesTheEngineException()
    {
        var threads = Threads();

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => Task.Run(
            () => threads.RunAsync<int>(() => throw new InvalidOperationException("engine bug"), heavy: false, CancellationToken.None)));

        Assert.Equal("engine bug", failure.Message);
    }

    /// <summary>One heavy slot, shared in turns at every boundary (slice 0).</summary>
    private static EngineThreads OneSlotInTurns() => new(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Engines:SliceMs"] = "600000",
        ["Engines:HeavyParallelism"] = "1",
        ["Engines:HeavySliceMs"] = "0",
    }).Build());

    [Fact]
    public async Task HeavyWork_NobodyWaits_HasATurnNotWanted()
    {
        var threads = OneSlotInTurns();

        Assert.False(await threads.RunAsync(turn => turn!.Wanted, heavy: true, CancellationToken.None));
        Assert.Null(await threads.RunAsync(turn => turn, heavy: false, CancellationToken.None));
    }

    /// <summary>
    /// Work holding the only slot is told that other work waits, passes its turn at its boundary — the waiting work runs
    /// to its end on the slot meanwhile — and gets the slot back after it; then nobody waits and it runs on.
    /// </summary>
    [Fact]
    public async Task HeavyWork_AnotherWaits_PassesItsSlotAndGetsItBackAfterIt()
    {
        var threads = OneSlotInTurns();
        using var holding = new ManualResetEventSlim();
        bool otherRan = false;
        var first = Task.Run(() => threads.RunAsync(turn =>
        {
            holding.Set();
            while (!turn!.Wanted) Thread.Yield(); // until the other work waits
            turn.Pass();
            return (Volatile.Read(ref otherRan), turn.Wanted);
        }, heavy: true, CancellationToken.None));
        holding.Wait();

        var second = threads.RunAsync(() => Volatile.Write(ref otherRan, true), heavy: true, CancellationToken.None);
        await second;
        var (otherRanWhilePassed, wantedAfter) = await first;

        Assert.True(otherRanWhilePassed);
        Assert.False(wantedAfter);
        Assert.Equal(1, threads.TurnsPassed);
        Assert.Equal(0, threads.HeavyWaiting);
    }
}
