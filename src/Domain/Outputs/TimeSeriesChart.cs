using System.Globalization;
using System.Security;
using System.Text;

namespace SimService.Domain.Outputs;

/// <summary>
/// The time series as an SVG chart: one panel per host, virtual time (s) across, socket counts on
/// the left axis (established, TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, orphans) and sockstat mem (pages)
/// on the right, a legend, and the host's limits — tcp_max_tw_buckets and the ephemeral port count —
/// as dashed lines at the count each stops at (listed below as off scale when more than 4× the largest count, or as no
/// limit: a negative tcp_max_tw_buckets on linux-6).
/// </summary>
public static class TimeSeriesChart
{
    const int Width = 960, PanelHeight = 330, Left = 80, Right = 860, PlotTop = 50, PlotBottom = 270;

    public static readonly IReadOnlyList<(string Name, string Label, string Color, Func<HostSample, long> Value)> Counts =
    [
        ("established", "ESTABLISHED", "#1f77b4", s => s.Established),
        ("time-wait", "TIME-WAIT", "#d62728", s => s.TimeWait),
        ("fin-wait-2", "FIN-WAIT-2", "#ff7f0e", s => s.FinWait2),
        ("close-wait", "CLOSE-WAIT", "#9467bd", s => s.CloseWait),
        ("orphans", "orphans", "#8c564b", s => s.Orphans),
    ];

    public static string Svg(IReadOnlyList<HostTimeSeries> series)
    {
        var sb = new StringBuilder();
        int height = Math.Max(1, series.Count) * PanelHeight + 10;
        sb.Append(Inv($"""<svg xmlns="http://www.w3.org/2000/svg" class="timeseries" width="{Width}" height="{height}" viewBox="0 0 {Width} {height}" font-family="sans-serif" font-size="11">""")).Append('\n');
        sb.Append(Inv($"""<rect width="{Width}" height="{height}" fill="white"/>""")).Append('\n');
        for (int i = 0; i < series.Count; i++) Panel(sb, series[i], i * PanelHeight);
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    static void Panel(StringBuilder sb, HostTimeSeries host, int top)
    {
        var points = host.Points;
        long t0 = points.Count > 0 ? points[0].AtNs : 0, t1 = points.Count > 0 ? points[^1].AtNs : 1;
        if (t1 <= t0) t1 = t0 + 1;
        long dataMax = Math.Max(1, points.Count == 0 ? 0 : points.Max(p => Counts.Max(c => c.Value(p))));
        // A limit is drawn at the count it stops at (null: none, only named below the chart), labelled with the sysctl.
        long tw = host.Limits.TcpMaxTwBuckets;
        var limits = new List<(string Name, long? Value, string Text, string Color)>
        {
            ("tcp_max_tw_buckets", host.Limits.TimeWaitLimit,
                $"net.ipv4.tcp_max_tw_buckets = {tw}{(tw >= 0 ? "" : host.Limits.TimeWaitLimit is null ? " (no limit)" : " (keeps none)")}", "#d62728"),
            ("ephemeral-ports", host.Limits.EphemeralPorts, $"ephemeral ports (ip_local_port_range) = {host.Limits.EphemeralPorts}", "#555555"),
        };
        long yMax = NiceCeiling(Math.Max(dataMax, limits.Where(l => l.Value <= 4 * dataMax).Select(l => l.Value ?? 0).DefaultIfEmpty(0).Max()));
        long memMax = NiceCeiling(Math.Max(1, points.Count == 0 ? 0 : points.Max(p => p.MemPages)));
        double X(long ns) => Left + (Right - Left) * (double)(ns - t0) / (t1 - t0);
        double Y(double v, long max) => top + PlotBottom - (PlotBottom - PlotTop) * v / max;

        sb.Append(Inv($"""<g class="panel" data-host="{Esc(host.Host)}">""")).Append('\n');
        sb.Append(Inv($"""<text x="{Left}" y="{top + 22}" font-size="14" font-weight="bold">{Esc($"{host.Host}: sockets over virtual time")}</text>""")).Append('\n');
        // Axes, grid and ticks.
        sb.Append(Inv($"""<g class="axes" stroke="#333"><line x1="{Left}" y1="{top + PlotBottom}" x2="{Right}" y2="{top + PlotBottom}"/><line x1="{Left}" y1="{top + PlotTop}" x2="{Left}" y2="{top + PlotBottom}"/><line x1="{Right}" y1="{top + PlotTop}" x2="{Right}" y2="{top + PlotBottom}"/></g>""")).Append('\n');
        foreach (var v in Ticks(yMax))
            sb.Append(Inv($"""<g class="ytick"><line x1="{Left}" y1="{Y(v, yMax):F1}" x2="{Right}" y2="{Y(v, yMax):F1}" stroke="#eee"/><text x="{Left - 6}" y="{Y(v, yMax) + 4:F1}" text-anchor="end">{v}</text></g>""")).Append('\n');
        foreach (var v in Ticks(memMax))
            sb.Append(Inv($"""<text class="y2tick" x="{Right + 6}" y="{Y(v, memMax) + 4:F1}" fill="#2ca02c">{v}</text>""")).Append('\n');
        foreach (var ns in TimeTicks(t0, t1))
            sb.Append(Inv($"""<g class="xtick"><line x1="{X(ns):F1}" y1="{top + PlotBottom}" x2="{X(ns):F1}" y2="{top + PlotBottom + 5}" stroke="#333"/><text x="{X(ns):F1}" y="{top + PlotBottom + 18}" text-anchor="middle">{Seconds(ns)}</text></g>""")).Append('\n');
        sb.Append(Inv($"""<text class="xlabel" x="{(Left + Right) / 2}" y="{top + PlotBottom + 34}" text-anchor="middle">virtual time (s)</text>""")).Append('\n');
        sb.Append(Inv($"""<text class="ylabel" transform="translate({Left - 48},{top + (PlotTop + PlotBottom) / 2}) rotate(-90)" text-anchor="middle">sockets (count)</text>""")).Append('\n');
        sb.Append(Inv($"""<text class="y2label" transform="translate({Right + 52},{top + (PlotTop + PlotBottom) / 2}) rotate(90)" text-anchor="middle" fill="#2ca02c">sockstat mem (pages)</text>""")).Append('\n');

        // Limits.
        var offScale = new List<string>();
        foreach (var l in limits)
        {
            if (l.Value is not { } value) { offScale.Add(l.Text); continue; }
            if (value > yMax) { offScale.Add($"{l.Text} (off scale)"); continue; }
            // The label under its line, or over it where it would fall on the time axis (a limit of 0).
            double y = Y(value, yMax), labelY = y + 13 < top + PlotBottom ? y + 13 : y - 4;
            sb.Append(Inv($"""<g class="limit" data-limit="{l.Name}" data-value="{value}"><line x1="{Left}" y1="{y:F1}" x2="{Right}" y2="{y:F1}" stroke="{l.Color}" stroke-dasharray="8 4" stroke-width="1.2"/><text x="{Right - 4}" y="{labelY:F1}" text-anchor="end" fill="{l.Color}">{Esc(l.Text)}</text></g>""")).Append('\n');
        }

        // Series: steps (the state holds until the next sample).
        foreach (var c in Counts)
            sb.Append(Inv($"""<g class="series" data-series="{c.Name}"><path d="{Steps(points, p => X(p.AtNs), p => Y(c.Value(p), yMax))}" fill="none" stroke="{c.Color}" stroke-width="1.8"/></g>""")).Append('\n');
        sb.Append(Inv($"""<g class="series" data-series="mem"><path d="{Steps(points, p => X(p.AtNs), p => Y(p.MemPages, memMax))}" fill="none" stroke="#2ca02c" stroke-width="1.4" stroke-dasharray="5 3"/></g>""")).Append('\n');

        // Legend.
        sb.Append("""<g class="legend">""");
        int lx = Left;
        foreach (var (name, label, color) in Counts.Select(c => (c.Name, c.Label, c.Color)).Append(("mem", "mem (pages, right axis)", "#2ca02c")))
        {
            sb.Append(Inv($"""<g class="legend-item" data-series="{name}"><line x1="{lx}" y1="{top + 36}" x2="{lx + 18}" y2="{top + 36}" stroke="{color}" stroke-width="3"/><text x="{lx + 22}" y="{top + 40}">{Esc(label)}</text></g>"""));
            lx += 22 + label.Length * 6 + 14;
        }
        if (offScale.Count > 0)
            sb.Append(Inv($"""<text x="{Left}" y="{top + PlotBottom + 50}" fill="#555">{Esc("limits: " + string.Join("; ", offScale))}</text>"""));
        sb.Append("</g>\n</g>\n");
    }

    static string Steps(IReadOnlyList<HostSample> points, Func<HostSample, double> x, Func<HostSample, double> y)
    {
        var d = new StringBuilder();
        for (int i = 0; i < points.Count; i++)
        {
            if (i == 0) d.Append(Inv($"M{x(points[i]):F1},{y(points[i]):F1}"));
            else d.Append(Inv($" H{x(points[i]):F1} V{y(points[i]):F1}"));
        }
        return d.ToString();
    }

    /// <summary>1, 2 or 5 × 10^k at or above <paramref name="v"/>.</summary>
    static long NiceCeiling(long v)
    {
        long step = 1;
        while (true)
        {
            foreach (var m in new[] { 1, 2, 5 })
                if (m * step >= v) return m * step;
            step *= 10;
        }
    }

    static IEnumerable<long> Ticks(long max)
    {
        long step = Math.Max(1, NiceCeiling(max) / 5);
        for (long v = 0; v <= max; v += step) yield return v;
    }

    static IEnumerable<long> TimeTicks(long t0, long t1)
    {
        long span = t1 - t0;
        long step = NiceCeiling(Math.Max(1, span / 6));
        for (long v = (t0 + step - 1) / step * step; v <= t1; v += step) yield return v;
    }

    static string Seconds(long ns) => (ns / 1e9).ToString("0.###", CultureInfo.InvariantCulture);

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    static string Esc(string text) => SecurityElement.Escape(text) ?? "";
}
