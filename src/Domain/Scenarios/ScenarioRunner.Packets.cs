using System.Collections.Immutable;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>
/// A segment a host put on a link, as packet checks see it: host names, endpoints, flags, sequence
/// numbers both absolute and relative (to the sender's and the receiver's ISN, as Wireshark shows
/// them; absolute while no SYN was seen), and whether the link dropped it.
/// </summary>
internal sealed record WirePacket(
    SimTime At,
    string From,
    string To,
    FourTuple Tuple,
    TcpFlags Flags,
    uint Seq,
    uint Ack,
    uint RelativeSeq,
    uint RelativeAck,
    int Len,
    bool Dropped,
    ushort Win = 0,
    TcpOptions Options = default,
    uint ReceiverIsn = 0)
{
    /// <summary>The SACK blocks relative to the receiver's ISN (as ack is).</summary>
    public SeqRange[] RelativeSack => [.. Options.Sack.ToArray().Select(b => new SeqRange(unchecked(b.Left - ReceiverIsn), unchecked(b.Right - ReceiverIsn)))];

    /// <inheritdoc/>
    public override string ToString() =>
        $"{At} {From}:{Tuple.Local.Port} > {To}:{Tuple.Remote.Port} {Flags.ToLetters()} seq={RelativeSeq} ack={RelativeAck} win={Win} len={Len}"
        + OptionsText() + (Dropped ? " (dropped)" : "");

    /// <summary>The options as tcpdump prints them: &lt;mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7&gt;.</summary>
    string OptionsText() => Options.ToTcpdumpList(ReceiverIsn) is { Length: > 0 } list ? $" <{list}>" : "";
}

/// <summary>Packet checks: packets (ordered subsequence), packetsExact (one to one), noPackets.</summary>
public sealed partial class ScenarioRunner
{
    /// <summary>How many near misses a failed packet check lists.</summary>
    const int MaxPacketsShown = 5;

    void CheckPackets(FinalExpect expect, string path)
    {
        if (expect.Packets.IsEmpty && expect.PacketsExact.IsEmpty && expect.NoPackets.IsEmpty) return;
        var packets = CapturePackets(_sim.Journal, address => _sim.FindHost(address)?.Name);
        _checks.AddRange(PacketChecks(expect, packets, path, _sim.Now, SimDuration.Zero));
    }

    /// <summary>
    /// The packets, packetsExact and noPackets checks of <paramref name="expect"/> over a capture, made at
    /// <paramref name="now"/>; <paramref name="slack"/> widens every <c>at</c> by that much either way (zero for the
    /// engine; the real kernel's run allows packetdrill's 4 ms for its wake-ups) — and narrows a <c>noPackets</c> one.
    /// </summary>
    internal static List<CheckResult> PacketChecks(FinalExpect expect, IReadOnlyList<WirePacket> packets, string path, SimTime now, SimDuration slack)
    {
        var checks = new List<CheckResult>();
        void Add(string kind, string p, bool passed, string expected, string actual) => checks.Add(new CheckResult(passed, kind, p, expected, actual, now));
        CheckSubsequence(expect.Packets, packets, JsonPath.Member(path, "packets"), slack, Add);
        CheckExact(expect.PacketsExact, packets, JsonPath.Member(path, "packetsExact"), slack, Add);
        // A segment within the slack of a noPackets window may lie outside it: only one surely inside counts.
        CheckNone(expect.NoPackets, packets, JsonPath.Member(path, "noPackets"), new SimDuration(-slack.Ns), Add);
        return checks;
    }

    /// <summary>
    /// Every SegmentSent of the journal in order, dropped when a SegmentDropped for it follows at
    /// once. Relative numbers follow Wireshark: each direction's ISN is the seq of the SYN that opened
    /// the direction's current incarnation; ack is relative to the reverse direction's ISN (as
    /// written when the segment has no ACK flag, its ack field then meaning nothing). See
    /// <see cref="OpensIncarnation"/> for which SYNs re-base.
    /// </summary>
    internal static ImmutableArray<WirePacket> CapturePackets(IReadOnlyList<SimEvent> journal, Func<IPv4, string?> hostAt)
    {
        var isn = new Dictionary<FourTuple, uint>();
        var packets = ImmutableArray.CreateBuilder<WirePacket>();
        for (int i = 0; i < journal.Count; i++)
        {
            if (journal[i] is not SegmentSent s) continue;
            if ((s.Flags & TcpFlags.Syn) != 0 && OpensIncarnation(journal, i, isn.ContainsKey(s.Tuple))) isn[s.Tuple] = s.SeqNo;
            bool dropped = i + 1 < journal.Count && journal[i + 1] is SegmentDropped d
                && (s.SegmentId != 0 ? d.SegmentId == s.SegmentId : d.Host == s.Host && d.Tuple == s.Tuple && d.SeqNo == s.SeqNo && d.Flags == s.Flags);
            var to = s.To ?? hostAt(s.Tuple.Remote.Address) ?? s.Tuple.Remote.Address.ToString();
            uint receiverIsn = isn.GetValueOrDefault(s.Tuple.Reversed);
            packets.Add(new WirePacket(s.At, s.Host, to, s.Tuple, s.Flags, s.SeqNo, s.AckNo,
                unchecked(s.SeqNo - isn.GetValueOrDefault(s.Tuple)),
                (s.Flags & TcpFlags.Ack) != 0 ? unchecked(s.AckNo - receiverIsn) : s.AckNo,
                s.Len, dropped, s.Win, s.Options, receiverIsn));
        }
        return packets.ToImmutable();
    }

    /// <summary>
    /// Whether the SYN at <paramref name="index"/> opens a new incarnation of its direction, so that
    /// relative numbers re-base on it: the first SYN of the 4-tuple's direction; a SYN a simulated
    /// Linux host sent (its own connect() or SYN-ACK, whose retransmissions repeat the ISN); or an
    /// injected SYN that the receiver accepted — answered later in the reverse direction by a segment
    /// acknowledging seq + 1 (a SYN-ACK to a SYN, also through TIME-WAIT; an ACK to a SYN-ACK). A
    /// rejected SYN — answered with a challenge ACK, a TIME-WAIT's dup-ACK or a RST — is not a new
    /// connection and leaves the numbering alone. The answer must come before the direction's next SYN.
    /// </summary>
    static bool OpensIncarnation(IReadOnlyList<SimEvent> journal, int index, bool directionSeen)
    {
        var syn = (SegmentSent)journal[index];
        if (!directionSeen || syn.Reason != Host.InjectReason) return true;
        uint acked = unchecked(syn.SeqNo + 1);
        var reverse = syn.Tuple.Reversed;
        bool wantSyn = (syn.Flags & TcpFlags.Ack) == 0;
        for (int j = index + 1; j < journal.Count; j++)
        {
            if (journal[j] is not SegmentSent r) continue;
            if (r.Tuple == syn.Tuple && (r.Flags & TcpFlags.Syn) != 0) return false; // the next SYN of this direction: not answered before it
            if (r.Tuple != reverse) continue;
            if ((r.Flags & (TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Ack && r.AckNo == acked
                && (!wantSyn || (r.Flags & TcpFlags.Syn) != 0)) return true;
            if ((r.Flags & TcpFlags.Syn) != 0 && r.Reason != Host.InjectReason) return false; // a later incarnation began
        }
        return false;
    }

    /// <summary>Whether a segment satisfies an entry: flags exactly, every other field when given.</summary>
    internal static bool Matches(PacketCheck entry, WirePacket packet, SimDuration slack = default) =>
        SameFlagsAndHosts(entry, packet)
        && (entry.At is not { } at || at.Matches(packet.At - SimTime.Zero, slack))
        && (entry.Len is not { } len || packet.Len == len)
        && (entry.Seq is not { } seq || packet.RelativeSeq == seq)
        && (entry.Ack is not { } ack || packet.RelativeAck == ack)
        && (entry.Win is not { } win || packet.Win == win)
        && (entry.Options is not { } options || OptionsMatch(options, packet));

    /// <summary>Each option the check names matches the segment's (tcp_parse_options()'s view of it).</summary>
    static bool OptionsMatch(OptionsCheck check, WirePacket packet)
    {
        var o = packet.Options;
        return (check.Mss is not { } mss || (mss == OptionsCheck.Absent ? o.Mss == 0 : o.Mss == mss))
            && (check.WindowScale is not { } ws || (ws == OptionsCheck.Absent ? o.WindowScale is null : o.WindowScale == ws))
            && (check.SackPermitted is not { } sackOk || o.SackPermitted == sackOk)
            && (check.Timestamp is not { } ts || (ts.Present == o.HasTimestamp
                && (ts.Val is not { } val || o.TsVal == val) && (ts.Ecr is not { } ecr || o.TsEcr == ecr)))
            && (check.Sack is not { } sack || sack.SequenceEqual(packet.RelativeSack));
    }

    static bool SameFlagsAndHosts(PacketCheck entry, WirePacket packet) => packet.Flags == entry.Flags && SameHosts(entry, packet);

    static bool SameHosts(PacketCheck entry, WirePacket packet) =>
        IsEndpoint(entry.From, packet.From, packet.Tuple.Local) && IsEndpoint(entry.To, packet.To, packet.Tuple.Remote);

    /// <summary>ECN's two header flags (RFC 3168): a tcp_ecn 1 client's SYN is "SEW", the answer "S.E", a reduction's data "P.W".</summary>
    const TcpFlags EcnFlags = TcpFlags.Ece | TcpFlags.Cwr;

    static bool IsEndpoint(PacketEndpoint? expected, string host, Endpoint endpoint) =>
        expected is null || (expected.Host == host && (expected.Port is not { } port || endpoint.Port == port));

    /// <summary>
    /// Matches entries in order as a subsequence, each at the earliest segment after the previous
    /// match (greedy is optimal for subsequences): the index of each entry's segment, or -1. An entry
    /// that finds none leaves the next one to search from the last match.
    /// </summary>
    internal static int[] MatchSubsequence(IReadOnlyList<PacketCheck> entries, IReadOnlyList<WirePacket> packets, SimDuration slack = default)
    {
        var found = new int[entries.Count];
        int next = 0;
        for (int e = 0; e < entries.Count; e++)
        {
            found[e] = -1;
            for (int p = next; p < packets.Count && found[e] < 0; p++)
                if (Matches(entries[e], packets[p], slack)) found[e] = p;
            if (found[e] >= 0) next = found[e] + 1;
        }
        return found;
    }

    /// <summary>
    /// The segments packetsExact compares with: those between the hosts its entries name (both ends
    /// named; with one host named, every segment it sent or received; with none, all).
    /// </summary>
    internal static List<WirePacket> SegmentsBetweenNamedHosts(IReadOnlyList<PacketCheck> entries, IReadOnlyList<WirePacket> packets)
    {
        var named = entries.SelectMany(e => new[] { e.From?.Host, e.To?.Host }).OfType<string>().ToHashSet(StringComparer.Ordinal);
        return named.Count switch
        {
            0 => [.. packets],
            1 => [.. packets.Where(p => named.Contains(p.From) || named.Contains(p.To))],
            _ => [.. packets.Where(p => named.Contains(p.From) && named.Contains(p.To))],
        };
    }

    /// <summary>How a static check reports one result: kind, path, passed, expected, actual.</summary>
    delegate void AddResult(string kind, string path, bool passed, string expected, string actual);

    static void CheckSubsequence(ImmutableArray<PacketCheck> entries, IReadOnlyList<WirePacket> packets, string path, SimDuration slack, AddResult add)
    {
        var found = MatchSubsequence(entries, packets, slack);
        SimTime? after = null;
        for (int e = 0; e < entries.Length; e++)
        {
            var actual = found[e] >= 0
                ? packets[found[e]].ToString()
                : $"no matching segment{(after is { } t ? $" after {t}" : "")}; {NearMisses(entries[e], packets, slack)}";
            add(CheckKinds.Packets, JsonPath.Item(path, e), found[e] >= 0, Describe(entries[e]), actual);
            if (found[e] >= 0) after = packets[found[e]].At;
        }
    }

    static void CheckExact(ImmutableArray<PacketCheck> entries, IReadOnlyList<WirePacket> packets, string path, SimDuration slack, AddResult add)
    {
        if (entries.IsEmpty) return;
        var between = SegmentsBetweenNamedHosts(entries, packets);
        for (int e = 0; e < entries.Length; e++)
        {
            bool present = e < between.Count;
            add(CheckKinds.PacketsExact, JsonPath.Item(path, e), present && Matches(entries[e], between[e], slack), Describe(entries[e]),
                present ? between[e].ToString() : $"no segment: only {between.Count} were sent");
        }
        var extra = between.Skip(entries.Length).Take(MaxPacketsShown).Select(p => p.ToString()).ToList();
        add(CheckKinds.PacketsExact, path, between.Count == entries.Length, $"exactly {entries.Length} segments",
            between.Count <= entries.Length
                ? $"{between.Count} segments"
                : $"{between.Count} segments; beyond the list: {string.Join("; ", extra)}");
    }

    static void CheckNone(ImmutableArray<PacketCheck> entries, IReadOnlyList<WirePacket> packets, string path, SimDuration slack, AddResult add)
    {
        for (int e = 0; e < entries.Length; e++)
        {
            var matching = packets.Where(p => Matches(entries[e], p, slack)).ToList();
            add(CheckKinds.NoPackets, JsonPath.Item(path, e), matching.Count == 0, $"no segment {Describe(entries[e])}",
                matching.Count == 0 ? "none" : $"{matching.Count} matching: {string.Join("; ", matching.Take(MaxPacketsShown))}");
        }
    }

    /// <summary>
    /// Segments with the entry's flags and hosts that failed on time, length or numbers: what the reader needs to see. With
    /// none, the segments of those hosts that match in all but ECN's E/W (tester40 MEDIUM-1: a tcp_ecn 1 client's SYN is "SEW",
    /// and an entry "S" at its time found nothing).
    /// </summary>
    static string NearMisses(PacketCheck entry, IReadOnlyList<WirePacket> packets, SimDuration slack)
    {
        var near = packets.Where(p => SameFlagsAndHosts(entry, p)).ToList();
        if (near.Count == 0)
        {
            var ecn = packets.Where(p => p.Flags != entry.Flags && (p.Flags & ~EcnFlags) == (entry.Flags & ~EcnFlags)
                && Matches(entry with { Flags = p.Flags }, p, slack)).Take(MaxPacketsShown).ToList();
            return ecn.Count == 0 ? "no segment has these flags and hosts"
                : $"no segment has these flags and hosts; this one differs only by ECN's E/W (E ECE, W CWR): {string.Join("; ", ecn)}";
        }
        var shown = string.Join("; ", near.Take(MaxPacketsShown));
        return near.Count > MaxPacketsShown ? $"with these flags and hosts: {shown}; and {near.Count - MaxPacketsShown} more" : $"with these flags and hosts: {shown}";
    }

    static string Describe(PacketCheck entry)
    {
        var text = $"{entry.From?.ToString() ?? "*"} > {entry.To?.ToString() ?? "*"} {entry.Flags.ToLetters()}";
        if (entry.At is { } at) text += $" at {at}";
        if (entry.Seq is { } seq) text += $" seq={seq}";
        if (entry.Ack is { } ack) text += $" ack={ack}";
        if (entry.Win is { } win) text += $" win={win}";
        if (entry.Len is { } len) text += $" len={len}";
        if (entry.Options is { } o) text += " options " + OptionsCheckText(o);
        return text;
    }

    static string OptionsCheckText(OptionsCheck o)
    {
        var parts = new List<string>();
        if (o.Mss is { } mss) parts.Add(mss == OptionsCheck.Absent ? "no mss" : $"mss {mss}");
        if (o.SackPermitted is { } sackOk) parts.Add(sackOk ? "sackOK" : "no sackOK");
        if (o.Timestamp is { } ts)
            parts.Add(!ts.Present ? "no TS" : "TS" + (ts.Val is { } v ? $" val {v}" : "") + (ts.Ecr is { } e ? $" ecr {e}" : ""));
        if (o.WindowScale is { } ws) parts.Add(ws == OptionsCheck.Absent ? "no wscale" : $"wscale {ws}");
        if (o.Sack is { } sack) parts.Add(sack.IsEmpty ? "no sack" : "sack " + string.Join(" ", sack.Select(b => $"{b.Left}:{b.Right}")));
        return $"<{string.Join(",", parts)}>";
    }
}
