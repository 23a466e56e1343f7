using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Outputs;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Outputs;

/// <summary>The captures read back by the real tshark (installed by .ci/run), compared with the journal segment for segment.</summary>
public class PacketCaptureTests
{
    static readonly string[] Fields =
    [
        "frame.time_epoch", "ip.src", "ip.dst", "ip.checksum.status", "tcp.checksum.status", "tcp.srcport", "tcp.dstport",
        "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len", "tcp.window_size_value",
        "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval",
        "tcp.options.timestamp.tsecr", "tcp.options.sack_le", "tcp.options.sack_re",
        "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.keep_alive", "tcp.analysis.zero_window",
        "tcp.analysis.window_full", "tcp.analysis.duplicate_ack", "tcp.analysis.keep_alive_ack", "tcp.analysis.zero_window_probe",
        "tcp.analysis.out_of_order", "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.window_update",
        "tcp.analysis.spurious_retransmission", "tcp.analysis.zero_window_probe_ack",
    ];

    public static TheoryData<string, string> StoriesAndHosts()
    {
        var data = new TheoryData<string, string>();
        foreach (var story in CaptureStories.Names)
        foreach (var host in new[] { "client", "server" })
            data.Add(story, host);
        return data;
    }

    [Theory]
    [MemberData(nameof(StoriesAndHosts))]
    public void HostCapture_ReadByTshark_AgreesWithTheJournalSegmentForSegment(string story, string host)
    {
        var h = CaptureStories.Run(story);
        var expected = Expected(h.Sim.Journal, host);
        Assert.NotEmpty(expected);
        var rows = Tshark.Fields(PacketCapture.ForHost(h.Sim.Journal, host, TimeWindow.All), Fields);
        Assert.Equal(expected.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
            Assert.Equal(expected[i].Describe(), Describe(rows[i]));
        // Each story shows what it is about.
        var all = expected.SelectMany(p => p.Analysis).ToList();
        switch (story)
        {
            case "linger-rst": Assert.Contains(expected, p => p.Flags == (TcpFlags.Rst | TcpFlags.Ack)); break;
            case "fin-to-blackhole" when host == "client": Assert.True(all.Count(a => a == "retransmission") >= 4); break;
            case "zero-window-probes": Assert.Contains("keep_alive", all); Assert.Contains("zero_window", all); break;
            case "sack-after-loss":
                Assert.Contains(expected, p => p.Options.HasSack);
                Assert.Contains("retransmission", all);
                break;
        }
    }

    [Fact]
    public void WholeSimulation_FinsToABlackhole_DroppedOnesOnTheirOwnInterfaceWithTheReason()
    {
        var h = CaptureStories.Run("fin-to-blackhole");
        var rows = Tshark.Fields(PacketCapture.Wire(h.Sim.Journal, TimeWindow.All), "frame.interface_id", "frame.interface_name", "frame.comment",
            "tcp.flags", "tcp.analysis.retransmission", "frame.time_epoch");
        var sends = h.Sim.Journal.OfType<SegmentSent>().ToList();
        var drops = h.Sim.Journal.OfType<SegmentDropped>().Select(d => d.SegmentId).ToHashSet();
        Assert.Equal(sends.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            bool dropped = drops.Contains(sends[i].SegmentId);
            Assert.Equal(dropped ? "1" : "0", rows[i]["frame.interface_id"]);
            Assert.Equal(dropped ? "dropped" : "wire", rows[i]["frame.interface_name"]);
            Assert.Equal($"{sends[i].Host} -> {sends[i].To}: {sends[i].Reason}" + (dropped ? " [dropped: blackhole]" : ""), rows[i]["frame.comment"]);
            Assert.Equal($"0x{(int)sends[i].Flags:x4}", rows[i]["tcp.flags"]);
            Assert.Equal(sends[i].At.Ns / 1e9, double.Parse(rows[i]["frame.time_epoch"], System.Globalization.CultureInfo.InvariantCulture), 9);
        }
        Assert.True(drops.Count >= 5, $"{drops.Count} drops");
        Assert.All(rows.Where(r => r["frame.interface_id"] == "1").Skip(1), r => Assert.Equal("1", r["tcp.analysis.retransmission"]));
    }

    /// <summary>
    /// An injected segment whose header holds 4 option bytes more than its options lay out to (an EOL-padded list) is captured
    /// with that header: 144 bytes, as the engine counts the datagram (review39a N-5: 140, the header laid out), the 4 bytes
    /// EOL bytes (tshark reads four option kinds 0), both checksums right.
    /// </summary>
    [Fact]
    public void WholeSimulation_InjectWithEolPaddedOptions_CapturedWithTheHeaderCounted()
    {
        var sim = new Simulation(KernelProfile.Linux6, 11);
        CommandApplier.Apply(sim, new AddHostCommand("peer", "10.0.0.1", HostKind.Scripted, []));
        CommandApplier.Apply(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []));
        CommandApplier.Apply(sim, new AddLinkCommand("peer", "server", SimDuration.FromMilliseconds(10), 0));
        var outcome = CommandApplier.Apply(sim, new InjectCommand("peer", 40000, "server", 80, TcpFlags.Ack, 1, 1, 2000, 100, OptionBytes: 4));
        Assert.True(outcome.IsOk, outcome.Error?.Message);

        var rows = Tshark.Fields(PacketCapture.Wire(sim.Journal, TimeWindow.All), "ip.len", "tcp.hdr_len", "tcp.len", "tcp.option_kind",
            "ip.checksum.status", "tcp.checksum.status");

        Assert.Equal(4, sim.Journal.OfType<SegmentSent>().First().OptionBytes);
        Assert.Equal(("144", "24", "100", "0,0,0,0", "1", "1"), (rows[0]["ip.len"], rows[0]["tcp.hdr_len"], rows[0]["tcp.len"], rows[0]["tcp.option_kind"],
            rows[0]["ip.checksum.status"], rows[0]["tcp.checksum.status"]));
    }

    [Fact]
    public void HostCapture_TimeWindow_KeepsOnlyPacketsInsideIt()
    {
        var h = CaptureStories.Run("orderly-close");
        var window = new TimeWindow(new SimTime(300_000_000), new SimTime(420_000_000));
        var packets = PacketCapture.HostPackets(h.Sim.Journal, "client", window);
        Assert.NotEmpty(packets);
        Assert.All(packets, p => Assert.InRange(p.At.Ns, 300_000_000, 420_000_000));
        Assert.Equal(PacketCapture.HostPackets(h.Sim.Journal, "client", TimeWindow.All).Count(p => window.Contains(p.At)), packets.Count);
    }

    // ---- the journal's side ------------------------------------------------------------------

    /// <summary>One packet as the journal says it should read: numbers relative to each direction's ISN, options, analysis.</summary>
    sealed record ExpectedPacket(SimTime At, FourTuple Tuple, TcpFlags Flags, uint RelSeq, uint? RelAck, int Len, ushort Win,
        TcpOptions Options, uint SackBase, SortedSet<string> Analysis)
    {
        public string Describe() =>
            $"{At.Ns / 1e9:F9} {Tuple.Local}>{Tuple.Remote} flags=0x{(int)Flags:x4} seq={RelSeq} ack={RelAck?.ToString() ?? "-"} len={Len} win={Win} " +
            $"mss={(Options.Mss == 0 ? "" : Options.Mss)} ws={(Options.WindowScale is { } ws ? ws : "")} sackok={(Options.SackPermitted ? 1 : 0)} " +
            $"ts={(Options.HasTimestamp ? $"{Options.TsVal}/{Options.TsEcr}" : "")} sack={(Options.HasSack ? string.Join(",", Options.Sack.ToArray().Select(b => $"{b.Left - SackBase}-{b.Right - SackBase}")) : "")} " +
            $"csum=good [{string.Join(",", Analysis)}]";
    }

    /// <summary>
    /// The host's capture as the journal tells it: what it sent and what was delivered to it, in journal order.
    /// A delivered segment's window and options are those of its send (same segment id).
    /// Analysis flags follow from the kernel function that sent the segment and the numbers:
    /// tcp_retransmit_timer / tcp_fastretrans_alert / tcp_xmit_retransmit_queue / loss probes resend
    /// (retransmission); tcp_send_probe0 and tcp_keepalive_timer send snd_una − 1 with no data
    /// (tcp_xmit_probe_skb: Wireshark's keep-alive); a zero window on a segment without SYN/FIN/RST
    /// (zero_window); data ending exactly at the right edge of the peer's window (window_full).
    /// </summary>
    static List<ExpectedPacket> Expected(IReadOnlyList<SimEvent> journal, string host)
    {
        var sends = journal.OfType<SegmentSent>().ToDictionary(x => x.SegmentId);
        var isn = new Dictionary<FourTuple, uint>();
        var state = new Dictionary<FourTuple, Direction>();
        var result = new List<ExpectedPacket>();
        foreach (var e in journal)
        {
            SegmentSent? s = e switch
            {
                SegmentSent x when x.Host == host => x,
                SegmentDelivered d when d.Host == host => sends[d.SegmentId],
                _ => null,
            };
            if (s is null) continue;
            var t = s.Tuple;
            var back = new FourTuple(t.Remote, t.Local);
            if (s.Flags.HasFlag(TcpFlags.Syn) || !isn.ContainsKey(t)) isn[t] = s.SeqNo;
            if (!state.ContainsKey(t)) state[t] = new Direction();
            if (s.Flags.HasFlag(TcpFlags.Syn)) state[t].Shift = s.Options.WindowScale ?? -1;
            var analysis = Analysis(e.At, s, t, back, state);
            uint? relAck = s.Flags.HasFlag(TcpFlags.Ack) && isn.TryGetValue(back, out var peerIsn) ? s.AckNo - peerIsn : null;
            result.Add(new ExpectedPacket(e.At, e is SegmentDelivered dd ? dd.Tuple : t, s.Flags, s.SeqNo - isn[t], relAck, s.Len, s.Win, s.Options,
                isn.GetValueOrDefault(back), analysis));
        }
        return result;
    }

    /// <summary>What the capture has seen of one direction so far (Wireshark's tcp_analyze_seq_info).</summary>
    sealed class Direction
    {
        public int Shift = -1;
        public uint? NextSeq;
        public uint LastAck;
        public ushort LastWin;
        public long Window;
        public int DupAcks;
        public SimTime LastDupAckAt;
    }

    /// <summary>
    /// The analysis flags this segment earns, from the kernel function that sent it and the numbers
    /// seen so far in the capture: tcp_retransmit_timer, tcp_fastretrans_alert, tcp_xmit_retransmit_queue
    /// and tcp_send_loss_probe resend (retransmission; spurious_retransmission when the capture already saw
    /// the data acknowledged); tcp_send_probe0 and tcp_keepalive_timer send
    /// snd_una − 1 without data (tcp_xmit_probe_skb: a keep-alive to Wireshark); a zero window on a
    /// segment without SYN/FIN/RST (zero_window); data ending at the right edge of the peer's
    /// window (window_full); a sequence number beyond what this capture has seen (lost_segment: the
    /// segment before it was dropped on the way); an ACK repeating the last ack and window
    /// (duplicate_ack) or changing only the window (window_update); the resend of tcp_fastretrans_alert
    /// after two or more duplicate ACKs for it, less than 20 ms after the last one in this capture (fast_retransmission).
    /// </summary>
    static SortedSet<string> Analysis(SimTime at, SegmentSent s, FourTuple t, FourTuple back, Dictionary<FourTuple, Direction> state)
    {
        var d = state[t];
        var rev = state.GetValueOrDefault(back);
        var analysis = new SortedSet<string>();
        bool control = (s.Flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) != 0;
        bool keepAlive = s.Reason is "tcp_send_probe0" or "tcp_keepalive_timer";
        if (IsRetransmission(s.Reason)) analysis.Add("retransmission");
        // Data the other direction has already acknowledged in this capture (a loss probe that crossed the ACK).
        if (IsRetransmission(s.Reason) && s.Len > 0 && rev is { LastAck: not 0 } && (int)(s.SeqNo + (uint)s.Len - rev.LastAck) <= 0)
            analysis.Add("spurious_retransmission");
        if (s.Reason == "tcp_fastretrans_alert" && rev is { DupAcks: >= 2 } && rev.LastAck == s.SeqNo
            && at - rev.LastDupAckAt < SimDuration.FromMilliseconds(20)) analysis.Add("fast_retransmission");
        if (keepAlive) analysis.Add("keep_alive");
        if (s.Win == 0 && !control) analysis.Add("zero_window");
        if (s.Len > 0 && rev is { Window: > 0 } && s.SeqNo + (uint)s.Len == rev.LastAck + rev.Window) analysis.Add("window_full");
        if (d.NextSeq is { } next && !s.Flags.HasFlag(TcpFlags.Rst) && (int)(s.SeqNo - next) > 0) analysis.Add("lost_segment");
        if (!keepAlive && !control && s.Len == 0 && s.Win != 0 && d.NextSeq == s.SeqNo && s.AckNo == d.LastAck)
            analysis.Add(s.Win == d.LastWin ? "duplicate_ack" : "window_update");
        d.DupAcks = analysis.Contains("duplicate_ack") ? d.DupAcks + 1 : s.AckNo == d.LastAck ? d.DupAcks : 0;
        if (analysis.Contains("duplicate_ack")) d.LastDupAckAt = at;
        uint end = s.SeqNo + (uint)s.Len + (control && !s.Flags.HasFlag(TcpFlags.Rst) ? 1u : 0u);
        if (d.NextSeq is not { } n || (int)(end - n) > 0) d.NextSeq = end;
        if (s.Flags.HasFlag(TcpFlags.Ack))
        {
            bool scaled = d.Shift >= 0 && rev is { Shift: >= 0 };
            d.LastAck = s.AckNo;
            d.LastWin = s.Win;
            d.Window = s.Flags.HasFlag(TcpFlags.Syn) ? s.Win : (long)s.Win << (scaled ? d.Shift : 0);
        }
        return analysis;
    }

    static bool IsRetransmission(string reason) =>
        reason.StartsWith("tcp_retransmit_timer", StringComparison.Ordinal) || reason.StartsWith("tcp_fastretrans_alert", StringComparison.Ordinal)
        || reason == "tcp_xmit_retransmit_queue" || reason == "tcp_send_loss_probe";

    // ---- tshark's side -----------------------------------------------------------------------

    static string Describe(IReadOnlyDictionary<string, string> r)
    {
        var analysis = new SortedSet<string>(Fields.Where(f => f.StartsWith("tcp.analysis.", StringComparison.Ordinal) && r[f] != "")
            .Select(f => f["tcp.analysis.".Length..]));
        var flags = Convert.ToInt32(r["tcp.flags"], 16);
        string ack = (flags & 0x10) != 0 ? r["tcp.ack"] : "-";
        string csum = r["ip.checksum.status"] == "1" && r["tcp.checksum.status"] == "1" ? "good" : $"ip:{r["ip.checksum.status"]}/tcp:{r["tcp.checksum.status"]}";
        // tshark prints each multi-valued field comma-joined (all left edges, then all right edges): pair them up.
        string sack = r["tcp.options.sack_le"] == "" ? "" : string.Join(",",
            r["tcp.options.sack_le"].Split(',').Zip(r["tcp.options.sack_re"].Split(','), (le, re) => $"{le}-{re}"));
        string ts = r["tcp.options.timestamp.tsval"] == "" ? "" : $"{r["tcp.options.timestamp.tsval"]}/{r["tcp.options.timestamp.tsecr"]}";
        return $"{decimal.Parse(r["frame.time_epoch"], System.Globalization.CultureInfo.InvariantCulture):F9} " +
               $"{r["ip.src"]}:{r["tcp.srcport"]}>{r["ip.dst"]}:{r["tcp.dstport"]} flags=0x{flags:x4} seq={r["tcp.seq"]} ack={ack} len={r["tcp.len"]} " +
               $"win={r["tcp.window_size_value"]} mss={r["tcp.options.mss_val"]} ws={r["tcp.options.wscale.shift"]} " +
               $"sackok={(r["tcp.options.sack_perm"] == "" ? 0 : 1)} ts={ts} sack={sack} csum={csum} [{string.Join(",", analysis)}]";
    }
}
