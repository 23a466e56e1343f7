using System.Globalization;
using System.Text.Json;
using SimService.Domain.Network;
using SimService.Domain.Tcp;

namespace SimService.Domain.Journal;

/// <summary>
/// A journal event as one line of text, in the words the API's JSON and <c>ss</c> use: states by their kernel names
/// (CLOSED, LISTEN, FIN-WAIT-2), flags as tcpdump prints them (<c>S.</c>, <c>F.</c>, <c>R</c>), options as tcpdump lists
/// them (<c>mss 1460,sackOK,TS val 1 ecr 0,wscale 7</c>), timers and calls by their journal names (<c>fin-wait2</c>,
/// <c>setsockopt</c>). The one text form of an event (the view page's journal table); never the record's own
/// <c>ToString()</c>, which is C# syntax.
/// </summary>
public static class JournalText
{
    public static string Describe(SimEvent e) => e switch
    {
        SegmentSent s => $"{s.Host} {Segment(s.Tuple, s.Flags, s.SeqNo, s.AckNo, s.Len)}, win {s.Win}{Options(s.Options)} ({s.Reason})"
            + (s.To is null ? ": no route" : $" → {s.To}"),
        SegmentDelivered d => $"{d.Host} received {Segment(d.Tuple, d.Flags, d.SeqNo, d.AckNo, d.Len)}",
        SegmentDropped d => $"{d.Host} lost {Segment(d.Tuple, d.Flags, d.SeqNo, d.AckNo, d.Len)}: {d.Reason}",
        SegmentIgnored i => $"{i.Host} socket {i.SocketId} ignored {Tuple(i.Tuple)}: Flags [{Flags(i.Flags)}]: {i.Why}",
        StateChanged c => $"{c.Host} socket {c.SocketId}: {c.From.ToJournalName()} → {c.To.ToJournalName()} ({c.Cause})",
        TimerArmed a => $"{a.Host} socket {a.SocketId}: timer {Name(a.Timer)} armed, runs at {a.Expires}",
        TimerFired f => $"{f.Host} socket {f.SocketId}: timer {Name(f.Timer)} fired",
        TimerCancelled c => $"{c.Host} socket {c.SocketId}: timer {Name(c.Timer)} cancelled",
        CallIssued c => $"{c.Host} {c.Process}: {Name(c.Call)}({c.SocketId}{(c.Args.Length > 0 ? ", " + c.Args : "")}) call {c.CallId}",
        CallReturned r => $"{r.Host} {r.Process}: {Name(r.Call)}({r.SocketId}) = {r.Result}" + (r.Errno is null ? "" : $" {r.Errno}")
            + (r.Value is null ? "" : $" {r.Value}") + (r.Blocked.Ns > 0 ? $" after {r.Blocked}" : "") + $" call {r.CallId}",
        KernelLogged k => $"{k.Host} kernel: {k.Line}",
        DataDelivered d => $"{d.Host} socket {d.SocketId}: {d.Bytes} bytes read by the peer",
        DataLost l => $"{l.Host} socket {l.SocketId}: {l.Bytes} bytes lost: {l.Reason}",
        ProcessExited p => $"{p.Host} {p.Process} exited ({p.Signal})",
        SysctlChanged s => $"{s.Host} sysctl {s.Name} = {s.Value}",
        LinkChanged l => string.Create(CultureInfo.InvariantCulture,
            $"link {l.From} → {l.To}: delay {l.Delay}, loss {l.Loss}{(l.Blackhole ? ", blackhole" : "")}{(l.LossBySegment ? ", loss by segment" : "")}"),
        _ => e.GetType().Name,
    };

    /// <summary>tcpdump's line for a segment: <c>10.0.0.1.40314 > 10.0.0.2.80: Flags [S.], seq 1, ack 2, length 0</c> (absolute numbers).</summary>
    static string Segment(FourTuple t, TcpFlags flags, uint seq, uint ack, int len) =>
        $"{Tuple(t)}: Flags [{Flags(flags)}], seq {seq}" + ((flags & TcpFlags.Ack) != 0 ? $", ack {ack}" : "") + $", length {len}";

    static string Tuple(FourTuple t) => $"{t.Local.Address}.{t.Local.Port} > {t.Remote.Address}.{t.Remote.Port}";

    static string Flags(TcpFlags flags) => flags == TcpFlags.None ? "none" : flags.ToLetters();

    static string Options(TcpOptions options) => options.ToTcpdumpList() is { Length: > 0 } list ? $", options [{list}]" : "";

    /// <summary>An enum as the journal's JSON spells it (kebab-case: fin-wait2, time-wait, setsockopt).</summary>
    static string Name<TEnum>(TEnum value) where TEnum : struct, Enum => JsonNamingPolicy.KebabCaseLower.ConvertName(value.ToString());
}
