namespace SimService.Cli.Kernel;

/// <summary>
/// <c>--fuzz-rcv</c>: the walk also takes receive-path moves the plain walk reaches only by chance or never, each
/// written after a "// rcv: NAME" line — out-of-order data beyond a hole, segments adjacent to the last out-of-order one
/// (the out-of-order queue's coalescing, <c>tcp_data_queue_ofo()</c>), FINs on them and data after such a FIN (D131),
/// fills of the first hole (exact, part of it, or over the queued segments: <c>tcp_ofo_queue()</c>'s D-SACK), a segment
/// that covers a queued one (merge_right), ACKs with two to four SACK blocks and a D-SACK block first, RSTs inside the
/// window but not at rcv_nxt (the challenge ACK) and at rcv_nxt − 1 after the peer's FIN (<c>tcp_reset_check()</c>),
/// and data to a receive side closed by shutdown(SHUT_RD) or close(). The generator keeps its own picture of the
/// out-of-order queue (<see cref="_ofo"/>: what the peer sent beyond rcv_nxt); the receiver may have dropped some of
/// it, which only makes a later move land elsewhere. A mode of its own, so the other modes' seeds write the cases
/// they wrote before.
/// </summary>
internal sealed partial class PacketCaseGenerator
{
    /// <summary>The receive-path moves and their weights (out of 20).</summary>
    internal static readonly (string Name, int Weight)[] ReceiveMoves =
    [
        ("ofo-beyond-hole", 4),
        ("ofo-adjacent", 3),
        ("ofo-fin-then-data", 2),
        ("fill-hole", 4),
        ("cover-queued", 1),
        ("multi-sack-ack", 2),
        ("rst-in-window", 2),
        ("data-to-closed-rcv", 2),
    ];

    bool _receive;

    /// <summary>The peer's segments beyond rcv_nxt as the generator knows them, in sequence order (Fin: the segment ends with a FIN).</summary>
    readonly List<(uint Seq, uint End, bool Fin)> _ofo = [];

    /// <summary>The peer's FIN is in order (rcv_nxt is past it).</summary>
    bool _peerFinIn;

    /// <summary>Where the peer's next out-of-order segment may start: past the last queued one, or rcv_nxt.</summary>
    uint OfoTail => _ofo.Count > 0 ? _ofo[^1].End : _peerNxt;

    void ReceiveStep()
    {
        // What the plain walk's in-order data has passed is no longer out of order.
        _ofo.RemoveAll(o => (int)unchecked(o.Seq - _peerNxt) <= 0);
        string move = Weighted(ReceiveMoves.Select(m => (m.Weight, m.Name)).ToArray());
        if (move is "fill-hole" or "cover-queued" && _ofo.Count == 0) move = "ofo-beyond-hole";
        if (move == "multi-sack-ack" && !(_sack && _written > 1)) move = "ofo-adjacent";
        Line($"// rcv: {move}");
        switch (move)
        {
            case "ofo-beyond-hole": OfoSegment(unchecked(OfoTail + (uint)Pick(1, 10, 100, 1000)), fin: Chance(0.15)); break;
            case "ofo-adjacent": OfoSegment(_ofo.Count > 0 ? OfoTail : unchecked(_peerNxt + (uint)Pick(1, 100)), fin: Chance(0.2)); break;
            case "ofo-fin-then-data": OfoFinThenData(); break;
            case "fill-hole": FillHole(); break;
            case "cover-queued": CoverQueued(); break;
            case "multi-sack-ack": MultiSackAck(); break;
            case "rst-in-window": RstInWindow(); break;
            default: DataToClosedReceiveSide(); break;
        }
    }

    /// <summary>The ack of a receive move's data: mostly everything written (an ack of unsent data would have tcp_ack() drop the text), else the walk's draw.</summary>
    uint RcvAck() => Chance(0.85) ? (uint)(LocalEnd & 0xffff_ffff) : AckValue();

    /// <summary>A segment from the peer (data, sometimes a FIN on it, sometimes a bare FIN) at <paramref name="seq"/> beyond rcv_nxt.</summary>
    void OfoSegment(uint seq, bool fin)
    {
        if (_peerFinIn || _ofo.Count > 0 && _ofo[^1].Fin) seq = OfoTail;
        int length = Fit(seq, fin && Chance(0.4) ? 0 : Pick(1, 10, 40, 100, 536, 1000));
        string flags = fin ? "F." : Pick("P.", ".");
        At($"< {flags} {seq}:{unchecked(seq + (uint)length)}({length}) ack {RcvAck()} win {_window}{Options(null)}");
        uint end = unchecked(seq + (uint)length + (fin ? 1u : 0u));
        if (seq == _peerNxt) _peerNxt = end;
        else if (!_ofo.Any(o => o.Seq == seq)) _ofo.Add((seq, end, fin));
        _lastOut = _now;
    }

    /// <summary>A FIN beyond a hole (bare or on data), then data starting where it ends or after a gap: the FIN's skb and the text after it (D131).</summary>
    void OfoFinThenData()
    {
        OfoSegment(unchecked(OfoTail + (uint)Pick(1, 10, 100)), fin: true);
        Advance(Pick(0L, 1_000L, 10_000L));
        uint seq = unchecked(OfoTail + (uint)Pick(0, 0, 0, 1, 10));
        int length = Fit(seq, Pick(1, 10, 100));
        At($"< P. {seq}:{unchecked(seq + (uint)length)}({length}) ack {RcvAck()} win {_window}{Options(null)}");
        _lastOut = _now;
    }

    /// <summary>Data at rcv_nxt up to the first queued segment (exactly), part of the way, or on over it: rcv_nxt then runs through what is contiguous.</summary>
    void FillHole()
    {
        var first = _ofo[0];
        int hole = (int)unchecked(first.Seq - _peerNxt);
        int length = Weighted((5, hole), (2, Math.Max(1, hole / 2)), (2, hole + (int)Math.Min(100u, unchecked(first.End - first.Seq))));
        length = Fit(_peerNxt, length);
        At($"< P. {_peerNxt}:{unchecked(_peerNxt + (uint)length)}({length}) ack {RcvAck()} win {_window}{Options(null)}");
        _peerNxt = unchecked(_peerNxt + (uint)length);
        // The queued segments that now start at or before rcv_nxt join it, and a FIN among them ends the peer's stream.
        while (_ofo.Count > 0 && !_peerFinIn && (int)unchecked(_ofo[0].Seq - _peerNxt) <= 0)
        {
            if ((int)unchecked(_ofo[0].End - _peerNxt) > 0) _peerNxt = _ofo[0].End;
            _peerFinIn = _ofo[0].Fin;
            _ofo.RemoveAt(0);
        }
        if (_peerFinIn) _ofo.Clear();
        _lastOut = _now;
    }

    /// <summary>A segment that starts at or before a queued one and ends at or past it (merge_right drops what it covers, with a D-SACK).</summary>
    void CoverQueued()
    {
        var queued = _ofo[(int)(_rng.NextUInt32() % (uint)_ofo.Count)];
        uint seq = unchecked(queued.Seq - (uint)Pick(0, 0, 1, 10));
        if ((int)unchecked(seq - _peerNxt) <= 0) seq = queued.Seq;
        int length = Fit(seq, (int)unchecked(queued.End - seq) + Pick(0, 0, 1, 50));
        At($"< P. {seq}:{unchecked(seq + (uint)length)}({length}) ack {RcvAck()} win {_window}{Options(null)}");
        _lastOut = _now;
    }

    /// <summary>An ACK with two to four SACK blocks (three beside a timestamp) over what was written, sometimes led by a D-SACK block below the ack.</summary>
    void MultiSackAck()
    {
        long ack = 1 + (long)(_rng.NextDouble() * (_written - 1));
        var blocks = new List<string>();
        if (ack > 1 && Chance(0.3)) blocks.Add($"{Math.Max(1, ack - Pick(1, 100))}:{ack}");
        // Two to four blocks over (ack, everything written]: the range cut at random points, blocks between every other pair.
        long end = 1 + _written;
        var cuts = Enumerable.Range(0, 2 * Pick(2, 3, 4)).Select(_ => ack + 1 + (long)(_rng.NextDouble() * (end - ack))).Distinct().Order().ToList();
        int most = _echoTs ? 3 : 4; // 40 bytes of options: with the timestamp, three blocks
        for (int i = 0; i + 1 < cuts.Count && blocks.Count < most; i += 2) blocks.Add($"{cuts[i]}:{cuts[i + 1]}");
        while (blocks.Count < 2) blocks.Add($"{ack}:{end}");
        At($"< . {_peerNxt}:{_peerNxt}(0) ack {ack} win {(Chance(0.15) ? 0 : _window)}{Options(string.Join(" ", blocks))}");
    }

    /// <summary>An RST inside the window but not at rcv_nxt (a challenge ACK), or at rcv_nxt − 1 after the peer's FIN (accepted in CLOSE-WAIT, LAST-ACK, CLOSING).</summary>
    void RstInWindow()
    {
        uint seq = _peerFinIn && Chance(0.5) ? unchecked(_peerNxt - 1) : unchecked(_peerNxt + (uint)Pick(1, 10, 100, 1000));
        string flags = Chance(0.7) ? "R." : "R";
        At($"< {flags} {seq}:{seq}(0){AckPart(flags)} win 0{Options(null)}");
    }

    /// <summary>shutdown(SHUT_RD) or close() (when still open), then the peer's data at rcv_nxt, sometimes a FIN on it.</summary>
    void DataToClosedReceiveSide()
    {
        if (!_closed)
        {
            if (Chance(0.5)) At($"shutdown({_fd}, SHUT_RD) = 0");
            else
            {
                At($"close({_fd}) = 0");
                _closed = true;
                if (!_lingerZero) FinQueued();
            }
            Advance(Pick(0L, 1_000L, 20_000L));
        }
        int length = Fit(_peerNxt, Pick(1, 10, 100));
        string flags = Chance(0.3) ? "FP." : "P.";
        At($"< {flags} {_peerNxt}:{unchecked(_peerNxt + (uint)length)}({length}) ack {RcvAck()} win {_window}{Options(null)}");
        // SHUT_RD still queues it (ESTABLISHED); after close() it resets the connection: the peer moves on either way.
        _peerNxt = unchecked(_peerNxt + (uint)length + (flags[0] == 'F' ? 1u : 0u));
        _lastOut = _now;
    }
}
