using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;

namespace SimService.Domain.Tests.Commands;

/// <summary>
/// What the command layer adds to a socket call's garbage: nothing — no result object of the same-instant run
/// (CommandApplier's rule) it makes before returning (scale session 34), and no outcome object (a value since scale
/// session 35). W6's pool makes two calls a connection, and what they throw away lies between the sockets the pool holds
/// (the W1–W6 notes, scale sessions 34–35).
/// </summary>
public class CallGarbageTests
{
    [Fact]
    public void CallThroughTheCommandLayer_AllocatesNothingMoreThanTheEngineCall()
    {
        const int calls = 4_096;
        var (viaCommands, pollRequest) = PollingSimulation();
        var (direct, request) = PollingSimulation();
        var poll = new SocketCallCommand(pollRequest);
        // Both tables reach the same size first, so that each measured call grows them alike.
        for (int i = 0; i < calls; i++)
        {
            Assert.True(CommandApplier.Apply(viaCommands, poll).IsOk);
            Assert.True(direct.Call(request).IsOk);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) CommandApplier.Apply(viaCommands, poll);
        long applied = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) direct.Call(request);
        long engine = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(engine > 0); // the engine's own call allocates (its call table grows), so the two are measured alike
        Assert.Equal(engine, applied);
    }

    /// <summary>A host with one socket and a poll() on it that returns at once (POLLOUT of a fresh socket), at level counters.</summary>
    static (Simulation, SocketCallRequest) PollingSimulation()
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 1) { Sink = new CountersJournal() };
        Assert.True(CommandApplier.Apply(sim, new AddHostCommand("h", "10.0.0.1", HostKind.Linux, [])).IsOk);
        var socket = CommandApplier.Apply(sim, new SocketCallCommand(new SocketCallRequest("h", "app", SocketCallKind.Socket)));
        Assert.True(socket.IsOk, socket.Error?.Message);
        return (sim, new SocketCallRequest("h", "app", SocketCallKind.Poll) { SocketId = socket.Call!.Value.SocketId, Events = 0x4 });
    }
}
