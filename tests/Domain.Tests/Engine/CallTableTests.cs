using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>The engine's call table: which call made which socket, and how each call returned, at every journal level.</summary>
public class CallTableTests
{
    [Theory]
    [InlineData(JournalLevel.Full)]
    [InlineData(JournalLevel.States)]
    [InlineData(JournalLevel.Counters)]
    public void Handshake_ConvenienceConnectAndAccept_TableNamesTheSocketsEachCallMade(JournalLevel level)
    {
        var h = new TwoHostHarness();
        h.Sim.JournalLevel = level;
        var listen = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var accept = h.Call("server", SocketCallKind.Accept, listen.SocketId);

        var pendingConnect = h.Sim.FindCall(connect.CallId)!;
        Assert.False(pendingConnect.Returned);
        Assert.Equal(connect.SocketId, pendingConnect.SocketId);
        Assert.Equal(0, pendingConnect.IssuedOnSocket);
        Assert.Null(pendingConnect.Blocked);

        h.At(TwoHostHarness.Ms(100));

        var c = h.Sim.FindCall(connect.CallId)!;
        var a = h.Sim.FindCall(accept.CallId)!;
        Assert.True(c.Returned);
        Assert.Equal(0, c.Result);
        Assert.Equal(TwoHostHarness.Ms(20), c.ReturnedAt);
        Assert.Equal(20_000_000, c.Blocked!.Value.Ns);
        Assert.True(a.Returned);
        Assert.Equal(listen.SocketId, a.IssuedOnSocket);
        Assert.NotEqual(listen.SocketId, a.SocketId);
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(a.SocketId)!.State);
        Assert.Equal([listen.CallId, connect.CallId, accept.CallId], h.Sim.Calls.Select(call => call.CallId));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(1000)]
    [InlineData(3000)]
    public void IndexOf_IdsWithGaps_FindsEveryRowAndNoOtherId(int rows)
    {
        // Ids rise with the rows but skip (a counters workload's calls keep no row): row i holds id 10 + 3i.
        var table = new CallTable();
        for (int i = 0; i < rows; i++) table.Add(new CallRow { CallId = 10 + 3L * i });

        for (int i = 0; i < rows; i++)
        {
            Assert.Equal(i, table.IndexOf(10 + 3L * i));
            Assert.Equal(-1, table.IndexOf(11 + 3L * i));
            Assert.Equal(-1, table.IndexOf(12 + 3L * i));
        }
        Assert.Equal(-1, table.IndexOf(9));
        Assert.Equal(-1, table.IndexOf(0));
        Assert.Equal(-1, table.IndexOf(10 + 3L * rows));
        Assert.Equal(-1, table.IndexOf(long.MaxValue));
    }

    [Fact]
    public void Closed_ConnectRefused_TableHoldsTheErrno()
    {
        var h = new TwoHostHarness();
        h.Sim.JournalLevel = JournalLevel.Counters;
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 81 });

        h.At(TwoHostHarness.Ms(100));

        var c = h.Sim.FindCall(connect.CallId)!;
        Assert.True(c.Failed);
        Assert.Equal(Errno.ECONNREFUSED, c.Errno);
        Assert.Equal(-1, c.Result);
        Assert.Empty(h.Sim.Journal.OfType<CallReturned>());
    }

    [Fact]
    public void Listen_UnknownCallId_IsNotInTheTable()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

        Assert.Null(h.Sim.FindCall(999));
    }

    [Fact]
    public void Handshake_RecordTakenWhileBlocked_ShowsTheLaterReturn()
    {
        // A record is a view of its row in the table's pages, read live: taken while connect() sleeps, it shows the return.
        var h = new TwoHostHarness();
        h.Sim.JournalLevel = JournalLevel.Counters;
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var taken = h.Sim.FindCall(connect.CallId)!;
        Assert.False(taken.Returned);
        Assert.Null(taken.ReturnedAt);

        h.At(TwoHostHarness.Ms(100));

        Assert.True(taken.Returned);
        Assert.Equal(TwoHostHarness.Ms(20), taken.ReturnedAt);
        Assert.Null(taken.Errno);
        Assert.Equal("client", taken.Host);
        Assert.Equal("app", taken.Process);
        Assert.Equal("to=server:80", taken.Args);
    }

    [Theory]
    [InlineData(JournalLevel.Full)]
    [InlineData(JournalLevel.Counters)]
    public void Args_CallsOfAKindAlikeAndNot_EachRowItsOwnTextAlikeRowsOneString(JournalLevel level)
    {
        // A call's text is the last of its kind's when every field the text reads is equal (no text built per call): a
        // field that differs — the port, a bind, listen's socket (none: its port is named), a dup's descriptor — is a new text.
        var h = new TwoHostHarness();
        h.Sim.JournalLevel = level;
        var listen = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var s = h.Call("server", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = s.SocketId, Port = 8080 });
        var listenOn = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = s.SocketId, Port = 80 });
        var connects = new[] { 80, 80, 81, 80 }.Select(port =>
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = (ushort)port })).ToList();
        var bound = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80, BindPort = 5000 });
        int first = connects[0].SocketId;
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Dup2) { SocketId = first, NewFd = 40 });
        var viaDup = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = first, Option = SocketOption.SO_LINGER, Fd = 40 });
        var own = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = first, Option = SocketOption.SO_LINGER });
        string Args(CallHandle c) => h.Sim.FindCall(c.CallId)!.Args;

        Assert.Equal("port=80 backlog=128", Args(listen));
        Assert.Equal("backlog=128", Args(listenOn));
        Assert.Equal(["to=server:80", "to=server:80", "to=server:81", "to=server:80"], connects.Select(Args));
        Assert.Same(Args(connects[0]), Args(connects[1]));
        Assert.Equal("to=server:80 bind=5000", Args(bound));
        Assert.Equal("SO_LINGER fd=40", Args(viaDup));
        Assert.Equal("SO_LINGER", Args(own));
        if (level == JournalLevel.Full)
            Assert.Equal(h.Sim.Calls.Select(c => c.Args), h.Sim.Journal.OfType<CallIssued>().Select(e => e.Args));
    }

    [Fact]
    public void ArgsText_CallsAlikeTheLastOfTheirKind_ItsStringNothingAllocated()
    {
        // W6's pool: every connect() reads "to=server:80". Its text is written into the simulation's buffer and found equal to
        // the last connect()'s, so no string is made per call (scale session 35); a text that differs is a string of its own.
        var sim = new TwoHostHarness().Sim;
        CallArgs Args(SocketCallRequest r) => CallArgs.From(r, sim.EngineRules);
        var connect = Args(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var accept = Args(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = 1 });
        string first = sim.ArgsText(connect, -1);
        string acceptText = sim.ArgsText(accept, -1);
        var texts = new string[1_000];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < texts.Length; i += 2)
        {
            texts[i] = sim.ArgsText(connect, -1);
            texts[i + 1] = sim.ArgsText(accept, -1);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal("to=server:80", first);
        Assert.Equal("", acceptText);
        Assert.All(texts.Where((_, i) => i % 2 == 0), t => Assert.Same(first, t));
        Assert.All(texts.Where((_, i) => i % 2 == 1), t => Assert.Same(acceptText, t));
        Assert.Equal("to=server:81", sim.ArgsText(Args(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 81 }), -1));
        Assert.Equal("to=server:80 fd=7", sim.ArgsText(connect, 7));
        Assert.Equal("fd=3", sim.ArgsText(accept, 3)); // a text that is only the descriptor's loses its leading blank
        Assert.Equal("to=server:80", sim.ArgsText(connect, -1));
    }

    [Fact]
    public void CallsOfSocket_TwoConnections_ExactlyEachSocketsCallsInTheOrderMade()
    {
        // Read in place (GET …/sockets/{id} at a 100k pool made a view per row): the listener's are its listen() and the
        // accepts issued on it; an accepted socket's, the accept that made it and the calls on it; no other socket's.
        var h = new TwoHostHarness();
        var listen = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var first = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var second = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(TwoHostHarness.Ms(100));
        var accept1 = h.Call("server", SocketCallKind.Accept, listen.SocketId);
        var accept2 = h.Call("server", SocketCallKind.Accept, listen.SocketId);
        int accepted1 = h.Sim.FindCall(accept1.CallId)!.SocketId, accepted2 = h.Sim.FindCall(accept2.CallId)!.SocketId;
        Assert.Equal(5, new HashSet<int> { listen.SocketId, first.SocketId, second.SocketId, accepted1, accepted2 }.Count);
        var closeFirst = h.Call("client", SocketCallKind.Close, first.SocketId);
        var closeAccepted = h.Call("server", SocketCallKind.Close, accepted1);
        h.At(TwoHostHarness.Ms(200));

        Assert.Equal([listen.CallId, accept1.CallId, accept2.CallId], h.Sim.CallsOfSocket(listen.SocketId).Select(c => c.CallId));
        Assert.Equal([first.CallId, closeFirst.CallId], h.Sim.CallsOfSocket(first.SocketId).Select(c => c.CallId));
        Assert.Equal([second.CallId], h.Sim.CallsOfSocket(second.SocketId).Select(c => c.CallId));
        Assert.Equal([accept1.CallId, closeAccepted.CallId], h.Sim.CallsOfSocket(accepted1).Select(c => c.CallId));
        Assert.Equal([accept2.CallId], h.Sim.CallsOfSocket(accepted2).Select(c => c.CallId));
        Assert.Empty(h.Sim.CallsOfSocket(999));
        Assert.Equal(7, h.Sim.Calls.Count);
        // Views of the rows, read live as the table's own.
        var accepted = h.Sim.CallsOfSocket(accepted1)[0];
        Assert.Equal((true, listen.SocketId, accepted1), (accepted.Returned, accepted.IssuedOnSocket, accepted.SocketId));
    }

    [Fact]
    public void CallRow_IsA72ByteStructInTheTablesPages()
    {
        // A held W6 connection keeps two rows (its connect() and its accept()): no object of their own for the collector
        // to mark and move, 72 B each in a page (a row object was 88 B and its page slot 8).
        Assert.True(typeof(CallRow).IsValueType);
        Assert.Equal(72, System.Runtime.CompilerServices.Unsafe.SizeOf<CallRow>());
    }

    [Fact]
    public void Calls_IndexOutsideTheTable_Throws()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

        Assert.Single(h.Sim.Calls);
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Sim.Calls[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Sim.Calls[-1]);
    }
}
