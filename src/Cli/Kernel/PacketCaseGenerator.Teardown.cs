namespace SimService.Cli.Kernel;

/// <summary>
/// <c>--fuzz-teardown</c>: the walk starts with one of <see cref="TeardownDraws"/>, a weighted draw of teardown areas
/// the plain walk and the edges do not reach — shutdown(SHUT_RD / SHUT_RDWR / SHUT_WR) around the peer's data and then
/// close(); data left unread at close() (tcp_close()'s data_was_unread: an RST, TCPAbortOnClose); TCP_NODELAY and
/// TCP_CORK set and toggled around small writes before the close; a zero window with data queued behind it and close()
/// (persist probes to FIN-WAIT-1), sometimes under a small SO_SNDBUF; a small SO_RCVBUF filled by the peer (our zero
/// window) and then close(); the peer shrinking its window below what is in flight; a FIN beyond a hole (the
/// out-of-order queue) and the hole filled later; SACK reneging (the head's SACKed segment acked only up to its
/// start); TCP_USER_TIMEOUT with zero-window probes or unanswered retransmissions; TCP_DEFER_ACCEPT on the listener.
/// The draw is written as a "// teardown: NAME" line; then the random walk goes on as usual. A mode of its own, so
/// the seeds of the plain walk, --fuzz-edges and --fuzz-sysctls write the cases they wrote before.
/// Not drawn: MSG_OOB (urgent data) — the engine does not model it, a record-mode run would refuse the call.
/// </summary>
internal sealed partial class PacketCaseGenerator
{
    /// <summary>The teardown draws and their weights (out of 20).</summary>
    internal static readonly (string Name, int Weight)[] TeardownDraws =
    [
        ("shutdown-then-close", 3),
        ("unread-at-close", 3),
        ("nodelay-cork", 2),
        ("zero-window-close", 2),
        ("small-rcvbuf", 2),
        ("window-shrink", 2),
        ("ofo-fin", 2),
        ("sack-reneging", 1),
        ("user-timeout", 2),
        ("defer-accept", 1),
    ];

    void Teardown(bool passive)
    {
        // A window that lets a few segments out: the plain walk's 257 unscaled holds the socket to its half-window MSS.
        if (_wscale is null or 0) _window = Pick(4000, 65535);
        string draw = Weighted(TeardownDraws.Select(d => (d.Weight, d.Name)).ToArray());
        if (draw == "sack-reneging" && !_sack) draw = "window-shrink";
        if (draw == "defer-accept" && !passive) draw = "unread-at-close";
        Line($"// teardown: {draw}");
        switch (draw)
        {
            case "shutdown-then-close": Established(passive); ShutdownThenClose(); break;
            case "unread-at-close": Established(passive); UnreadAtClose(); break;
            case "nodelay-cork": Established(passive); NodelayCork(); break;
            case "zero-window-close": ZeroWindowClose(passive); break;
            case "small-rcvbuf": SmallRcvbuf(passive); break;
            case "window-shrink": Established(passive); WindowShrink(); break;
            case "ofo-fin": Established(passive); OutOfOrderFin(); break;
            case "sack-reneging": Established(passive); SackReneging(); break;
            case "user-timeout": Established(passive); UserTimeout(); break;
            default: DeferAccept(); break;
        }
    }

    /// <summary>The handshake with setsockopt() lines on the socket before listen() or connect().</summary>
    void EstablishedWith(bool passive, params string[] options)
    {
        void Set()
        {
            foreach (var o in options) At($"setsockopt(3, {o}) = 0");
        }
        if (passive) Passive(Set);
        else Active(Set);
    }

    /// <summary>The peer's segment at <paramref name="seq"/> acking <paramref name="ack"/> (everything written when null); rcv_nxt moves when it is in order.</summary>
    void Peer(string flags, uint seq, int length, long? ack = null, int? window = null, string? sack = null)
    {
        length = Fit(seq, length);
        At($"< {flags} {seq}:{unchecked(seq + (uint)length)}({length}) ack {(ack ?? LocalEnd) & 0xffff_ffff} win {window ?? _window}{Options(sack)}");
        if (seq == _peerNxt) _peerNxt = unchecked(_peerNxt + (uint)length + (flags.Contains('F', StringComparison.Ordinal) ? 1u : 0u));
        _lastOut = _now;
    }

    /// <summary>The peer's data at rcv_nxt (with everything written acked).</summary>
    void PeerData(int length) => Peer("P.", _peerNxt, length);

    /// <summary>
    /// shutdown() with data from the peer before and after it: SHUT_RD keeps ESTABLISHED (later data is still queued),
    /// SHUT_RDWR and SHUT_WR send the FIN; data after SHUT_RDWR in FIN-WAIT-1/2 resets the connection (the
    /// RCV_SHUTDOWN test of tcp_rcv_state_process()); then read() and close() (unread data: an RST).
    /// </summary>
    void ShutdownThenClose()
    {
        if (Chance(0.6)) PeerData(Pick(10, 100, 1000));
        if (Chance(0.5)) At($"read({_fd}, ..., {Pick(5, 2000)}) = 0");
        Advance(Pick(0L, 1_000L, 20_000L));
        string how = Pick("SHUT_RD", "SHUT_RD", "SHUT_RDWR", "SHUT_RDWR", "SHUT_WR");
        At($"shutdown({_fd}, {how}) = 0");
        if (how != "SHUT_RD") FinQueued();
        Advance(Pick(0L, 1_000L, 20_000L));
        switch (_rng.NextUInt32() % 4)
        {
            case 0: break;
            case 1: PeerData(Pick(1, 100)); break;
            case 2: // our FIN acked (FIN-WAIT-2 after SHUT_RDWR / SHUT_WR), then data
                Peer(".", _peerNxt, 0);
                Advance(Pick(0L, 1_000L));
                PeerData(Pick(1, 100));
                break;
            default: Peer("F.", _peerNxt, Pick(0, 10)); break;
        }
        if (Chance(0.4)) At($"read({_fd}, ..., 2000) = 0");
        Advance(Pick(0L, 1_000L, 50_000L));
        Close();
    }

    /// <summary>Data (in order, sometimes one segment beyond a hole) left unread, partly read, a FIN behind it, then close().</summary>
    void UnreadAtClose()
    {
        int segments = 1 + (int)(_rng.NextUInt32() % 3);
        for (int i = 0; i < segments; i++)
        {
            if (Chance(0.2)) Peer("P.", unchecked(_peerNxt + 100), Pick(10, 100));
            else PeerData(Pick(1, 100, 1000));
            Advance(Pick(0L, 1_000L, 10_000L));
        }
        if (Chance(0.5)) At($"read({_fd}, ..., {Pick(1, 50, 500)}) = 0");
        if (Chance(0.3)) Peer("F.", _peerNxt, 0);
        if (Chance(0.2))
        {
            At($"setsockopt({_fd}, SOL_SOCKET, SO_LINGER, {{onoff=1, linger=0}}, 8) = 0");
            _lingerZero = true;
        }
        Advance(Pick(0L, 1_000L, 50_000L));
        Close();
    }

    /// <summary>TCP_NODELAY and/or TCP_CORK set, small writes (an ACK between), one toggled, then close() or SHUT_WR.</summary>
    void NodelayCork()
    {
        string set = Pick("TCP_NODELAY", "TCP_CORK", "both");
        if (set != "TCP_CORK") At($"setsockopt({_fd}, SOL_TCP, TCP_NODELAY, [1], 4) = 0");
        if (set != "TCP_NODELAY") At($"setsockopt({_fd}, SOL_TCP, TCP_CORK, [1], 4) = 0");
        int writes = 2 + (int)(_rng.NextUInt32() % 3);
        for (int i = 0; i < writes; i++)
        {
            Write(Pick(1, 10, 100, 500, _mss));
            if (Chance(0.3)) Peer(".", _peerNxt, 0, ack: 1 + Pick(0, 1) * _written);
            Advance(Pick(0L, 1_000L, 10_000L, 250_000L));
        }
        switch (_rng.NextUInt32() % 4)
        {
            case 0: At($"setsockopt({_fd}, SOL_TCP, TCP_CORK, [0], 4) = 0"); break;
            case 1: At($"setsockopt({_fd}, SOL_TCP, TCP_NODELAY, [{Pick(0, 1)}], 4) = 0"); break;
            case 2: Write(Pick(1, 100)); break;
            default: break;
        }
        Advance(Pick(0L, 1_000L, 20_000L));
        if (Chance(0.7)) Close();
        else
        {
            At($"shutdown({_fd}, SHUT_WR) = 0");
            FinQueued();
        }
    }

    /// <summary>
    /// Data acked with a zero window, more data queued behind it (sometimes under a small SO_SNDBUF), then close() or
    /// SHUT_WR: the persist timer probes a FIN-WAIT-1 socket; later (half the time) the window opens again.
    /// </summary>
    void ZeroWindowClose(bool passive)
    {
        if (Chance(0.5)) EstablishedWith(passive, $"SOL_SOCKET, SO_SNDBUF, [{Pick(2048, 4096, 8192)}], 4");
        else Established(passive);
        Write(Pick(10, 100, 1000));
        Advance(Pick(1_000L, 20_000L));
        Peer(".", _peerNxt, 0, window: 0);
        Advance(Pick(0L, 1_000L, 20_000L));
        Write(Pick(1, 100, 1000, 3000));
        Advance(Pick(0L, 10_000L, 300_000L));
        if (Chance(0.7)) Close();
        else
        {
            At($"shutdown({_fd}, SHUT_WR) = 0");
            FinQueued();
        }
        Advance(Pick(300_000L, 1_000_000L, 2_000_000L));
        if (Chance(0.5)) Peer(".", _peerNxt, 0, ack: 1 + _written - Pick(0, 1) * Math.Min(_written, 100));
    }

    /// <summary>A small SO_RCVBUF, the peer's MSS segments back to back (our window closes), a read or none, then close() or SHUT_WR.</summary>
    void SmallRcvbuf(bool passive)
    {
        EstablishedWith(passive, $"SOL_SOCKET, SO_RCVBUF, [{Pick(1024, 2048, 4096)}], 4");
        int segments = 2 + (int)(_rng.NextUInt32() % 4);
        for (int i = 0; i < segments; i++)
        {
            PeerData(Math.Min(_mss, Pick(500, 1000, 1460)));
            Advance(Pick(0L, 1_000L, 5_000L));
        }
        if (Chance(0.4)) At($"read({_fd}, ..., {Pick(100, 2000, 8000)}) = 0");
        Advance(Pick(0L, 10_000L, 250_000L));
        switch (_rng.NextUInt32() % 3)
        {
            case 0: Close(); break;
            case 1:
                At($"shutdown({_fd}, SHUT_WR) = 0");
                FinQueued();
                break;
            default: break;
        }
    }

    /// <summary>Data in flight, then the peer's ACK of part of it with a window that moves its right edge back (or to zero), then close().</summary>
    void WindowShrink()
    {
        Write(Pick(2000, 3000, 5000));
        Advance(Pick(1_000L, 10_000L));
        Peer(".", _peerNxt, 0, ack: 1 + Pick(0, 100, 500), window: Pick(0, 1, 100, 500));
        Advance(Pick(0L, 1_000L, 50_000L));
        if (Chance(0.7)) Close();
        Advance(Pick(200_000L, 1_000_000L));
        if (Chance(0.4)) Peer(".", _peerNxt, 0, ack: 1 + Pick(500, 1000));
    }

    /// <summary>A FIN (with or without data) beyond a hole, close() or a read before or after, then the hole filled.</summary>
    void OutOfOrderFin()
    {
        if (Chance(0.4)) Write(Pick(10, 100));
        int hole = Pick(1, 10, 100);
        int length = Pick(0, 10, 100);
        Peer("F.", unchecked(_peerNxt + (uint)hole), length);
        Advance(Pick(0L, 1_000L, 50_000L));
        if (Chance(0.3)) Close();
        else if (Chance(0.3)) At($"read({_fd}, ..., 2000) = 0");
        Advance(Pick(0L, 1_000L, 50_000L, 300_000L));
        if (Chance(0.8))
        {
            // Sometimes only part of the hole first.
            if (hole > 1 && Chance(0.3)) PeerData(hole / 2);
            else
            {
                uint end = unchecked(_peerNxt + (uint)(hole + length + 1));
                PeerData(hole);
                _peerNxt = end;
            }
        }
        if (Chance(0.5)) At($"read({_fd}, ..., 2000) = 0");
        if (!_closed && Chance(0.7)) Close();
    }

    /// <summary>Three or four MSS in flight, the second SACKed, then an ACK up to it without the block (reneging), then close().</summary>
    void SackReneging()
    {
        Write(_mss * Pick(3, 4));
        Advance(Pick(1_000L, 10_000L));
        Peer(".", _peerNxt, 0, ack: 1, sack: $"{1 + _mss}:{1 + 2 * _mss}");
        Advance(Pick(0L, 1_000L, 20_000L));
        Peer(".", _peerNxt, 0, ack: 1 + _mss);
        Advance(Pick(0L, 1_000L, 20_000L));
        if (Chance(0.6)) Close();
        Advance(Pick(50_000L, 300_000L));
    }

    /// <summary>
    /// TCP_USER_TIMEOUT, then data the peer either never acks (retransmissions) or acks with a zero window before more
    /// is queued (zero-window probes); close() half the time; time for the timeout to end the connection.
    /// </summary>
    void UserTimeout()
    {
        At($"setsockopt({_fd}, SOL_TCP, TCP_USER_TIMEOUT, [{Pick(200, 500, 1000, 2000)}], 4) = 0");
        Write(Pick(10, 100, 1000));
        if (Chance(0.5))
        {
            Advance(Pick(1_000L, 20_000L));
            Peer(".", _peerNxt, 0, window: 0);
            Advance(Pick(0L, 1_000L));
            Write(Pick(10, 100, 1000));
        }
        Advance(Pick(0L, 10_000L, 300_000L));
        if (Chance(0.5)) Close();
        Advance(Pick(500_000L, 1_500_000L, 3_000_000L));
        State();
    }

    /// <summary>
    /// TCP_DEFER_ACCEPT on the listener: the bare handshake ACK is dropped (the request keeps its SYN-ACK timer), then
    /// data or another bare ACK (before or after the deferral's retransmissions) and accept().
    /// </summary>
    void DeferAccept()
    {
        ListenAndTakeSyn(() => At($"setsockopt(3, SOL_TCP, TCP_DEFER_ACCEPT, [{Pick(1, 2, 5)}], 4) = 0"));
        Advance(Pick(5_000L, 10_000L));
        At($"< . {_peerNxt}:{_peerNxt}(0) ack 1 win {_window}{Options(null, handshake: true)}");
        if (Chance(0.4)) At("accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)");
        Advance(Pick(0L, 100_000L, 1_200_000L, 3_500_000L));
        if (Chance(0.6)) PeerData(Pick(1, 100));
        else At($"< . {_peerNxt}:{_peerNxt}(0) ack 1 win {_window}{Options(null, handshake: true)}");
        At("accept(3, ..., ...) = 4");
        _fd = 4;
        At("fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
    }
}
