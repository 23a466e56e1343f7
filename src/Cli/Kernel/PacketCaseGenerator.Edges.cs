namespace SimService.Cli.Kernel;

/// <summary>
/// <c>--fuzz-edges</c>: the walk starts from a state the plain walk rarely reaches — an active open torn down in
/// SYN-SENT (wrong-ack SYN-ACK, RST, bare ACK, simultaneous SYN, close()), a request socket in SYN-RECV (RST, FIN,
/// wrong ack, retransmitted SYN before the handshake ACK; the listener closed), crossing FINs, an orphan in
/// FIN-WAIT-1 behind a zero window, TIME-WAIT, and SHUT_RD before data.
/// </summary>
internal sealed partial class PacketCaseGenerator
{
    void Edge(bool passive)
    {
        switch (_rng.NextUInt32() % 6)
        {
            case 0: SynSentEdge(); break;
            case 1: SynRecvEdge(); break;
            case 2: Established(passive); CrossingFins(); break;
            case 3: Established(passive); ZeroWindowOrphan(); break;
            case 4: Established(passive); TimeWait(); break;
            default: Established(passive); ShutRead(); break;
        }
    }

    void Established(bool passive)
    {
        if (passive) Passive();
        else Active();
    }

    void SynSentEdge()
    {
        At("socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
        At("fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
        At("connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
        _fd = 3;
        _lastOut = _now;
        int wrongs = 1 + (int)(_rng.NextUInt32() % 2);
        for (int i = 0; i < wrongs; i++)
        {
            Advance(Pick(0L, 2_000L, 10_000L, 300_000L));
            uint wrongAck = Pick(0u, 2u, 1000u, 0x8000_0000u);
            switch (_rng.NextUInt32() % 7)
            {
                case 0: At($"< S. {_peerNxt}:{_peerNxt}(0) ack {wrongAck} win {_window} <{SynOptions(ack: true)}>"); break;
                case 1: At($"< R. {_peerNxt}:{_peerNxt}(0) ack {Pick(1u, wrongAck)} win 0"); break;
                case 2: At($"< R {_peerNxt}:{_peerNxt}(0) win 0"); break;
                case 3: At($"< . {_peerNxt}:{_peerNxt}(0) ack {Pick(1u, wrongAck)} win {_window}"); break;
                case 4: At($"< S {_peerNxt}:{_peerNxt}(0) win {_window} <{SynOptions()}>"); break;
                case 5: At($"< F. {_peerNxt}:{_peerNxt}(0) ack {Pick(1u, wrongAck)} win {_window}"); break;
                default:
                    At("close(3) = 0");
                    _closed = true;
                    break;
            }
        }
        if (Chance(0.6))
        {
            Advance(Pick(0L, 5_000L, 50_000L));
            At($"< S. {_peerNxt}:{_peerNxt}(0) ack 1 win {_window} <{SynOptions(ack: true)}>");
            _lastOut = _now;
        }
        _peerNxt++;
    }

    void SynRecvEdge()
    {
        ListenAndTakeSyn();
        _fd = 3;
        // No calls on an accepted socket: the walk below only sends segments (and reads tcpi_state).
        _closed = true;
        Advance(Pick(0L, 5_000L, 50_000L, 1_100_000L));
        uint seq = _peerNxt;
        switch (_rng.NextUInt32() % 6)
        {
            case 0: At($"< R. {seq}:{seq}(0) ack 1 win 0"); break;
            case 1: At($"< R {seq}:{seq}(0) win 0"); break;
            case 2: At($"< F. {seq}:{seq}(0) ack 1 win {_window}{Options(null, handshake: true)}"); break;
            case 3: At($"< . {seq}:{seq}(0) ack {Pick(0u, 2u, 1000u)} win {_window}{Options(null, handshake: true)}"); break;
            case 4: At($"< S {unchecked(seq - 1)}:{unchecked(seq - 1)}(0) win {_window} <{SynOptions()}>"); break;
            default: At("close(3) = 0"); break;
        }
        if (Chance(0.5))
        {
            Advance(Pick(0L, 5_000L));
            At($"< . {seq}:{seq}(0) ack 1 win {_window}{Options(null, handshake: true)}");
        }
    }

    /// <summary>close() and the peer's FIN (not acking ours) within a millisecond: FIN-WAIT-1 → CLOSING, or the FIN first.</summary>
    void CrossingFins()
    {
        if (Chance(0.4)) Write(Pick(10, 1000));
        Advance(Pick(1_000L, 30_000L));
        bool oursFirst = Chance(0.6);
        if (oursFirst) Close();
        Advance(Pick(0L, 1_000L));
        At($"< F. {_peerNxt}:{_peerNxt}(0) ack {Pick(1L, LocalEnd - (_localFin ? 1 : 0))} win {_window}{Options(null)}");
        _peerNxt++;
        if (!oursFirst) Close();
    }

    /// <summary>Unacked data, the peer's zero window on part of it, then close(): an orphan probing a closed window.</summary>
    void ZeroWindowOrphan()
    {
        Write(Pick(100, 1000, 2920));
        Advance(Pick(0L, 1_000L, 20_000L));
        At($"< . {_peerNxt}:{_peerNxt}(0) ack {1 + _written / Pick(1, 2, 4)} win 0{Options(null)}");
        Advance(Pick(0L, 10_000L, 300_000L));
        Close();
    }

    /// <summary>
    /// Our FIN acked, then (mostly) the peer's: TIME-WAIT, or without the peer's FIN the orphan's FIN-WAIT-2 timewait
    /// substate; the rest of the walk is <see cref="TimeWaitStep"/>.
    /// </summary>
    void TimeWait()
    {
        Advance(Pick(1_000L, 30_000L));
        Close();
        Advance(Pick(0L, 1_000L));
        At($"< . {_peerNxt}:{_peerNxt}(0) ack {LocalEnd} win {_window}{Options(null)}");
        if (Chance(0.8))
        {
            Advance(Pick(0L, 10_000L));
            At($"< F. {_peerNxt}:{_peerNxt}(0) ack {LocalEnd} win {_window}{Options(null)}");
            _peerNxt++;
        }
        _lastOut = _now;
        _timeWaitWalk = true;
        Line("// edge: TIME-WAIT (or the FIN-WAIT-2 timewait substate); the walk sends what tcp_timewait_state_process() judges");
    }

    /// <summary>The TIME-WAIT edge's walk: every step a segment (or a tcpi_state read) the timewait socket must judge.</summary>
    bool _timeWaitWalk;

    /// <summary>
    /// A peer segment aimed at tcp_timewait_state_process() (net/ipv4/tcp_minisocks.c): RSTs at rcv_nxt (killed, or
    /// ignored under tcp_rfc1337 1), inside the window, below it or far off, with and without ACK; the peer's FIN
    /// retransmitted (or a first FIN in the FIN-WAIT-2 substate); old data, data at rcv_nxt; SYNs above and below
    /// rcv_nxt with newer and older TS vals; bare ACKs at rcv_nxt, old, and failing PAWS.
    /// </summary>
    void TimeWaitStep()
    {
        uint seq;
        string ack = $" ack {LocalEnd}";
        switch (Weighted<int>((1, 0), (4, 1), (2, 2), (2, 3), (2, 4), (2, 5), (3, 6), (2, 7)))
        {
            case 0: State(); break;
            case 1: // an RST at rcv_nxt: TIME-WAIT assassination
                bool withAck = Chance(0.6);
                At($"< {(withAck ? "R." : "R")} {_peerNxt}:{_peerNxt}(0){(withAck ? ack : "")} win 0{TimeWaitOptions()}");
                break;
            case 2: // an RST elsewhere: in the window, just below rcv_nxt (the FIN's own number), old, far
                seq = unchecked(_peerNxt + (uint)Pick(1L, 100L, 5000L, -1L, -1000L, 0x8000_0000L));
                At($"< R. {seq}:{seq}(0){ack} win 0{TimeWaitOptions()}");
                break;
            case 3: // the peer's FIN again (its ACK lost), or at rcv_nxt (a first FIN in the FIN-WAIT-2 substate)
                seq = Chance(0.7) ? unchecked(_peerNxt - 1) : _peerNxt;
                At($"< F. {seq}:{seq}(0){ack} win {_window}{TimeWaitOptions()}");
                break;
            case 4: // old data, or data at rcv_nxt
                int n = Pick(1, 10, 100);
                seq = Chance(0.6) ? unchecked(_peerNxt - (uint)Pick(n, 1000)) : _peerNxt;
                // A segment that would run past 2^32 − 1 cannot be written (Fit); it goes at rcv_nxt instead.
                if (Fit(seq, n) < n) seq = _peerNxt;
                n = Fit(seq, n);
                At($"< P. {seq}:{unchecked(seq + (uint)n)}({n}){ack} win {_window}{TimeWaitOptions()}");
                break;
            case 5: // a bare ACK: at rcv_nxt, old, of unsent data
                seq = Chance(0.7) ? _peerNxt : unchecked(_peerNxt - (uint)Pick(1, 1000));
                At($"< . {seq}:{seq}(0) ack {Pick(LocalEnd, LocalEnd, LocalEnd - 1, LocalEnd + 1000)} win {_window}{TimeWaitOptions()}");
                break;
            case 6: // a SYN above or below rcv_nxt, its TS val newer or older
                seq = unchecked(_peerNxt + (uint)Pick(1L, 100_000L, 0L, -1L, -100_000L));
                At($"< S {seq}:{seq}(0) win {_window} <{SynOptions(oldTs: Chance(0.3))}>");
                _lastOut = _now;
                break;
            default: // a gap long enough for the rate limit (500 ms) to let the next answer out
                Advance(Pick(100_000L, 600_000L));
                State();
                break;
        }
    }

    /// <summary>The peer's TS option for a TIME-WAIT step: newer, or older than the last (PAWS), now and then none.</summary>
    string TimeWaitOptions()
    {
        if (!_echoTs || Chance(0.05)) return OptionList([]);
        uint val = Chance(0.25) ? unchecked(PeerTs() - Pick(1u, 100_000u)) : PeerTs();
        return OptionList([$"nop,nop,TS val {val} ecr {Math.Max(0, _lastOut / 1000)}"]);
    }

    void ShutRead()
    {
        At($"shutdown({_fd}, SHUT_RD) = 0");
        Advance(Pick(0L, 1_000L, 50_000L));
        Data();
        if (Chance(0.5)) At($"read({_fd}, ..., 2000) = 0");
    }

    void Write(int n)
    {
        At($"write({_fd}, ..., {n}) = {n}");
        _written += n;
        _lastOut = _now;
    }

    void Close()
    {
        At($"close({_fd}) = 0");
        _closed = true;
        FinQueued();
    }
}
