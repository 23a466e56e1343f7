using System.Globalization;
using System.Text;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Observability;

/// <summary>
/// `ss -tano` and `ss -tanoi` text for a host as iproute2 6.1's misc/ss.c prints it (the ss of
/// the reference machine; its output checked against captures there) when stdout is not a
/// terminal: numeric, all states, the `-o` timer and, with <c>info</c>, the `-i` tcp_info line.
/// </summary>
public static class SsFormatter
{
    enum Align { Left, Right }

    /// <summary>The columns of ss's columns[] table that `-tan` shows (Netid is disabled when only TCP is listed).</summary>
    static readonly (string Header, string Delimiter, Align Align)[] Columns =
    [
        ("State", " ", Align.Left),
        ("Recv-Q", " ", Align.Left),
        ("Send-Q", " ", Align.Left),
        ("Local Address:", " ", Align.Right),
        ("Port", "", Align.Left),
        ("Peer Address:", " ", Align.Right),
        ("Port", "", Align.Left),
        ("Process", "", Align.Left),
    ];

    const int ProcessColumn = 7;

    /// <summary>
    /// `ss -tanoi` (or `ss -tano` without <paramref name="info"/>; with <paramref name="extended"/> `ss -tanoie` /
    /// `ss -tanoe`; with <paramref name="memory"/> `-m` too) of a host at its simulation's current time.
    /// </summary>
    public static string Format(Host host, bool info = true, bool extended = false, bool memory = false) =>
        Format(SocketListing.Rows(host), host.Sim.Now, info, extended, memory);

    /// <summary>The same text for rows taken at <paramref name="now"/>.</summary>
    public static string Format(IReadOnlyList<SocketRow> rows, SimTime now, bool info, bool extended = false, bool memory = false)
    {
        var lines = new List<string[]>(rows.Count + 1) { Columns.Select(c => c.Header).ToArray() };
        foreach (var row in rows) lines.Add(Fields(row, now, info, extended, memory));
        return Render(lines);
    }

    /// <summary>
    /// One socket's fields as inet_show_sock() writes them: sock_state_print() (state, "%-6d"
    /// queues), inet_addr_print() twice ("addr:" then the port, "*" for port 0), then — still in
    /// the Process column, since 6.1's proc_ctx_print() does not move to the next field — the
    /// tcp_timer_print() text, with -e the <see cref="DetailsText"/>, and with -m or -i "\n\t" followed by -m's
    /// print_skmeminfo() (<see cref="SkMeminfo.SsText"/>, a full socket's only) and -i's tcp_show_info().
    /// </summary>
    static string[] Fields(SocketRow row, SimTime now, bool info, bool extended, bool memory)
    {
        var process = new StringBuilder();
        if (row.TimerName is not null) process.Append(' ').Append(TimerText(row, now));
        if (extended) process.Append(DetailsText(row));
        if (info || memory) process.Append("\n\t");
        if (memory && row.Memory is { } skmem) process.Append(' ').Append(skmem.SsText);
        if (info && row.Info is { } tcpInfo) process.Append(InfoText(tcpInfo));
        return
        [
            row.State.ToSsName(),
            $"{row.RecvQ,-6}",
            $"{row.SendQ,-6}",
            $"{row.Local.Address}:",
            Port(row.Local.Port),
            $"{row.Remote.Address}:",
            Port(row.Remote.Port),
            process.ToString(),
        ];
    }

    /// <summary>
    /// Models `ss -e` (iproute2 6.1 inet_show_sock(): sock_details_print(), then the INET_DIAG_SHUTDOWN mask): "uid:" only
    /// when not 0 (always 0 here), "ino:" idiag_inode (0 for orphans, timewait and request sockets), "sk:" the socket
    /// cookie in hex — the simulator's socket id, which a timewait socket keeps (inet_twsk_alloc() copies sk_cookie);
    /// a request socket, which has no id, prints 0. Full sockets only (inet_sk_diag_fill() → inet_diag_msg_attrs_fill())
    /// also carry INET_DIAG_CGROUP_ID, which sock_details_print() prints whenever it is not 0 — "cgroup:/", the
    /// simulated processes living in the root cgroup of their namespace — and sk_shutdown as " %c-%c": '-' for a shut
    /// direction, '&lt;' receive and '&gt;' send still open ("&lt;-&gt;", CLOSE-WAIT "--&gt;", after close() "---").
    /// </summary>
    public static string DetailsText(SocketRow row)
    {
        var text = $" ino:{row.Inode} sk:{row.SocketId:x}";
        if (row.Shutdown < 0) return text;
        return text + $" cgroup:/ {((row.Shutdown & 1) != 0 ? '-' : '<')}-{((row.Shutdown & 2) != 0 ? '-' : '>')}";
    }

    /// <summary>resolve_service() with -n: the number, or "*" for port 0.</summary>
    static string Port(ushort port) => port == 0 ? "*" : port.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Models tcp_timer_print(): "timer:(name,remaining,count)". The remaining time is inet_diag's
    /// jiffies_delta_to_msecs(expires − jiffies) (whole 4 ms jiffies) in print_ms_timer()'s format.
    /// </summary>
    public static string TimerText(SocketRow row, SimTime now)
    {
        long ms = KernelClock.ToMilliseconds(KernelClock.JiffiesLeft(row.TimerExpires, now));
        return $"timer:({row.TimerName},{MsTimer(ms)},{row.TimerCount})";
    }

    /// <summary>
    /// Models print_ms_timer() — misc/ss.c (iproute2 6.1): minutes, dropping the seconds from 10 min
    /// on ("119min", "5min30sec"); seconds, dropping the milliseconds from 10 s on ("59sec");
    /// below that "4.976ms" — seconds with the milliseconds after a dot, still suffixed "ms" (fixed
    /// to "sec" in iproute2 6.11) — and "172ms"/"060ms" under a second; "" when nothing is left.
    /// </summary>
    public static string MsTimer(long timeoutMs)
    {
        long secs = timeoutMs / 1000, minutes = secs / 60, msecs = timeoutMs % 1000;
        secs %= 60;
        var sb = new StringBuilder();
        if (minutes != 0)
        {
            msecs = 0;
            sb.Append(minutes).Append("min");
            if (minutes > 9) secs = 0;
        }
        if (secs != 0)
        {
            if (secs > 9) msecs = 0;
            sb.Append(secs).Append(msecs != 0 ? "." : "sec");
        }
        if (msecs != 0) sb.Append(msecs.ToString("D3", CultureInfo.InvariantCulture)).Append("ms");
        return sb.ToString();
    }

    /// <summary>
    /// Models tcp_stats_print() (iproute2 6.1) for the tcp_info fields the simulator keeps, in ss's
    /// order and with its "print only when non-zero" rules: ts sack ecn, the congestion control,
    /// wscale, rto (not when 3 s), backoff, rtt/rttvar, ato, mss, pmtu, rcvmss, advmss, cwnd, ssthresh
    /// (below 0xFFFF), bytes_sent, bytes_retrans, bytes_acked, bytes_received, segs_out, segs_in,
    /// data_segs_out, data_segs_in, "send" (cwnd·mss·8/rtt, printed "%.0f" under -n), lastsnd, lastrcv,
    /// lastack, pacing_rate (bytes/s · 8, not when 0 or ~0), delivery_rate (bytes/s · 8), delivered, delivered_ce,
    /// app_limited, busy ("%llums" of busy_time / 1000) with, only then, rwnd_limited and sndbuf_limited
    /// ("%llums(%.1f%%)" of busy_time), unacked, retrans, lost, sacked, dsack_dups, reordering (not when 3), reord_seen, rcv_rtt,
    /// rcv_space, rcv_ssthresh, notsent, minrtt (not when ~0), rcv_ooopack, snd_wnd
    /// (6.1 has no rcv_wnd nor rehash).
    /// </summary>
    public static string InfoText(TcpInfo i)
    {
        var sb = new StringBuilder();
        if (i.Timestamps) sb.Append(" ts");
        if (i.Sack) sb.Append(" sack");
        if (i.Ecn) sb.Append(" ecn");
        sb.Append(' ').Append(i.CongestionControl);
        if (i.WindowScale) sb.Append(" wscale:").Append(i.SndWscale).Append(',').Append(i.RcvWscale);
        if (i.RtoUs != 0 && i.RtoUs != 3_000_000) sb.Append(" rto:").Append(G(i.RtoUs / 1000.0));
        if (i.Backoff != 0) sb.Append(" backoff:").Append(i.Backoff);
        if (i.RttUs != 0) sb.Append(" rtt:").Append(G(i.RttUs / 1000.0)).Append('/').Append(G(i.RttVarUs / 1000.0));
        if (i.AtoUs != 0) sb.Append(" ato:").Append(G(i.AtoUs / 1000.0));
        Field(sb, "mss", i.SndMss);
        Field(sb, "pmtu", i.Pmtu);
        Field(sb, "rcvmss", i.RcvMss);
        Field(sb, "advmss", i.AdvMss);
        Field(sb, "cwnd", i.SndCwnd);
        if (i.SndSsthresh < 0xFFFF) Field(sb, "ssthresh", i.SndSsthresh);
        Field(sb, "bytes_sent", i.BytesSent);
        Field(sb, "bytes_retrans", i.BytesRetrans);
        Field(sb, "bytes_acked", i.BytesAcked);
        Field(sb, "bytes_received", i.BytesReceived);
        Field(sb, "segs_out", i.SegsOut);
        Field(sb, "segs_in", i.SegsIn);
        Field(sb, "data_segs_out", i.DataSegsOut);
        Field(sb, "data_segs_in", i.DataSegsIn);
        if (i.RttUs > 0 && i.SndMss != 0 && i.SndCwnd != 0)
        {
            double bps = (double)i.SndCwnd * i.SndMss * 8000000.0 / i.RttUs;
            sb.Append(" send ").Append(Bps(bps)).Append("bps");
        }
        Field(sb, "lastsnd", i.LastDataSentMs);
        Field(sb, "lastrcv", i.LastDataRecvMs);
        Field(sb, "lastack", i.LastAckRecvMs);
        if (i.PacingRate != 0 && i.PacingRate != ulong.MaxValue) sb.Append(" pacing_rate ").Append(Bps(i.PacingRate * 8.0)).Append("bps");
        if (i.DeliveryRate != 0) sb.Append(" delivery_rate ").Append(Bps(i.DeliveryRate * 8.0)).Append("bps");
        Field(sb, "delivered", i.Delivered);
        Field(sb, "delivered_ce", i.DeliveredCe);
        if (i.DeliveryRateAppLimited) sb.Append(" app_limited");
        if (i.BusyTimeUs != 0)
        {
            sb.Append(" busy:").Append(i.BusyTimeUs / 1000).Append("ms");
            if (i.RwndLimitedUs != 0) LimitedField(sb, "rwnd_limited", i.RwndLimitedUs, i.BusyTimeUs);
            if (i.SndbufLimitedUs != 0) LimitedField(sb, "sndbuf_limited", i.SndbufLimitedUs, i.BusyTimeUs);
        }
        Field(sb, "unacked", i.Unacked);
        if (i.Retrans != 0 || i.TotalRetrans != 0) sb.Append(" retrans:").Append(i.Retrans).Append('/').Append(i.TotalRetrans);
        Field(sb, "lost", i.Lost);
        if (i.State != TcpState.Listen) Field(sb, "sacked", i.Sacked);
        Field(sb, "dsack_dups", i.DsackDups);
        if (i.Reordering != TcpConstants.DefaultReordering) sb.Append(" reordering:").Append(unchecked((uint)i.Reordering)); // %u
        Field(sb, "reord_seen", i.ReordSeen);
        if (i.RcvRttUs != 0) sb.Append(" rcv_rtt:").Append(G(i.RcvRttUs / 1000.0));
        Field(sb, "rcv_space", i.RcvSpace);
        Field(sb, "rcv_ssthresh", i.RcvSsthresh);
        Field(sb, "notsent", i.NotSentBytes);
        if (i.MinRttUs != 0 && i.MinRttUs != uint.MaxValue) sb.Append(" minrtt:").Append(G(i.MinRttUs / 1000.0));
        Field(sb, "rcv_ooopack", i.RcvOoopack);
        Field(sb, "snd_wnd", i.SndWnd);
        return sb.ToString();
    }

    /// <summary>sprint_bw() under -n: "%.0f".</summary>
    static string Bps(double bps) => Math.Round(bps, MidpointRounding.ToEven).ToString("0", CultureInfo.InvariantCulture);

    /// <summary>" rwnd_limited:%llums(%.1f%%)": the time in whole milliseconds and its share of busy_time.</summary>
    static void LimitedField(StringBuilder sb, string name, long us, long busyUs) =>
        sb.Append(' ').Append(name).Append(':').Append(us / 1000).Append("ms(").Append(FixedOne(100.0 * us / busyUs)).Append("%)");

    /// <summary>
    /// printf's "%.1f" as glibc prints it: the double's exact binary value rounded to one decimal, a tie to even
    /// (.NET's "F1" rounds a tie away from zero). For the non-negative values ss prints.
    /// </summary>
    internal static string FixedOne(double value)
    {
        long bits = BitConverter.DoubleToInt64Bits(value);
        int exp = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (exp == 0) exp = 1; else mantissa |= 1L << 52;
        int shift = 1075 - exp; // value = mantissa · 2^-shift
        var tenths = new System.Numerics.BigInteger(mantissa) * 10;
        System.Numerics.BigInteger whole;
        if (shift <= 0)
        {
            whole = tenths << -shift;
        }
        else
        {
            var denominator = System.Numerics.BigInteger.One << shift;
            whole = System.Numerics.BigInteger.DivRem(tenths, denominator, out var remainder);
            int half = (remainder * 2).CompareTo(denominator);
            if (half > 0 || (half == 0 && !whole.IsEven)) whole += 1;
        }
        var text = whole.ToString(CultureInfo.InvariantCulture);
        if (text.Length == 1) text = "0" + text;
        return text[..^1] + "." + text[^1];
    }

    static void Field(StringBuilder sb, string name, long value)
    {
        if (value != 0) sb.Append(' ').Append(name).Append(':').Append(value);
    }

    /// <summary>printf's "%g": six significant digits, trailing zeros dropped (.NET's "G6" agrees for the millisecond values ss prints).</summary>
    static string G(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>
    /// Models render_calc_width() + render() for output that is not a terminal ("compact output"):
    /// the first column is as wide as its longest field, every other one that plus its left
    /// delimiter; right-aligned columns are padded on the left, the others on the right. Like ss,
    /// the last field of the last line is never flushed (field_flush() measures max_len), so its
    /// length does not count towards its column's width.
    /// </summary>
    static string Render(List<string[]> lines)
    {
        var widths = new int[Columns.Length];
        for (int c = 0; c < Columns.Length; c++)
        {
            int max = 0;
            for (int l = 0; l < lines.Count; l++)
            {
                bool unflushed = l == lines.Count - 1 && l > 0 && c == ProcessColumn;
                if (!unflushed) max = Math.Max(max, lines[l][c].Length);
            }
            widths[c] = c == 0 ? max : max + Columns[c].Delimiter.Length;
        }
        var sb = new StringBuilder();
        foreach (var fields in lines)
        {
            for (int c = 0; c < Columns.Length; c++)
            {
                int printed = 0;
                if (c > 0)
                {
                    sb.Append(Columns[c].Delimiter);
                    printed = Columns[c].Delimiter.Length;
                }
                if (Columns[c].Align == Align.Right) printed += Pad(sb, widths[c] - fields[c].Length - printed);
                sb.Append(fields[c]);
                printed += fields[c].Length;
                if (Columns[c].Align == Align.Left) Pad(sb, widths[c] - printed);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    static int Pad(StringBuilder sb, int count)
    {
        if (count <= 0) return 0;
        sb.Append(' ', count);
        return count;
    }
}
