using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Tests.Scenarios;
using SimService.Domain.Tests.Scenarios.Runner;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The skbs a socket receives through lo: tcp_add_backlog()'s limit — net/ipv4/tcp_ipv4.c, sk_add_backlog() in
/// include/net/sock.h — for a segment that comes while a call owns the socket, and the skb each out-of-order segment
/// stays in until tcp_ofo_queue() moves it (its truesize and whether it is a clone of its sender's skb).
/// </summary>
public class LoReceiveSkbTests
{
    /// <summary>
    /// scenarios/loopback-backlog-*.json on the engine: in host "client", a connection over 127.0.0.1 accepted at
    /// 10 ms, 100000 bytes from the accepted socket at 50 ms left unread (three lo skbs, sk_rmem_alloc 102496), then
    /// the connecting socket's SO_RCVBUF 1 (sk_rcvbuf 2304) and SO_SNDBUF <paramref name="sndbuf"/> at 100 ms and its
    /// send of 1 byte at 110 ms, whose ACK comes back while the send owns the socket.
    /// </summary>
    static (TwoHostHarness H, TcpSocket Reader, TcpSocket Writer) OneByteSentOverUnreadData(int sndbuf)
    {
        var (h, reader, writer) = LoConnection(acceptAtMs: 10);
        h.At(Ms(50));
        h.Send(writer.Id, 100000);
        h.At(Ms(100));
        Assert.Equal(102496L, reader.RmemAlloc);
        ShrinkBuffers(h, reader, sndbuf);
        h.At(Ms(110));
        h.Send(reader.Id, 1);
        h.At(Ms(1000));
        return (h, reader, writer);
    }

    /// <summary>SO_RCVBUF 1 (sk_rcvbuf 2304) and SO_SNDBUF <paramref name="sndbuf"/>: tcp_add_backlog()'s limit 70144 + sndbuf.</summary>
    static void ShrinkBuffers(TwoHostHarness h, TcpSocket sk, int sndbuf)
    {
        h.SetOption(sk.Id, SocketOption.SO_RCVBUF, 1);
        h.SetOption(sk.Id, SocketOption.SO_SNDBUF, sndbuf);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-backlog-over-its-limit-drops-the-ack.json): the limit is
    /// 2 · 2304 + 64702 / 2 + 65536 = 102495, and sk_backlog.len 0 + sk_rmem_alloc 102496 is over it: the ACK of the
    /// byte is dropped (TCPBacklogDrop) — counted as received (InSegs, segs_in), never handled — so the byte stays in
    /// flight until the loss probe resends it at 316 ms, which the peer D-SACKs.
    /// </summary>
    [Fact]
    public void Established_LoSendOverUnreadDataPastTheBacklogLimit_TheAckIsDroppedAndTheLossProbeResendsTheByte()
    {
        var (h, reader, writer) = OneByteSentOverUnreadData(sndbuf: 32351);

        Assert.Equal(102495L, reader.BacklogLimit);
        Assert.Equal(1L, h.Client.Mib[MibCounter.TcpExtTCPBacklogDrop]);
        var dropped = Assert.Single(h.Sim.Journal.OfType<SegmentIgnored>(), e => e.Why == "backlog full (TCPBacklogDrop)");
        Assert.Equal((Ms(110), reader.Id, TcpFlags.Ack), (dropped.At, dropped.SocketId, dropped.Flags));
        var sent = h.Sent("client").Where(s => s.Tuple == reader.Tuple && s.Len == 1).Select(s => s.At);
        Assert.Equal([Ms(110), Ms(316)], sent);
        var dsack = h.Sent("client").Single(s => s.Tuple == writer.Tuple && s.At == Ms(316));
        Assert.Equal((2u, 1u, 2u), (dsack.AckNo - reader.Iss, dsack.Options.Sack.ToArray()[0].Left - reader.Iss, dsack.Options.Sack.ToArray()[0].Right - reader.Iss));
        Assert.Equal(reader.Iss + 2, reader.SndUna);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-backlog-at-its-limit-takes-the-ack.json): with SO_SNDBUF 32352
    /// the limit is 102496, exactly sk_rmem_alloc, and sk_rcvqueues_full() drops only above it: the ACK waits in the
    /// backlog, release_sock() handles it, nothing is resent.
    /// </summary>
    [Fact]
    public void Established_LoSendOverUnreadDataAtTheBacklogLimit_TheAckWaitsAndIsHandled()
    {
        var (h, reader, _) = OneByteSentOverUnreadData(sndbuf: 32352);

        Assert.Equal(102496L, reader.BacklogLimit);
        Assert.Equal(0L, h.Client.Mib[MibCounter.TcpExtTCPBacklogDrop]);
        Assert.Equal([Ms(110)], h.Sent("client").Where(s => s.Tuple == reader.Tuple && s.Len == 1).Select(s => s.At));
        Assert.Equal(reader.Iss + 2, reader.SndUna);
    }

    /// <summary>
    /// The limit as tcp_add_backlog() computes it: 2 · sk_rcvbuf + sk_sndbuf / 2 + 64 KB, capped at UINT_MAX (6.18);
    /// sk_rcvbuf + sk_sndbuf under linux-4.4's tcp_v4_rcv().
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 1, 32351, 2 * 2304 + 32351 + 65536)]
    [InlineData(KernelProfile.Linux6, int.MaxValue, int.MaxValue, 4294967295L)]
    [InlineData(KernelProfile.Linux44, 1, 32351, 2304 + 64702)]
    public void BacklogLimit_FromTheSocketsBuffers(KernelProfile profile, int rcvbuf, int sndbuf, long limit)
    {
        var h = new TwoHostHarness(profile: profile);
        var (client, _, _) = h.Establish();
        h.Sim.SetSysctl("client", "net.core.rmem_max", "2147483647");
        h.Sim.SetSysctl("client", "net.core.wmem_max", "2147483647");
        h.SetOption(client.Id, SocketOption.SO_RCVBUF, rcvbuf);
        h.SetOption(client.Id, SocketOption.SO_SNDBUF, sndbuf);

        Assert.Equal(limit, client.BacklogLimit);
    }

    /// <summary>
    /// In host "client": a listener on 127.0.0.1:80 at 0 ms (TCP_MAXSEG <paramref name="listenerMaxseg"/> unless 0), a
    /// connect to it at 1 ms, its accept at <paramref name="acceptAtMs"/>. The connecting socket and the accepted one.
    /// </summary>
    static (TwoHostHarness H, TcpSocket Connected, TcpSocket Accepted) LoConnection(double acceptAtMs, int listenerMaxseg = 0)
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { Port = 80, Address = "127.0.0.1" });
        if (listenerMaxseg != 0) h.SetOption(l.SocketId, SocketOption.TCP_MAXSEG, listenerMaxseg);
        h.At(Ms(1));
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "127.0.0.1", ToPort = 80 });
        h.At(Ms(acceptAtMs));
        var a = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        return (h, h.Sim.FindSocket(c.SocketId)!, h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!);
    }

    /// <summary>
    /// <see cref="LoConnection"/> accepted at 1 ms, the clock at 50 ms; <see cref="Data"/> crafts segments of the
    /// connecting socket's direction, with the timestamps it sends.
    /// </summary>
    static (TwoHostHarness H, TcpSocket Sender, TcpSocket Receiver, TcpOptions Ts) Crafting()
    {
        var (h, sender, receiver) = LoConnection(acceptAtMs: 1);
        h.At(Ms(50));
        return (h, sender, receiver, h.Sent("client").Last(s => s.Tuple == sender.Tuple).Options);
    }

    /// <summary>A segment of <paramref name="len"/> bytes from <paramref name="sender"/>, <paramref name="offset"/> bytes into its stream.</summary>
    static Segment Data(TcpSocket sender, TcpOptions ts, uint offset, int len, bool piece = false)
    {
        var seg = new Segment(sender.Tuple, TcpFlags.Ack, sender.Iss + 1 + offset, sender.RcvNxt, 64, len, ts);
        if (piece) seg.MarkSegmented();
        return seg;
    }

    /// <summary>
    /// A software GSO piece (its own skb) queued out of order, then the clone that fills the hole before it: the
    /// clone is a new skb (its sender still holds it), and tcp_ofo_queue() moves the piece — still its own skb — behind
    /// it. The next clone is coalesced into the piece (skb_try_coalesce() refuses only a cloned tail): sk_rmem_alloc
    /// 932 + 1832 + 500, TCPRcvCoalesce 1. Taking the clone's state for the moved piece refused it: a third skb, 4096.
    /// </summary>
    [Fact]
    public void Established_LoPieceMovedFromTheOfoQueue_StaysItsOwnSkbAndTakesTheNextSegment()
    {
        var (h, sender, receiver, ts) = Crafting();

        h.Deliver(h.Client, Data(sender, ts, 100, 1000, piece: true));
        Assert.Equal(1000L + 832, receiver.RmemAlloc);
        h.Deliver(h.Client, Data(sender, ts, 0, 100));
        Assert.Equal(932L + 1832, receiver.RmemAlloc);
        h.Deliver(h.Client, Data(sender, ts, 1100, 500));

        Assert.Equal((932L + 1832 + 500, 1L), (receiver.RmemAlloc, h.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce]));
        Assert.Equal(sender.Iss + 1601, receiver.RcvNxt);
    }

    /// <summary>
    /// tcp_data_queue_ofo()'s tcp_ooo_try_coalesce() over lo: a segment that lands right after an out-of-order software
    /// GSO piece — its own skb, not a clone — is merged into it by skb_try_coalesce(): 500 bytes of a clone take their
    /// page fragments and add their payload (sk_rmem_alloc 1832 + 500, TCPRcvCoalesce 1) and 40 bytes fit the piece's
    /// 64 bytes of tail room (copied: 1832, nothing added). When the clone before it fills the hole, tcp_ofo_queue()
    /// moves the piece as one skb behind it. Without the merge the segment was a second out-of-order skb: 1832 + 1332
    /// (1832 + 872), TCPRcvCoalesce 0.
    /// </summary>
    [Theory]
    [InlineData(500, 1000L + 832 + 500)]
    [InlineData(40, 1000L + 832)]
    public void Established_LoSegmentAfterAnOfoPiece_MergedIntoThePieceInTheOfoQueue(int len, long rmem)
    {
        var (h, sender, receiver, ts) = Crafting();
        h.Deliver(h.Client, Data(sender, ts, 100, 1000, piece: true));

        h.Deliver(h.Client, Data(sender, ts, 1100, len));

        Assert.Equal((rmem, 1L), (receiver.RmemAlloc, h.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce]));
        h.Deliver(h.Client, Data(sender, ts, 0, 100));
        Assert.Equal((932 + rmem, sender.Iss + 1101 + (uint)len), (receiver.RmemAlloc, receiver.RcvNxt));
        Assert.Equal(1L, h.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce]);
    }

    /// <summary>
    /// scenarios/loopback-ofo-piece-takes-the-next-piece-after-a-backlog-drop.json on the engine, as on Linux 6.18.44
    /// (`kernel --diff`: the kernel's packets, socket states and counters the engine's): after the 200 bytes dropped in
    /// the client's backlog (TCPBacklogDrop 1), the server's 65483-byte clone and the two pieces of its 81973-byte chunk
    /// are queued out of order (TCPOFOQueue 3) and the second piece is merged into the first (TCPRcvCoalesce 1 — 0 without
    /// the merge, the hole never filled); the two duplicate ACKs merged in the server's backlog count 2 (TCPDelivered 6 —
    /// 5 when a merged pure ACK counted one).
    /// </summary>
    [Fact]
    public void Established_LoRenoChunkAfterABacklogDrop_SecondPieceMergedOutOfOrderAndMergedDupacksCountEach()
    {
        var result = RunnerAssert.Run(File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder,
            "loopback-ofo-piece-takes-the-next-piece-after-a-backlog-drop.json")));

        RunnerAssert.Passed(result);
        Assert.Equal(4, result.Checks.Count(c => c.Path.Contains("counters", StringComparison.Ordinal)));
    }

    /// <summary>
    /// skb_try_coalesce() refuses a cloned destination before anything else: over lo an out-of-order segment sent whole
    /// is the clone of the skb its sender keeps until an ACK covers it, so neither the next 500 bytes (1832 + 1332) nor
    /// a bare FIN (1832 + 832, its own skb) is merged into it — the FIN, coalesced into any skb before, added nothing.
    /// </summary>
    [Theory]
    [InlineData(false, 1000L + 832 + 500 + 832)]
    [InlineData(true, 1000L + 832 + 832)]
    public void Established_LoSegmentAfterAnOfoClone_NotMergedIntoTheClone(bool bareFin, long rmem)
    {
        var (h, sender, receiver, ts) = Crafting();
        h.Deliver(h.Client, Data(sender, ts, 100, 1000));

        h.Deliver(h.Client, bareFin
            ? new Segment(sender.Tuple, TcpFlags.Ack | TcpFlags.Fin, sender.Iss + 1101, sender.RcvNxt, 64, 0, ts)
            : Data(sender, ts, 1100, 500));

        Assert.Equal((rmem, 0L), (receiver.RmemAlloc, h.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce]));
    }

    /// <summary>
    /// An skb tcp_add_backlog() merged — a pure ACK's 832-byte head that took 40 bytes into its tail room — queued out
    /// of order is charged its own truesize, 832 (not 40 + 832); when the clone before it (100 bytes, 932) fills the
    /// hole, tcp_ofo_queue() moves it as it is: a second skb of 832, sk_rmem_alloc 1764 — where the clone's head
    /// taken for it made 1804.
    /// </summary>
    [Fact]
    public void Established_LoBacklogMergeQueuedOutOfOrder_ChargedAndMovedWithItsOwnTruesize()
    {
        var (h, sender, receiver, ts) = Crafting();
        var merged = Data(sender, ts, 100, 0);
        Assert.True(merged.CoalesceBacklog(Data(sender, ts, 100, 40)));
        Assert.Equal((40, 832), (merged.Length, merged.Truesize));

        h.Deliver(h.Client, merged);
        Assert.Equal(832L, receiver.RmemAlloc);
        h.Deliver(h.Client, Data(sender, ts, 0, 100));

        Assert.Equal((932L + 832, sender.Iss + 141), (receiver.RmemAlloc, receiver.RcvNxt));
    }

    /// <summary>
    /// scenarios/loopback-backlog-length-counts-the-whole-release.json on the engine: the 23721-byte burst at MSS 524 of
    /// scenarios/loopback-burst-backlog-acks-merged-in-each-release.json from a sender holding 100000 unread bytes of
    /// its peer's (sent at 20 ms), SO_RCVBUF 1 and SO_SNDBUF <paramref name="sndbuf"/> at 40 ms.
    /// </summary>
    static (TwoHostHarness H, TcpSocket Sender, TcpSocket Reader) BurstFromASenderHoldingUnreadData(int sndbuf)
    {
        var (h, reader, sender) = LoConnection(acceptAtMs: 10, listenerMaxseg: 536);
        h.At(Ms(15));
        h.SetOption(reader.Id, SocketOption.SO_SNDBUF, 500000);
        h.At(Ms(20));
        h.Send(reader.Id, 100000);
        h.At(Ms(40));
        ShrinkBuffers(h, sender, sndbuf);
        h.At(Ms(50));
        h.Send(sender.Id, 23721);
        h.At(Ms(320));
        return (h, sender, reader);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-backlog-length-counts-the-whole-release.json; SO_SNDBUF 27688 and
    /// 26856 under `kernel --diff` too, the kernel's packets and counters the engine's): sk_backlog.len is zeroed only
    /// when __release_sock() ends, so each batch's merged ACK (832) still counts when the next batch comes. Limit
    /// 70144 + <paramref name="sndbuf"/>: the first ACK finds 96168, the second 97000, the third — after the last
    /// 8121 bytes went at 50 ms — 97832: dropped when over the limit (27687: 97831), so the loss probe resends the last
    /// 261 bytes at 56 ms; taken at 27688. A length zeroed per batch took it at 27687 too.
    /// </summary>
    [Theory]
    [InlineData(27687, 1)]
    [InlineData(27688, 0)]
    public void Established_LoBurstFromASenderHoldingUnreadData_BacklogLengthCountsEveryBatchOfTheRelease(int sndbuf, long drops)
    {
        var (h, sender, _) = BurstFromASenderHoldingUnreadData(sndbuf);

        Assert.Equal((96168L, 70144L + sndbuf), (sender.RmemAlloc, sender.BacklogLimit));
        Assert.Equal((drops, 5L), (h.Client.Mib[MibCounter.TcpExtTCPBacklogDrop], h.Client.Mib[MibCounter.TcpExtTCPBacklogCoalesce]));
        var sent = h.Sent("client").Where(s => s.Tuple == sender.Tuple && s.Len > 0).Select(s => (s.At, s.SeqNo - sender.Iss, s.Len));
        (SimTime, uint, int)[] burst = [(Ms(50), 1, 2560), (Ms(50), 2561, 2560), (Ms(50), 5121, 5240), (Ms(50), 10361, 5240), (Ms(50), 15601, 8121)];
        Assert.Equal(drops == 1 ? [.. burst, (Ms(56), 23461, 261)] : burst, sent);
        Assert.Equal(sender.Iss + 23722, sender.SndUna);
    }
}
