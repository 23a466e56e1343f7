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

    /// <summary>An outbound packet the script wrote with TS val <paramref name="script"/> carried <paramref name="live"/>.</summary>
    public void Record(uint script, uint live)
    {
        _liveByScript[script] = live;
        _first ??= (script, live);
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
        if (ecrScaled && _first is { } first)
        {
            live = unchecked(scriptEcr - first.Script + first.Live);
            return true;
        }
        live = scriptEcr;
        return false;
    }
}
