using System.Globalization;
using System.Security;
using System.Text;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Outputs;

/// <summary>Which part of a simulation a diagram shows: hosts (lanes; null = all), sockets (null = all) and a time window.</summary>
public sealed record DiagramFilter(IReadOnlyList<string>? Hosts = null, IReadOnlyList<int>? Sockets = null, TimeWindow Window = default)
{
    public static readonly DiagramFilter All = new();
}

/// <summary>
/// A ladder (sequence) diagram of a simulation as SVG: one lane per host, time flowing down one row
/// per journal event (so long quiet gaps take no room: each row prints its virtual time when it
/// changes, and a gap of 100 ms or more is drawn as a break with its length), one arrow per segment
/// from its send to its delivery labelled with flags, relative seq/ack (from each direction's ISN)
/// and length, a lost segment ending in a cross, state changes as boxes on the lane with the kernel
/// function that made them, and timers as brackets beside the lane from armed to fired, cancelled
/// or re-armed. When the host filter hides one end of a segment, that end is drawn on a dashed
/// "other hosts" lane at the right (class elsewhere), so a host's own view still shows everything
/// it sent and received. Elements carry classes (lane, segment, dropped, state, timer) and data- attributes
/// so that pages and tests can find them.
/// </summary>
public static class LadderDiagram
{
    const int Top = 70;
    const int RowHeight = 22;
    const int LaneSpacing = 380;
    const int FirstLane = 230;
    const int MaxRows = 4000;
    static readonly SimDuration BreakGap = SimDuration.FromMilliseconds(100);

    public static string Svg(Simulation sim, DiagramFilter filter)
    {
        var lanes = (filter.Hosts is { Count: > 0 } hosts && hosts.ToHashSet(StringComparer.Ordinal) is var wanted
            ? sim.Hosts.Where(h => wanted.Contains(h.Name)) : sim.Hosts).ToList();
        var laneOf = lanes.Select((h, i) => (h.Name, i)).ToDictionary(x => x.Name, x => x.i);
        var tuples = filter.Sockets is { Count: > 0 } ids
            ? ids.Select(id => sim.FindSocket(id)?.Tuple).OfType<FourTuple>().SelectMany(t => new[] { t, t.Reversed }).ToHashSet()
            : null;
        var socketsShown = filter.Sockets is { Count: > 0 } sockets ? sockets.ToHashSet() : null;
        bool SocketShown(int socketId) => socketsShown is null || socketsShown.Contains(socketId);

        // A segment is drawn when either end is shown; a hidden end sits on one extra lane, "other hosts".
        var flights = SegmentFlights.Pair(sim.Journal)
            .Where(f => f.Sent.To is { } to && (laneOf.ContainsKey(f.Sent.Host) || laneOf.ContainsKey(to))
                        && (tuples is null || tuples.Contains(f.Sent.Tuple)))
            .ToDictionary(f => f.Sent.SegmentId);
        var hidden = flights.Values.SelectMany(f => new[] { f.Sent.Host, f.Sent.To! }).Where(h => !laneOf.ContainsKey(h))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        int LaneOf(string host) => laneOf.TryGetValue(host, out var i) ? i : lanes.Count;
        int laneCount = lanes.Count + (hidden.Count > 0 ? 1 : 0);

        // Rows: the events drawn, in journal order, within the window.
        var rows = new List<SimEvent>();
        foreach (var e in sim.Journal)
        {
            if (!filter.Window.Contains(e.At)) continue;
            bool shown = e switch
            {
                SegmentSent s => flights.ContainsKey(s.SegmentId),
                SegmentDelivered d => flights.ContainsKey(d.SegmentId),
                SegmentDropped d => flights.ContainsKey(d.SegmentId),
                StateChanged c => laneOf.ContainsKey(c.Host) && SocketShown(c.SocketId),
                TimerArmed t => laneOf.ContainsKey(t.Host) && SocketShown(t.SocketId),
                TimerFired t => laneOf.ContainsKey(t.Host) && SocketShown(t.SocketId),
                TimerCancelled t => laneOf.ContainsKey(t.Host) && SocketShown(t.SocketId),
                _ => false,
            };
            if (shown) rows.Add(e);
            if (rows.Count == MaxRows) break;
        }
        bool truncated = rows.Count == MaxRows;
        var rowOf = new Dictionary<long, int>();
        for (int i = 0; i < rows.Count; i++) rowOf[rows[i].Seq] = i;
        int bottom = Top + (rows.Count + 1) * RowHeight;
        int width = FirstLane + Math.Max(1, laneCount - 1) * LaneSpacing + 480;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="{width}" height="{bottom + 40}" viewBox="0 0 {width} {bottom + 40}" font-family="monospace" font-size="11">""").Append('\n');
        svg.Append("""<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e9a"/></marker></defs>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{width}" height="{bottom + 40}" fill="white"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="10" y="20" font-size="13" font-weight="bold">{Esc($"Ladder diagram — {sim.Profile.ToWireName()}, seed {sim.Seed}, virtual time {sim.Now}")}</text>""").Append('\n');
        if (truncated)
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="10" y="{bottom + 30}" fill="#b00">{Esc($"truncated at {MaxRows} rows: narrow the time range, hosts or sockets")}</text>""").Append('\n');

        // Lanes.
        foreach (var (h, i) in lanes.Select((h, i) => (h, i)))
        {
            int x = LaneX(i);
            svg.Append(CultureInfo.InvariantCulture, $"""<g class="lane" data-host="{Esc(h.Name)}"><text x="{x}" y="{Top - 28}" text-anchor="middle" font-size="13" font-weight="bold">{Esc(h.Name)}</text><text x="{x}" y="{Top - 14}" text-anchor="middle" fill="#555">{h.Address}</text><line x1="{x}" y1="{Top - 8}" x2="{x}" y2="{bottom}" stroke="#333" stroke-width="2"/></g>""").Append('\n');
        }

        if (hidden.Count > 0)
        {
            int x = LaneX(lanes.Count);
            svg.Append(CultureInfo.InvariantCulture, $"""<g class="elsewhere" data-hosts="{Esc(string.Join(",", hidden))}"><text x="{x}" y="{Top - 28}" text-anchor="middle" font-size="13" fill="#777">other hosts</text><text x="{x}" y="{Top - 14}" text-anchor="middle" fill="#777">{Esc(string.Join(", ", hidden))}</text><line x1="{x}" y1="{Top - 8}" x2="{x}" y2="{bottom}" stroke="#aaa" stroke-width="2" stroke-dasharray="6 4"/></g>""").Append('\n');
        }

        // Time labels and breaks.
        SimTime? last = null;
        for (int i = 0; i < rows.Count; i++)
        {
            var at = rows[i].At;
            if (last == at) continue;
            int y = RowY(i);
            if (last is { } prev && at - prev >= BreakGap)
                svg.Append(CultureInfo.InvariantCulture, $"""<g class="gap"><line x1="8" y1="{y - RowHeight / 2}" x2="{width - 8}" y2="{y - RowHeight / 2}" stroke="#bbb" stroke-dasharray="6 4"/><text x="{width - 10}" y="{y - RowHeight / 2 - 3}" text-anchor="end" fill="#888">{Esc($"⋯ {Seconds((at - prev).Ns)} later ⋯")}</text></g>""").Append('\n');
            svg.Append(CultureInfo.InvariantCulture, $"""<text class="time" x="10" y="{y + 4}" fill="#555">{Seconds(at.Ns)}</text>""").Append('\n');
            last = at;
        }

        // Relative sequence numbers: each direction's ISN (its SYN's seq, else the first seq seen).
        var isn = new Dictionary<FourTuple, uint>();
        foreach (var f in flights.Values.OrderBy(f => f.Sent.Seq))
            if (f.Sent.Flags.HasFlag(TcpFlags.Syn) || !isn.ContainsKey(f.Sent.Tuple)) isn.TryAdd(f.Sent.Tuple, f.Sent.SeqNo);

        // Segments.
        foreach (var e in rows.OfType<SegmentSent>())
        {
            var f = flights[e.SegmentId];
            var s = f.Sent;
            int x1 = LaneX(LaneOf(s.Host)), x2 = LaneX(LaneOf(s.To!));
            int y1 = RowY(rowOf[s.Seq]);
            uint relSeq = s.SeqNo - isn[s.Tuple];
            string ack = s.Flags.HasFlag(TcpFlags.Ack) && isn.TryGetValue(s.Tuple.Reversed, out var peer) ? $" ack={s.AckNo - peer}" : "";
            string label = $"{s.Flags.ToLetters()} seq={relSeq}{ack} len={s.Len}" + (s.Win == 0 ? " win=0" : "");
            string cls = f.Dropped is not null ? "segment dropped" : f.InFlight ? "segment in-flight" : "segment";
            int x2End, y2;
            if (f.Delivered is { } d && rowOf.TryGetValue(d.Seq, out var dr)) (x2End, y2) = (x2, RowY(dr));
            else if (f.Dropped is { } dropped && rowOf.TryGetValue(dropped.Seq, out var xr)) (x2End, y2) = (x1 + (x2 - x1) * 45 / 100, RowY(xr) + RowHeight / 2);
            else (x2End, y2) = (x1 + (x2 - x1) * 60 / 100, bottom); // delivered after the window, or still in flight
            string color = f.Dropped is not null ? "#b00020" : s.Flags.HasFlag(TcpFlags.Rst) ? "#c05000" : "#1f4e9a";
            svg.Append(CultureInfo.InvariantCulture, $"""<g class="{cls}" data-segment-id="{s.SegmentId}" data-from="{Esc(s.Host)}" data-to="{Esc(s.To!)}" data-flags="{Esc(s.Flags.ToLetters())}" data-seq="{relSeq}" data-len="{s.Len}" data-reason="{Esc(s.Reason)}">""");
            svg.Append(CultureInfo.InvariantCulture, $"""<title>{Esc($"{s.Host} → {s.To} at {s.At}: {label} win={s.Win} ({s.Reason})" + (f.Dropped is { } dd ? $" — lost: {dd.Reason}" : f.Delivered is { } del ? $" — arrives {del.At}" : " — in flight"))}</title>""");
            svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x1}" y1="{y1}" x2="{x2End}" y2="{y2}" stroke="{color}" stroke-width="1.4"{(f.Dropped is null ? " marker-end=\"url(#arrow)\"" : "")}{(f.InFlight ? " stroke-dasharray=\"4 3\"" : "")}/>""");
            if (f.Dropped is not null)
                svg.Append(CultureInfo.InvariantCulture, $"""<path d="M{x2End - 6},{y2 - 6} L{x2End + 6},{y2 + 6} M{x2End - 6},{y2 + 6} L{x2End + 6},{y2 - 6}" stroke="#b00020" stroke-width="2.5"/>""");
            int tx = x1 + (x2End - x1) / 2, ty = y1 + (y2 - y1) / 2 - 4;
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{tx}" y="{ty}" text-anchor="middle" fill="{color}" stroke="white" stroke-width="3" paint-order="stroke">{Esc(label)}</text>""");
            svg.Append("</g>\n");
        }

        // State changes.
        foreach (var c in rows.OfType<StateChanged>())
        {
            int x = LaneX(laneOf[c.Host]), y = RowY(rowOf[c.Seq]);
            string text = $"{c.From.ToDisplayName()} → {c.To.ToDisplayName()}";
            svg.Append(CultureInfo.InvariantCulture, $"""<g class="state" data-host="{Esc(c.Host)}" data-socket="{c.SocketId}" data-to="{Esc(c.To.ToDisplayName())}"><title>{Esc($"{c.Host} socket {c.SocketId} at {c.At}: {text} ({c.Cause})")}</title><rect x="{x + 6}" y="{y - 9}" width="{text.Length * 6.7 + 8:F0}" height="16" rx="3" fill="#fff6d5" stroke="#c9a400"/><text x="{x + 10}" y="{y + 3}">{Esc(text)}</text><text x="{x + text.Length * 6.7 + 20:F0}" y="{y + 3}" fill="#7a5c00" font-style="italic">{Esc(c.Cause)}</text></g>""").Append('\n');
        }

        // Timers: bracket from armed to fired / cancelled / re-armed, or to the bottom when that came after the last row
        // (the diagram truncated or its window ended: the fate is looked up in the rest of the journal) or never came.
        var open = new Dictionary<(string, int, TcpTimerKind), TimerArmed>();
        var slots = Enum.GetValues<TcpTimerKind>().Select((k, i) => (k, i)).ToDictionary(x => x.k, x => x.i);
        void Bracket(TimerArmed armed, int endY, string outcome, SimEvent? end)
        {
            int x = LaneX(laneOf[armed.Host]) - 10 - slots[Slot(armed.Timer)] * 7;
            int y = RowY(rowOf[armed.Seq]);
            string name = armed.Timer.ToString();
            string fate = end switch
            {
                null => outcome,
                TimerArmed again => $"re-armed as {again.Timer} at {again.At}",
                _ => $"{outcome} at {end.At}",
            };
            if (end is not null && !rowOf.ContainsKey(end.Seq)) fate += " (after the diagram's last row)";
            svg.Append(CultureInfo.InvariantCulture, $"""<g class="timer" data-host="{Esc(armed.Host)}" data-socket="{armed.SocketId}" data-timer="{name}" data-outcome="{outcome}"><title>{Esc($"{armed.Host} socket {armed.SocketId}: {name} armed at {armed.At} for {armed.Expires}, {fate}")}</title><path d="M{x + 4},{y} L{x},{y} L{x},{endY} L{x + 4},{endY}" fill="none" stroke="{(outcome == "fired" ? "#2e7d32" : "#999")}" stroke-width="1.2"{(outcome == "pending" ? " stroke-dasharray=\"3 3\"" : "")}/><text x="{x - 3}" y="{y + 4}" text-anchor="end" font-size="9" fill="#2e7d32">{Esc(name)}</text></g>""").Append('\n');
        }
        // What ends an arming: a later arming of the same timer, its expiry or its cancel.
        static (string Outcome, (string, int, TcpTimerKind) Key)? Ends(SimEvent e) => e switch
        {
            TimerArmed a => ("re-armed", (a.Host, a.SocketId, Slot(a.Timer))),
            TimerFired t => ("fired", (t.Host, t.SocketId, Slot(t.Timer))),
            TimerCancelled t => ("cancelled", (t.Host, t.SocketId, Slot(t.Timer))),
            _ => null,
        };
        foreach (var e in rows)
        {
            if (Ends(e) is not var (outcome, key)) continue;
            if (open.Remove(key, out var armed)) Bracket(armed, RowY(rowOf[e.Seq]), outcome, e);
            if (e is TimerArmed a) open[key] = a;
        }
        // Armings still open at the last row: their fate from the events after it (in journal order).
        if (open.Count > 0 && rows.Count > 0)
        {
            long lastSeq = rows[^1].Seq;
            var fates = new Dictionary<(string, int, TcpTimerKind), (string, SimEvent)>();
            foreach (var e in sim.Journal)
            {
                if (fates.Count == open.Count) break;
                if (e.Seq <= lastSeq || Ends(e) is not var (outcome, key)) continue;
                if (open.ContainsKey(key)) fates.TryAdd(key, (outcome, e));
            }
            foreach (var (key, armed) in open.OrderBy(kv => kv.Value.Seq))
            {
                if (fates.TryGetValue(key, out var fate)) Bracket(armed, bottom, fate.Item1, fate.Item2);
                else Bracket(armed, bottom, "pending", null);
            }
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>
    /// The kernel timer an arming is of. Retransmit, LossProbe, Persist and ReorderTimeout are one timer,
    /// icsk_retransmit_timer multiplexed by icsk_pending (inet_csk_reset_xmit_timer() — include/net/inet_connection_sock.h),
    /// and Keepalive and FinWait2 are sk_timer (inet_csk_reset_keepalive_timer(), tcp_keepalive_timer() —
    /// net/ipv4/tcp_timer.c): arming one re-arms whichever of its kinds was pending, so they share one bracket column.
    /// </summary>
    static TcpTimerKind Slot(TcpTimerKind k) => k switch
    {
        TcpTimerKind.LossProbe or TcpTimerKind.Persist or TcpTimerKind.ReorderTimeout => TcpTimerKind.Retransmit,
        TcpTimerKind.FinWait2 => TcpTimerKind.Keepalive,
        _ => k,
    };

    static int LaneX(int lane) => FirstLane + lane * LaneSpacing;
    static int RowY(int row) => Top + RowHeight / 2 + row * RowHeight;

    /// <summary>Virtual time in seconds with microseconds, e.g. "60.120000 s".</summary>
    public static string Seconds(long ns) => (ns / 1e9).ToString("0.000000", CultureInfo.InvariantCulture) + " s";

    static string Esc(string text) => SecurityElement.Escape(text) ?? "";
}
