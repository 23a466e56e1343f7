using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>The process fd table (fs/file.c): lowest free descriptor, across the 64- and 4096-descriptor word boundaries.</summary>
public class FdTableTests
{
    static int Socket(TwoHostHarness h) => (int)h.Call(new SocketCallRequest("client", "app", SocketCallKind.Socket)).Result;

    static int SocketId(TwoHostHarness h, int fd) =>
        h.Client.AllSockets.Single(s => s.Fd == fd && s.Owner is not null).Id;

    [Fact]
    public void Process_TenThousandSockets_NumberedFrom3Upward()
    {
        var h = new TwoHostHarness();
        for (int i = 0; i < 10_000; i++) Assert.Equal(3 + i, Socket(h));
        Assert.Equal(10_000, h.Client.FindProcess("app")!.OpenCount);
    }

    [Theory]
    [InlineData(new[] { 70, 5000, 9 }, new[] { 9, 70, 5000, 10_003 })]
    [InlineData(new[] { 4098 }, new[] { 4098, 10_003 })]
    [InlineData(new[] { 3, 66, 67, 4095, 4096 }, new[] { 3, 66, 67, 4095, 4096, 10_003 })]
    public void Process_DescriptorsClosedInTheMiddle_ReusedLowestFirst(int[] closed, int[] expected)
    {
        var h = new TwoHostHarness();
        for (int i = 0; i < 10_000; i++) Socket(h);
        var ids = closed.Select(fd => SocketId(h, fd)).ToList();
        foreach (var id in ids) h.Call("client", SocketCallKind.Close, id);
        Assert.Equal(expected, expected.Select(_ => Socket(h)));
    }

    [Fact]
    public void Process_Killed_TcpCloseRunsInDescendingFdOrder()
    {
        var h = new TwoHostHarness();
        for (int i = 0; i < 5; i++) Socket(h);
        h.Call("client", SocketCallKind.Close, SocketId(h, 4));
        Assert.Equal(4, Socket(h)); // the newest socket takes fd 4
        int port = 1000;
        foreach (int fd in new[] { 3, 4, 5, 6, 7 })
        {
            int id = SocketId(h, fd);
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = id, Port = (ushort)port++ });
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { SocketId = id, Backlog = 1 });
        }
        var byFd = new[] { 3, 4, 5, 6, 7 }.Select(fd => SocketId(h, fd)).ToList();
        Assert.Null(h.Sim.Kill("client", "app", "SIGKILL"));
        // close_files() walks open_fds upward, each last fput() pushes ____fput() at the head of the task_work
        // list and exit_task_work() runs it from the head: descending fd order, not the order the sockets were opened.
        var closed = h.Sim.Journal.OfType<SimService.Domain.Journal.StateChanged>().Where(e => e.To == TcpState.Close).Select(e => e.SocketId);
        byFd.Reverse();
        Assert.Equal(byFd, closed);
        Assert.Null(h.Client.FindProcess("app")); // exited and forgotten
    }
}
