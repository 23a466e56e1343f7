using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The send buffer as Linux 6.18 fills and drains it, at exact virtual times. The client connects at 1 ms
/// (srtt 20 ms, min_rtt 20 ms, cwnd 10, mss_cache 1448, sk_sndbuf = tcp_sndbuf_expand() = 46080), the link is
/// then cut both ways and the server's ACKs are injected (<see cref="AckedSender"/>). Kernel rules:
/// tcp_sendmsg_locked(), tcp_xmit_size_goal(), tcp_stream_alloc_skb(), forced_push(), tcp_push_one()
/// (net/ipv4/tcp.c); tcp_write_xmit(), tcp_tso_autosize(), tcp_grow_skb(), tso_fragment() (tcp_output.c);
/// tcp_clean_rtx_queue(), tcp_update_pacing_rate(), tcp_check_space(), tcp_new_space(),
/// tcp_should_expand_sndbuf(), tcp_sndbuf_expand() (tcp_input.c); sk_stream_memory_free(),
/// __sk_stream_is_writeable() (include/net/sock.h); sk_stream_write_space(), sk_stream_wait_memory()
/// (net/core/stream.c); tcp_poll().
/// <para>Common arithmetic. size_goal = tcp_xmit_size_goal(): min(sk_gso_max_size 65343, max_window 65160 / 2 =
/// 32580) in whole MSS = 22 · 1448 = 31856. Each skb costs 832 (skb_small_head_cache's truesize with MAX_TCP_HEADER 192, observed on Linux 6.18.44) plus its payload.
/// tcp_tso_autosize() = 2 segments: the pacing rate set by the SYN-ACK's tcp_ack() (mss_cache 1448 from its
/// tcp_ack_update_window() → tcp_sync_mss(), cwnd 10, srtt 20 ms: 1448 · 2 · 10 / 0.020 = 1,448,000 B/s) gives
/// 1,448,000 &gt;&gt; 10 = 1414 bytes, under one MSS, so tcp_min_tso_segs 2; a 20 ms min_rtt adds nothing (20000 &gt;&gt; 9 = 39 ≥ 32).</para>
/// <para>A send of at least 78192 bytes at 200 ms: skb 1 takes 31856 bytes (32752); full and the send head, so
/// tcp_push_one() sends its first chunk of 2 segments and tso_fragment() cuts the rest into a new skb (+832).
/// That rest is the unsent tail again: topped up by 2896 to size_goal (no memory check — only a new skb needs
/// sk_stream_memory_free()); now 34752 bytes written since pushed_seq, more than 32580: forced_push() sends the
/// 8 segments cwnd still allows as 4 more chunks (4 × 832). The new rest [14480, 34752) is topped up by 11584
/// (wmem 51328); cwnd is full, so tcp_push_one() sends nothing.</para>
/// </summary>
public class SendBufferTests
{
    /// <summary>
    /// Non-blocking send(1,000,000) at 200 ms (see the class remarks for the first 46336 bytes): the rest [14480,
    /// 46336) is full, and a new skb would need sk_wmem_queued 51328 &lt; 46080: sk_stream_memory_free() fails:
    /// SOCK_NOSPACE, and sk_stream_wait_memory() with timeo 0 → -EAGAIN, so tcp_sendmsg_locked() returns the 46336
    /// bytes it copied (32 · 1448). A second send() finds the tail full and no room for a new skb: -EAGAIN. 6 skbs:
    /// 5 sent chunks of 2896 and the rest of 31856 — 6 · 832 + 46336 = 51328.
    /// </summary>
    /// <summary>
    /// One byte written and not acknowledged: one skb, 832 of head truesize (skb_small_head_cache with
    /// MAX_TCP_HEADER 192) plus the byte. Observed on Linux 6.18.44: `ss -tm` skmem w833, tb46080.
    /// </summary>
    [Fact]
    public void Established_OneByteUnacknowledged_WmemQueuedIs833()
    {
        var f = new AckedSender();

        Assert.Equal(1, f.H.Send(f.C.Id, 1).Result);

        Assert.Equal((833L, 1, 46080L), (f.C.WmemQueued, f.C.SendSkbCount, f.SndBuf));
    }

    [Fact]
    public void Established_NonBlockingSendOfAMegabyte_CopiesUntilTheSkbsPassSndbufThenEagain()
    {
        var f = new AckedSender();
        f.NonBlock();

        var first = f.H.Send(f.C.Id, 1_000_000);
        var second = f.H.Send(f.C.Id, 1000);

        Assert.Equal((46336L, (string?)null), (first.Result, first.Errno));
        Assert.Equal(Errno.EAGAIN, second.Errno);
        Assert.Equal((51328L, 6), (f.C.WmemQueued, f.C.SendSkbCount));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (i * 1448L, 1448)), f.DataAt(Ms(200)));
    }

    /// <summary>
    /// A blocking send(200,000) at 200 ms copies the same 46336 bytes and sleeps in sk_stream_wait_memory() with
    /// SOCK_NOSPACE set. At 230 ms the server acknowledges all 14480 bytes: the 5 chunks are freed (5 · 832 + 14480
    /// → wmem 32688), slow start takes cwnd to 20. tcp_data_snd_check() pushes 20 segments as 10 chunks of 2
    /// (tcp_update_pacing_rate(): 1448 · 2 · 20 / 21.25 ms = 2,725,647 B/s → 2661 bytes → still 2 segments), each
    /// cut from [14480, 46336) (+832). After the first, tcp_event_new_data_sent() → tcp_check_space(): SOCK_NOSPACE
    /// and 2 packets in flight &lt; cwnd 20, so tcp_new_space() → tcp_sndbuf_expand(): 2 · 20 · 2304 = 92160; free
    /// 92160 − 33520 ≥ 33520 / 2, so sk_stream_write_space() wakes the writer. It runs after the softirq (wmem
    /// 41008): it tops the unsent rest [43440, 46336) up to size_goal, [43440, 75296) (69968), then a new skb
    /// [75296, 107152) (102656, more than 92160): it sleeps again with 107152 bytes copied.
    /// </summary>
    [Fact]
    public void Established_BlockingSendLargerThanSndbuf_SleepsAgainAfterTheAckWhoseCwndGrowthExpandsSndbuf()
    {
        var f = new AckedSender();
        var send = f.H.Send(f.C.Id, 200_000);
        Assert.True(send.Blocked);
        Assert.Equal(46080, f.SndBuf);

        f.Ack(Ms(230), 14480);

        Assert.Null(f.H.Returned(send.CallId));
        Assert.Equal(92160, f.SndBuf);
        Assert.Equal(41008 + 28960 + 832 + 31856, f.C.WmemQueued);
        Assert.Equal(107152 - 14480, f.C.SendQueue); // copied − acknowledged
        Assert.Equal(20, f.DataAt(Ms(230)).Length);
    }

    /// <summary>
    /// SO_SNDBUF 30000 before connect(): sk_sndbuf = 60000, locked (no tcp_sndbuf_expand()). send(100,000) at 200 ms:
    /// the class remarks' 46336 bytes (wmem 51328 &lt; 60000), then one new skb [46336, 78192) (84016) and no room:
    /// blocked with 78192 copied. 230 ms, ACK of 14480: 5 chunks freed (65376), cwnd 20, 10 chunks cut from [14480,
    /// 46336) (73696); tcp_check_space() cannot expand a locked buffer and 60000 − 73696 &lt; 0: still asleep.
    /// 240 ms, ACK of 43440: 10 chunks freed (36416), cwnd 40, srtt 19.84 ms: the pacing rate 1448 · 2 · 40 / srtt =
    /// 5,837,606 B/s gives 5700 bytes, 3 segments per chunk. tcp_write_xmit(): tcp_grow_skb() pulls 1448 bytes from
    /// [46336, 78192) into the 2-segment rest [43440, 46336) and sends it as one chunk; tcp_check_space(): free 60000
    /// − 36416 = 23584 ≥ 18208, the writer is woken. Then 7 chunks of 3 from [47784, 78192), 6 of them cut (+6 · 832
    /// = 41408). The woken send() finds sk_stream_memory_free() (41408 &lt; 60000): a new skb for the last 21808
    /// bytes (+832), and it returns 100,000 at 240 ms; its tcp_push() sends the 16 segments cwnd 40 still allows (15
    /// of 1448 and one of 88) as chunks of 3, 3, 3, 3, 3 and 1, five of them cut (+5 · 832): wmem 68208, 40 data
    /// segments at 240 ms.
    /// </summary>
    [Fact]
    public void Established_BlockingSendWithSoSndbufLocked_SleepsThroughAnAckThatLeavesItFullAndReturnsAtTheNext()
    {
        var f = new AckedSender((h, id) => h.SetOption(id, SocketOption.SO_SNDBUF, 30000));
        var send = f.H.Send(f.C.Id, 100_000);
        Assert.Equal((true, 84016L), (send.Blocked, f.C.WmemQueued));

        f.Ack(Ms(230), 14480);
        Assert.Null(f.H.Returned(send.CallId));
        Assert.Equal(73696, f.C.WmemQueued);

        f.Ack(Ms(240), 43440);
        Assert.Equal((Ms(240), 100_000L), (f.H.Returned(send.CallId)!.At, f.H.Returned(send.CallId)!.Result));
        Assert.Equal(41408 + 832 + 21808 + 5 * 832, f.C.WmemQueued);
        Assert.Equal(60000, f.SndBuf);
        Assert.Equal(40, f.DataAt(Ms(240)).Length);
    }

    /// <summary>
    /// The same locked 60000-byte buffer, filled by a non-blocking send (78192 bytes, wmem 84016), then poll(POLLOUT)
    /// with no timeout: tcp_poll() finds __sk_stream_is_writeable() false and sets SOCK_NOSPACE. 230 ms: wmem 73696,
    /// not writeable. 240 ms: the ACK's tcp_check_space() wakes the sleepers (36416 after the first chunk), but
    /// tcp_poll() runs after the push, at 41408: 60000 − 41408 = 18592 &lt; 20704, no POLLOUT — it sleeps on. 250 ms:
    /// the ACK of all 78192 bytes frees every skb (wmem 0): POLLOUT (poll() reports the requested events).
    /// </summary>
    [Fact]
    public void Established_PollOutOnAFullBuffer_SetExactlyWhenFreeSpaceReachesHalfOfWhatIsQueued()
    {
        var f = new AckedSender((h, id) => h.SetOption(id, SocketOption.SO_SNDBUF, 30000));
        f.NonBlock();
        Assert.Equal(78192, f.H.Send(f.C.Id, 100_000).Result);
        var poll = f.Poll(PollEvents.POLLOUT, -1);
        Assert.True(poll.Blocked);

        f.Ack(Ms(230), 14480);
        f.Ack(Ms(240), 43440);
        Assert.Equal(41408, f.C.WmemQueued);
        Assert.Null(f.H.Returned(poll.CallId));

        f.Ack(Ms(250), 78192);
        var returned = f.H.Returned(poll.CallId)!;
        Assert.Equal((Ms(250), 1L, "\"POLLOUT\""), (returned.At, returned.Result, returned.Value));
        Assert.Equal(0, f.C.WmemQueued);
    }

    /// <summary>
    /// SO_SNDBUF 1000: sk_sndbuf = max(2 · 1000, SOCK_MIN_SNDBUF 4608) = 4608. The first skb is allowed on an empty
    /// queue (0 &lt; 4608) and the unsent tail is topped up without a memory check each time a chunk is cut from it,
    /// so send(100,000) still copies the class remarks' 46336 bytes (wmem 51328) before sk_stream_memory_free()
    /// refuses a second skb: sk_sndbuf bounds the number of skbs, not the bytes in the last one.
    /// </summary>
    [Fact]
    public void Established_SoSndbufBelowTheMinimum_SndbufIs4608AndASendQueuesOneSizeGoalPastIt()
    {
        var f = new AckedSender((h, id) => h.SetOption(id, SocketOption.SO_SNDBUF, 1000));
        Assert.Equal(4608, f.SndBuf);
        f.NonBlock();

        Assert.Equal(46336, f.H.Send(f.C.Id, 100_000).Result);
        Assert.Equal(51328, f.C.WmemQueued);
        Assert.Equal(Errno.EAGAIN, f.H.Send(f.C.Id, 1).Errno);
    }

    /// <summary>
    /// tcp_wmem = "4096 16384 50000": tcp_sndbuf_expand() never sets more than tcp_wmem[2]. After the handshake
    /// 46080 (under the cap); the blocking send(200,000) at 200 ms copies 46336 bytes as with the defaults; at the
    /// 230 ms ACK tcp_new_space() would expand to 2 · 20 · 2304 = 92160 but stops at 50000: after the first chunk
    /// wmem is 33520 and 50000 − 33520 &lt; 33520 / 2, and the nine further chunks only add skbs (41008): the
    /// writer is not woken and the call stays asleep.
    /// </summary>
    [Fact]
    public void Established_CwndGrowthPastTcpWmemMax_SndbufStopsAtTcpWmem2AndTheSendSleepsOn()
    {
        var f = new AckedSender((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_wmem", "4096 16384 50000"));
        var send = f.H.Send(f.C.Id, 200_000);
        Assert.Equal((true, 46080L), (send.Blocked, f.SndBuf));

        f.Ack(Ms(230), 14480);

        Assert.Equal(50000, f.SndBuf);
        Assert.Equal(41008, f.C.WmemQueued);
        Assert.Null(f.H.Returned(send.CallId));
    }

    /// <summary>
    /// sk_data_ready() wakes a send() asleep for space too: sk_stream_wait_memory()'s wait entry
    /// (woken_wake_function()) takes any wakeup of the socket's wait queue, and its condition is only
    /// sk_stream_memory_free(). SO_SNDBUF 30000 (60000, locked), send(100,000) blocked with 78192 copied; 230 ms, ACK
    /// of 14480 (wmem 73696). 240 ms, ACK of 37648 (8 of the 10 chunks sent at 230 ms: 8 · 3728 freed, 43872; cwnd
    /// 36): the push sends the 24 segments left — [43440, 47784) grown by tcp_grow_skb() (3 segments: 1448 · 2 · 36 /
    /// 19.84 ms = 5,253,845 B/s, 5130 bytes), then 7 chunks of 3, six of them cut (48864). tcp_check_space() finds
    /// 60000 − 43872 &lt; 43872 / 2 after the first chunk, so sk_stream_write_space() wakes nobody, though the
    /// memory is free. 250 ms: 100 bytes of data from the server; tcp_data_ready() wakes the sleeper, which finds
    /// 48864 &lt; 60000, copies the last 21808 bytes into a new skb and returns 100,000.
    /// </summary>
    [Fact]
    public void Established_SendAsleepWithMemoryFreeButNotWriteable_DataFromThePeerWakesItToCopy()
    {
        var f = new AckedSender((h, id) => h.SetOption(id, SocketOption.SO_SNDBUF, 30000));
        var send = f.H.Send(f.C.Id, 100_000);
        f.Ack(Ms(230), 14480);
        f.Ack(Ms(240), 37648);
        Assert.Equal(48864, f.C.WmemQueued);
        Assert.Null(f.H.Returned(send.CallId));

        f.Ack(Ms(250), 37648, data: 100);

        Assert.Equal((Ms(250), 100_000L), (f.H.Returned(send.CallId)!.At, f.H.Returned(send.CallId)!.Result));
    }
}
