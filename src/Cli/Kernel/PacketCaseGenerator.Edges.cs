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

    /// <summary>Our FIN acked, then the peer's: TIME-WAIT, where the walk's SYNs, RSTs and data land.</summary>
    void TimeWait()
    {
        Advance(Pick(1_000L, 30_000L));
        Close();
        Advance(Pick(0L, 1_000L));
        At($"< . {_peerNxt}:{_peerNxt}(0) ack {LocalEnd} win {_window}{Options(null)}");
        Advance(Pick(0L, 10_000L));
        At($"< F. {_peerNxt}:{_peerNxt}(0) ack {LocalEnd} win {_window}{Options(null)}");
        _peerNxt++;
        _lastOut = _now;
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
