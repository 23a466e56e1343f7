namespace SimService.Domain.Packetdrill;

/// <summary>
/// How packetdrill maps a script's TS values onto the live ones (run_packet.c): each outbound packet's script TS val is
/// remembered with the live TS val it had, so an inbound packet's script TS ecr is sent as the live value it stands
/// for; with --tcp_ts_ecr_scaled an unknown ecr is interpolated from the first pair. Shared by the engine runner and
/// the real-kernel runner.
/// </summary>
public sealed class LiveTimestamps
{
    readonly Dictionary<uint, uint> _liveByScript = [];
    (uint Script, uint Live)? _first;
    readonly List<uint> _sent = [];
    uint? _zero;

    /// <summary>How much later than the script ms an ecr names a record-mode segment may have left and still be the one it echoes.</summary>
    public const int LateMs = 10;

    /// <summary>An outbound packet the script wrote with TS val <paramref name="script"/> carried <paramref name="live"/>.</summary>
    public void Record(uint script, uint live)
    {
        _liveByScript[script] = live;
        _first ??= (script, live);
    }

    /// <summary>
    /// Record mode: an outbound segment with TS val <paramref name="live"/> was taken at <paramref name="atNs"/> of script
    /// time. A script's ecr N echoes the segment the host sent at N ms of script time (a generator writes it from the
    /// script's times, before either side has run). A linux-6 TS val is tcp_clock_ms() + ts_off, the ms of the monotonic
    /// clock when tcp_write_xmit() or tcp_make_synack() stamped the segment, and a kernel run's script time 0 lies on a
    /// tick of that clock (a whole ms), so the host's TS clock at script time 0 is a TS val less the whole ms its segment
    /// left after 0. A segment is taken after it was stamped (a TUN reader a little behind), never before, so each gives
    /// at most that clock: the highest seen stands.
    /// </summary>
    public void RecordClock(long atNs, uint live)
    {
        _sent.Add(live);
        uint zero = unchecked(live - (uint)(atNs / 1_000_000));
        if (_zero is { } known && unchecked((int)(zero - known)) <= 0) return;
        _zero = zero;
    }

    /// <summary>
    /// Record mode: the live TS val an ecr of <paramref name="scriptEcr"/> stands for — that of the first segment sent
    /// at that script ms or up to <see cref="LateMs"/> after it (a kernel's answer leaves after the segment it answers,
    /// late by the runner's delivery on a loaded machine: an ACK echoing a request's SYN-ACK must echo the TS val that
    /// SYN-ACK carried, or tcp_check_req() rejects it); an ecr before the first segment sent (a handshake ACK's ecr 0
    /// when the first SYN-ACK left more than that late) that of the first; else the host's clock at script time 0 + the ecr.
    /// </summary>
    bool TryRecordedEcr(uint scriptEcr, out uint live)
    {
        live = scriptEcr;
        if (_zero is not { } zero) return false;
        foreach (uint sent in _sent)
        {
            long late = unchecked((int)(sent - zero)) - (long)scriptEcr;
            if (late is >= 0 and <= LateMs)
            {
                live = sent;
                return true;
            }
        }
        live = _sent.Count > 0 && unchecked((int)(_sent[0] - zero)) > scriptEcr ? _sent[0] : unchecked(zero + scriptEcr);
        return true;
    }

    /// <summary>
    /// The live TS ecr for a script value: the live TS val of the outbound packet the script wrote with that TS val;
    /// else, with --tcp_ts_ecr_scaled, interpolated from the first pair; a non-ACK segment's ecr (0 in a SYN) is sent
    /// as written. False when nothing maps it.
    /// </summary>
    public bool TryLiveEcr(uint scriptEcr, bool ack, bool ecrScaled, out uint live)
    {
        live = scriptEcr;
        if (!ack) return true;
        if (_liveByScript.TryGetValue(scriptEcr, out live)) return true;
        if (TryRecordedEcr(scriptEcr, out live)) return true;
        if (ecrScaled && _first is { } first)
        {
            live = unchecked(scriptEcr - first.Script + first.Live);
            return true;
        }
        live = scriptEcr;
        return false;
    }
}
