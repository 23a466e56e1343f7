using System.Runtime.InteropServices;
using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

// The groups of a TcpSocket's protocol state, shaped as the kernel groups them in struct tcp_sock,
// struct inet_connection_sock and their sub-structures (include/linux/tcp.h, include/net/inet_connection_sock.h).
// Each is a mutable struct held in a field of its socket: no allocation of its own, and a field's
// owner follows from where it sits (_snd.Una is tp->snd_una, Ack.Ato is icsk->icsk_ack.ato).
// LayoutKind.Auto lets the runtime order a group's fields by size (no padding between a bool and a long),
// as the kernel orders tcp_sock's fields by hand; nothing reads these structs' bytes. Auto rounds a struct's size
// up to 8 bytes, so a group of 4-byte and smaller fields is Sequential instead, its fields in an order without padding.

/// <summary>The send sequence space of struct tcp_sock: snd_una … write_seq, the peer's window, the queued FIN.</summary>
[StructLayout(LayoutKind.Auto)]
internal struct SendSequence
{
    /// <summary>The initial send sequence number (our SYN's seq).</summary>
    public uint Iss;
    /// <summary>tp->snd_una: the oldest unacknowledged sequence number.</summary>
    public uint Una;
    /// <summary>tp->snd_nxt: the next sequence number to send.</summary>
    public uint Nxt;
    /// <summary>tp->write_seq: the end of the data the application queued.</summary>
    public uint WriteSeq;
    /// <summary>
    /// tcp_write_queue_purge() freed the queue: snd_una..write_seq still spans the bytes the peer never acknowledged
    /// (SIOCOUTQ reports them) but holds no memory. Cleared when connect() starts a new sequence space.
    /// </summary>
    public bool QueuePurged;
    /// <summary>tp->snd_wnd: the window the peer offers, already scaled.</summary>
    public uint Wnd;
    /// <summary>tp->max_window: the largest window the peer offered (tcp_ack_update_window(), the SYN's, the child's first).</summary>
    public uint MaxWindow;
    /// <summary>tp->snd_wl1: the sequence number of the segment that last updated the window.</summary>
    public uint Wl1;
    /// <summary>A FIN is queued after write_seq (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN on the tail skb).</summary>
    public bool FinQueued;
    /// <summary>The FIN's sequence number once queued.</summary>
    public uint FinSeq;
    /// <summary>write_seq is already set (non-zero), so tcp_v4_connect() keeps it: a reused TIME-WAIT's, or tcp_disconnect()'s.</summary>
    public bool WriteSeqKept;
    /// <summary>tp->snd_sml: end of the last small segment sent (Minshall's Nagle variant).</summary>
    public uint Sml;
    /// <summary>tp->lsndtime: when data was last sent (tcp_event_data_sent), set at ESTABLISHED too; feeds tcp_out_of_resources().</summary>
    public SimTime Lsndtime;
}

/// <summary>
/// The receive sequence space of struct tcp_sock: rcv_nxt, the advertised window and its clamp, what is unread (the SACK
/// blocks to report — selective_acks, duplicate_sack, rx_opt.num_sacks — are the rare state's: TcpSocket.Rare.cs).
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct ReceiveSequence
{
    /// <summary>The peer's initial sequence number (its SYN's seq).</summary>
    public uint Irs;
    /// <summary>tp->rcv_nxt: the next sequence number expected.</summary>
    public uint Nxt;
    /// <summary>tp->rcv_wup: rcv_nxt when the window was last advertised.</summary>
    public uint Wup;
    /// <summary>tp->rcv_wnd: the window last advertised (unscaled bytes).</summary>
    public uint Wnd;
    /// <summary>tp->rcv_ssthresh: the window clamp that tcp_grow_window() raises as in-order data arrives.</summary>
    public uint Ssthresh;
    /// <summary>
    /// tp->window_clamp: the largest window to advertise (0 until tcp_select_initial_window() or the listener's request sets
    /// it). Here, beside rcv_ssthresh, it fills what was the struct's padding (28 → 32 bytes, where it took 4 of the
    /// socket's own: docs/benchmarks-history.md, the session-26 note).
    /// </summary>
    public uint WindowClamp;
    /// <summary>Payload bytes received in order and not yet read by the application (rcv_nxt − copied_seq without the FIN).</summary>
    public long Unread;
}

/// <summary>struct tcp_options_received (tp->rx_opt): what the handshake negotiated and the timestamp state PAWS keeps.</summary>
// Sequential, in this order: no field is wider than 4 bytes, so no padding, where LayoutKind.Auto rounds a struct's size up to 8.
[StructLayout(LayoutKind.Sequential)]
internal struct ReceivedOptions
{
    /// <summary>rx_opt.tstamp_ok: timestamps negotiated.</summary>
    public bool TsOk;
    /// <summary>rx_opt.sack_ok: SACK negotiated.</summary>
    public bool SackOk;
    /// <summary>rx_opt.sack_ok &amp; TCP_DSACK_SEEN: the peer has sent a D-SACK the sender believed (tcp_dsack_seen()).</summary>
    public bool DsackSeen;
    /// <summary>rx_opt.dsack: tp->duplicate_sack[0] is to be sent on the next segment (tcp_options_write() clears it).</summary>
    public bool Dsack;
    /// <summary>rx_opt.ts_recent: the peer's TSval to echo.</summary>
    public uint TsRecent;
    int _tsRecentStampSec;
    /// <summary>rx_opt.ts_recent_stamp: when ts_recent was taken, in kernel seconds (an int in the kernel's struct, as here).</summary>
    public long TsRecentStampSec { readonly get => _tsRecentStampSec; set => _tsRecentStampSec = unchecked((int)value); }
    // The window scales are 4-bit fields in the kernel's struct (0–14, TCP_MAX_WSCALE): a byte each here.
    byte _sndWscale, _rcvWscale;
    /// <summary>rx_opt.snd_wscale: the peer's window scale (applied to windows it sends).</summary>
    public int SndWscale { readonly get => _sndWscale; set => _sndWscale = checked((byte)value); }
    /// <summary>rx_opt.rcv_wscale: our window scale (applied to windows we send).</summary>
    public int RcvWscale { readonly get => _rcvWscale; set => _rcvWscale = checked((byte)value); }
    ushort _mssClamp;
    /// <summary>rx_opt.mss_clamp: the MSS the peer's SYN offered (TCP_MSS_DEFAULT without the option); a u16, as the kernel's (16 bytes, not 20).</summary>
    public int MssClamp { readonly get => _mssClamp; set => _mssClamp = checked((ushort)value); }
}

/// <summary>The RTT estimator of struct tcp_sock (tcp_rtt_estimator(), tcp_set_rto()) and the windowed minimum RTT.</summary>
// Sequential, in this order: no field is wider than 4 bytes, so no padding, where LayoutKind.Auto rounds a struct's size up to 8.
[StructLayout(LayoutKind.Sequential)]
internal struct RttEstimator
{
    // u32 as in tcp_sock; tcp_rtt_estimator() computes in a long and stores the low 32 bits, as the kernel's does (none of
    // these is negative: mdev_us and rttvar_us lose at most a quarter of themselves per update).
    uint _srttUs, _mdevUs, _mdevMaxUs, _rttvarUs;
    /// <summary>tp->srtt_us: the smoothed RTT in µs, scaled by 8 (0: no sample yet).</summary>
    public long SrttUs { readonly get => _srttUs; set => _srttUs = unchecked((uint)value); }
    /// <summary>tp->mdev_us: the mean deviation (scaled by 4).</summary>
    public long MdevUs { readonly get => _mdevUs; set => _mdevUs = unchecked((uint)value); }
    /// <summary>tp->mdev_max_us: the largest mdev of the current window of data.</summary>
    public long MdevMaxUs { readonly get => _mdevMaxUs; set => _mdevMaxUs = unchecked((uint)value); }
    /// <summary>tp->rttvar_us: the variance that feeds the RTO.</summary>
    public long RttvarUs { readonly get => _rttvarUs; set => _rttvarUs = unchecked((uint)value); }
    /// <summary>tp->rtt_seq: snd_nxt when mdev_max was last reset (once per window of data).</summary>
    public uint RttSeq;
    /// <summary>tp->rtt_min: the windowed minimum RTT in µs (tcp_min_rtt(); RACK's reordering window is a quarter of it).</summary>
    public WinMinMax RttMin;
}

/// <summary>
/// The retransmission and probe state of struct inet_connection_sock: icsk_rto, icsk_rto_min/max here; icsk_backoff,
/// icsk_retransmits, icsk_probes_out and icsk_probes_tstamp in a <see cref="RetransmitCounts"/> made by the first write of a
/// value other than 0 (an RTO, a zero-window or keepalive probe): a connection that never timed out or probed reads 0.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct ConnectionTimers
{
    /// <summary>icsk_rto: the current retransmission timeout (before backoff).</summary>
    public SimDuration Rto;
    /// <summary>
    /// icsk_rto_min: this socket's RTO floor in whole jiffies — tcp_init_sock() takes usecs_to_jiffies(net.ipv4.tcp_rto_min_us)
    /// when the socket is made, a child copies its listener's (inet_csk_clone_lock()); tcp_rto_min() reads it.
    /// </summary>
    public SimDuration RtoMin
    {
        readonly get => Jiffies.ToDuration(_rtoMinJiffies);
        set => _rtoMinJiffies = (uint)Jiffies.FromDuration(value);
    }
    /// <summary>
    /// icsk_rto_max: this socket's RTO ceiling — tcp_init_sock() takes msecs_to_jiffies(net.ipv4.tcp_rto_max_ms) (6.15+;
    /// linux-4.4: TCP_RTO_MAX), a child copies its listener's; tcp_rto_max() reads it.
    /// </summary>
    public SimDuration RtoMax
    {
        readonly get => Jiffies.ToDuration(_rtoMaxJiffies);
        set => _rtoMaxJiffies = (uint)Jiffies.FromDuration(value);
    }
    /// <summary>Both are whole jiffies (every writer rounds to them), kept as the kernel's u32 jiffies: 8 bytes where two durations take 16.</summary>
    uint _rtoMinJiffies, _rtoMaxJiffies;
    /// <summary>The back-off and probe counts, or null while all are 0.</summary>
    RetransmitCounts? _counts;

    /// <summary>The counts to write to: made for a value other than 0, else only if they exist.</summary>
    RetransmitCounts? Counts(bool nonZero) => _counts ?? (nonZero ? _counts = new RetransmitCounts() : null);

    /// <summary>Whether the counts were made.</summary>
    public readonly bool HasCounts => _counts is not null;

    /// <summary>icsk_backoff: how many times the RTO has been doubled.</summary>
    public int Backoff
    {
        readonly get => _counts?.Backoff ?? 0;
        set { if (Counts(value != 0) is { } c) c.Backoff = value; }
    }
    /// <summary>icsk_retransmits: consecutive retransmission timeouts without progress.</summary>
    public int Retransmits
    {
        readonly get => _counts?.Retransmits ?? 0;
        set { if (Counts(value != 0) is { } c) c.Retransmits = value; }
    }
    /// <summary>icsk_probes_out: unanswered zero-window or keepalive probes.</summary>
    public int ProbesOut
    {
        readonly get => _counts?.ProbesOut ?? 0;
        set { if (Counts(value != 0) is { } c) c.ProbesOut = value; }
    }
    /// <summary>icsk_probes_tstamp: when the first unanswered probe of the series went out (valid when <see cref="ProbesStampSet"/>).</summary>
    public SimTime ProbesStamp
    {
        readonly get => _counts?.ProbesStamp ?? default;
        set { if (Counts(value != default) is { } c) c.ProbesStamp = value; }
    }
    /// <summary>Whether <see cref="ProbesStamp"/> is set (icsk_probes_tstamp is non-zero).</summary>
    public bool ProbesStampSet
    {
        readonly get => _counts?.ProbesStampSet ?? false;
        set { if (Counts(value) is { } c) c.ProbesStampSet = value; }
    }
}

/// <summary>icsk_backoff, icsk_retransmits, icsk_probes_out, icsk_probes_tstamp (<see cref="ConnectionTimers"/>'s properties of the same names read and write them).</summary>
internal sealed class RetransmitCounts
{
    /// <summary>icsk_backoff: how many times the RTO has been doubled.</summary>
    public int Backoff;
    /// <summary>icsk_retransmits: consecutive retransmission timeouts without progress.</summary>
    public int Retransmits;
    /// <summary>icsk_probes_out: unanswered zero-window or keepalive probes.</summary>
    public int ProbesOut;
    /// <summary>icsk_probes_tstamp: when the first unanswered probe of the series went out (valid when <see cref="ProbesStampSet"/>).</summary>
    public SimTime ProbesStamp;
    /// <summary>Whether <see cref="ProbesStamp"/> is set (icsk_probes_tstamp is non-zero).</summary>
    public bool ProbesStampSet;
}

/// <summary>struct inet_connection_sock's icsk_ack: delayed-ACK state (quick ACKs, ping-pong mode, ato, a pending ACK).</summary>
[StructLayout(LayoutKind.Auto)]
internal struct DelayedAck
{
    /// <summary>icsk_ack.quick: how many more segments are ACKed at once (quick-ACK mode).</summary>
    public int Quick;
    /// <summary>
    /// icsk_ack.pingpong: the count of quick replies (tcp_event_data_sent()); interactive mode (ACKs wait to ride on
    /// data) from net.ipv4.tcp_pingpong_thresh on — use the socket's InPingPongMode.
    /// </summary>
    public byte PingPong;
    /// <summary>icsk_ack.ato: the delayed-ACK timeout.</summary>
    public SimDuration Ato;
    /// <summary>icsk_ack.pending & ICSK_ACK_SCHED: an ACK is due.</summary>
    public bool Scheduled;
    /// <summary>icsk_ack.last_seg_size.</summary>
    public int LastSegSize;
    /// <summary>ICSK_ACK_PUSHED / ICSK_ACK_PUSHED2 of icsk_ack.pending, cleared with every ACK sent.</summary>
    public bool Pushed, Pushed2;
    /// <summary>ICSK_ACK_NOW of icsk_ack.pending: "Protocol state mandates a one-time immediate ACK" (a filled hole).</summary>
    public bool Now;
    /// <summary>ICSK_ACK_NOMEM of icsk_ack.pending: tcp_data_queue() had no receive memory for in-order text — the next ACK offers a zero window.</summary>
    public bool NoMem;
}

/// <summary>
/// SACK compression's part of struct tcp_sock (4.20+): tp->compressed_ack (ACKs held back), compressed_ack_rcv_nxt and
/// dup_ack_counter (the first TCP_FASTRETRANS_THRESH duplicate ACKs for one rcv_nxt go at once), and
/// compressed_ack_timer, an hrtimer. Only a receiver with out-of-order data ever holds an ACK back
/// (__tcp_ack_snd_check()), so a socket makes this on the first ACK it considers compressing, and most
/// sockets never do: until then compressed_ack is 0 and the hrtimer idle.
/// </summary>
internal sealed class SackCompression
{
    /// <summary>tp->compressed_ack.</summary>
    public int Count;
    /// <summary>tp->compressed_ack_rcv_nxt: the rcv_nxt <see cref="DupAckCounter"/> counts for.</summary>
    public uint RcvNxt;
    /// <summary>tp->dup_ack_counter: ACKs sent at once for <see cref="RcvNxt"/> (at most TCP_FASTRETRANS_THRESH).</summary>
    public int DupAckCounter;
    /// <summary>tp->compressed_ack_timer.</summary>
    public TimerState Timer;
}

/// <summary>tp->rcvq_space: what the application read per RTT, the measure tcp_rcv_space_adjust() grows sk_rcvbuf from.</summary>
[StructLayout(LayoutKind.Auto)]
internal struct ReceiveSpace
{
    /// <summary>rcvq_space.space: bytes per RTT.</summary>
    public long Space;
    /// <summary>rcvq_space.seq: copied_seq at the last measure (kept as bytes read).</summary>
    public long Copied;
    /// <summary>rcvq_space.time: when it was taken.</summary>
    public SimTime Time;
}

/// <summary>tp->rcv_rtt_est and tp->rcv_rtt_last_tsecr: the receiver's own RTT estimate (tcp_rcv_rtt_measure(), tcp_rcv_rtt_measure_ts()).</summary>
[StructLayout(LayoutKind.Auto)]
internal struct ReceiverRtt
{
    /// <summary>rcv_rtt_est.rtt_us, scaled by 8.</summary>
    public long RttUs8;
    /// <summary>rcv_rtt_est.seq: the sequence that ends the window-based measure.</summary>
    public uint Seq;
    /// <summary>rcv_rtt_est.time: when the window-based measure began (null: none yet).</summary>
    public SimTime? Time
    {
        readonly get => _timeNs1 == 0 ? null : new SimTime(_timeNs1 - 1);
        set => _timeNs1 = value is { } t ? t.Ns + 1 : 0;
    }
    /// <summary><see cref="Time"/> in nanoseconds plus one, 0 for none: 8 bytes where a <c>SimTime?</c> takes 16.</summary>
    long _timeNs1;
    /// <summary>tp->rcv_rtt_last_tsecr: the TSecr of the last timestamp-based measure.</summary>
    public uint LastTsecr;
}

/// <summary>
/// Congestion and loss-recovery state (struct tcp_sock / inet_connection_sock): snd_cwnd, snd_ssthresh, icsk_ca_state and
/// tp->reordering here; high_seq, the scoreboard counts (sacked_out, lost_out, retrans_out), PRR, F-RTO, undo, the TLP and the
/// D-SACK counts in a <see cref="LossScoreboard"/> made by the first write of a value other than 0 (false) to any of them.
/// A connection that never lost, SACKed, probed or undid anything has none: each reads 0 (false) through its property, and
/// writing 0 (false) to an absent one makes nothing.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct CongestionState
{
    /// <summary>tp->snd_cwnd, in segments.</summary>
    public int Cwnd;
    /// <summary>tp->snd_ssthresh, in segments.</summary>
    public int Ssthresh;
    /// <summary>icsk_ca_state: Open, Disorder, CWR, Recovery or Loss (tcp_fastretrans_alert()).</summary>
    public CaState State;
    /// <summary>
    /// tp->reordering: the reordering degree in segments — tcp_reordering (3) until tcp_check_sack_reordering() or
    /// tcp_check_reno_reordering() raise it (at most tcp_max_reordering, 300); tcp_enter_loss() may lower it again.
    /// </summary>
    public uint Reordering;
    /// <summary>The loss-recovery scoreboard, or null while every count in it is 0.</summary>
    LossScoreboard? _board;

    /// <summary>The scoreboard to write <paramref name="nonZero"/> to: made for a value other than 0, else only if it exists.</summary>
    LossScoreboard? Board(bool nonZero) => _board ?? (nonZero ? _board = new LossScoreboard() : null);

    /// <summary>Whether the scoreboard was made (tests: a clean connection makes none).</summary>
    public readonly bool HasScoreboard => _board is not null;
    /// <summary>tp->high_seq: snd_nxt when Recovery, Loss or CWR began (and where Disorder/Open last changed).</summary>
    public uint HighSeq
    {
        readonly get => _board?.HighSeq ?? 0;
        set { if (Board(value != 0) is { } b) b.HighSeq = value; }
    }
    /// <summary>tp->sacked_out: SACKed segments — without SACK, the duplicate ACKs counted (tcp_add_reno_sack()).</summary>
    public int SackedOut
    {
        readonly get => _board?.SackedOut ?? 0;
        set { if (Board(value != 0) is { } b) b.SackedOut = value; }
    }
    /// <summary>tp->lost_out: segments marked TCPCB_LOST.</summary>
    public int LostOut
    {
        readonly get => _board?.LostOut ?? 0;
        set { if (Board(value != 0) is { } b) b.LostOut = value; }
    }
    /// <summary>tp->retrans_out: retransmissions in flight (TCPCB_SACKED_RETRANS).</summary>
    public int RetransOut
    {
        readonly get => _board?.RetransOut ?? 0;
        set { if (Board(value != 0) is { } b) b.RetransOut = value; }
    }
    /// <summary>tp->lost: every segment ever marked lost (tcp_notify_skb_loss_event()); an ACK's rs->losses is its growth.</summary>
    public long Lost
    {
        readonly get => _board?.Lost ?? 0;
        set { if (Board(value != 0) is { } b) b.Lost = value; }
    }
    /// <summary>tp->reord_seen: reordering events seen (tcp_check_sack_reordering(), tcp_check_reno_reordering()).</summary>
    public int ReordSeen
    {
        readonly get => _board?.ReordSeen ?? 0;
        set { if (Board(value != 0) is { } b) b.ReordSeen = value; }
    }
    /// <summary>
    /// tcp_highest_sack_seq() while sacked_out is non-zero: the end of the highest SACKed segment (the seq of
    /// tp->highest_sack, the segment after it — snd_nxt when it was the last one).
    /// </summary>
    public uint HighestSack
    {
        readonly get => _board?.HighestSack ?? 0;
        set { if (Board(value != 0) is { } b) b.HighestSack = value; }
    }
    /// <summary>tp->prr_delivered: segments delivered since the cwnd reduction began (PRR, RFC 6937).</summary>
    public int PrrDelivered
    {
        readonly get => _board?.PrrDelivered ?? 0;
        set { if (Board(value != 0) is { } b) b.PrrDelivered = value; }
    }
    /// <summary>tp->prr_out: segments sent since the cwnd reduction began.</summary>
    public int PrrOut
    {
        readonly get => _board?.PrrOut ?? 0;
        set { if (Board(value != 0) is { } b) b.PrrOut = value; }
    }
    /// <summary>tp->frto: F-RTO (RFC 5682) is judging the current RTO.</summary>
    public bool Frto
    {
        readonly get => _board?.Frto ?? false;
        set { if (Board(value) is { } b) b.Frto = value; }
    }
    /// <summary>A tail loss probe is out and not yet acknowledged (tp->tlp_high_seq != 0).</summary>
    public bool TlpOutstanding
    {
        readonly get => _board?.TlpOutstanding ?? false;
        set { if (Board(value) is { } b) b.TlpOutstanding = value; }
    }
    /// <summary>tp->tlp_high_seq: snd_nxt when the loss probe went out; no other probe until it is acknowledged.</summary>
    public uint TlpHighSeq
    {
        readonly get => _board?.TlpHighSeq ?? 0;
        set { if (Board(value != 0) is { } b) b.TlpHighSeq = value; }
    }
    /// <summary>tp->tlp_retrans: the probe was a retransmission (not new data).</summary>
    public bool TlpRetrans
    {
        readonly get => _board?.TlpRetrans ?? false;
        set { if (Board(value) is { } b) b.TlpRetrans = value; }
    }
    /// <summary>
    /// tp->undo_marker: snd_una when the loss episode began (tcp_init_undo() from tcp_enter_loss()), 0 when
    /// there is nothing to undo. Read by tcp_init_transfer() to tell a handshake whose SYN timed out.
    /// </summary>
    public uint UndoMarker
    {
        readonly get => _board?.UndoMarker ?? 0;
        set { if (Board(value != 0) is { } b) b.UndoMarker = value; }
    }
    /// <summary>
    /// tp->undo_retrans: retransmissions of this episode not yet reported back as duplicates by a D-SACK;
    /// −1 when the episode began with none in flight (tcp_init_undo(): "avoid 0, because undo_retrans==0
    /// means can undo now"); each retransmission adds one, each D-SACKed one takes one away.
    /// </summary>
    public int UndoRetrans
    {
        readonly get => _board?.UndoRetrans ?? 0;
        set { if (Board(value != 0) is { } b) b.UndoRetrans = value; }
    }
    /// <summary>tp->prior_ssthresh: tcp_current_ssthresh() when the episode began (0: nothing to restore).</summary>
    public int PriorSsthresh
    {
        readonly get => _board?.PriorSsthresh ?? 0;
        set { if (Board(value != 0) is { } b) b.PriorSsthresh = value; }
    }
    /// <summary>tp->prior_cwnd: snd_cwnd when the cwnd reduction began (tcp_init_cwnd_reduction()).</summary>
    public int PriorCwnd
    {
        readonly get => _board?.PriorCwnd ?? 0;
        set { if (Board(value != 0) is { } b) b.PriorCwnd = value; }
    }
    /// <summary>tp->dsack_dups: segments the peer reported as duplicates by D-SACK (tcp_dsack_seen()).</summary>
    public int DsackDups
    {
        readonly get => _board?.DsackDups ?? 0;
        set { if (Board(value != 0) is { } b) b.DsackDups = value; }
    }
}

/// <summary>
/// The loss-recovery part of <see cref="CongestionState"/> (fields of struct tcp_sock in the kernel): what only a connection that
/// lost, SACKed, sent a loss probe, entered CWR or undid a reduction ever sets. Made on first use, as the socket's other side objects.
/// </summary>
internal sealed class LossScoreboard
{
    /// <summary>tp->high_seq: snd_nxt when Recovery, Loss or CWR began (and where Disorder/Open last changed).</summary>
    public uint HighSeq;
    /// <summary>tp->sacked_out: SACKed segments — without SACK, the duplicate ACKs counted (tcp_add_reno_sack()).</summary>
    public int SackedOut;
    /// <summary>tp->lost_out: segments marked TCPCB_LOST.</summary>
    public int LostOut;
    /// <summary>tp->retrans_out: retransmissions in flight (TCPCB_SACKED_RETRANS).</summary>
    public int RetransOut;
    /// <summary>tp->lost: every segment ever marked lost (tcp_notify_skb_loss_event()); an ACK's rs->losses is its growth.</summary>
    public long Lost;
    /// <summary>tp->reord_seen: reordering events seen (tcp_check_sack_reordering(), tcp_check_reno_reordering()).</summary>
    public int ReordSeen;
    /// <summary>
    /// tcp_highest_sack_seq() while sacked_out is non-zero: the end of the highest SACKed segment (the seq of
    /// tp->highest_sack, the segment after it — snd_nxt when it was the last one).
    /// </summary>
    public uint HighestSack;
    /// <summary>tp->prr_delivered: segments delivered since the cwnd reduction began (PRR, RFC 6937).</summary>
    public int PrrDelivered;
    /// <summary>tp->prr_out: segments sent since the cwnd reduction began.</summary>
    public int PrrOut;
    /// <summary>tp->frto: F-RTO (RFC 5682) is judging the current RTO.</summary>
    public bool Frto;
    /// <summary>A tail loss probe is out and not yet acknowledged (tp->tlp_high_seq != 0).</summary>
    public bool TlpOutstanding;
    /// <summary>tp->tlp_high_seq: snd_nxt when the loss probe went out; no other probe until it is acknowledged.</summary>
    public uint TlpHighSeq;
    /// <summary>tp->tlp_retrans: the probe was a retransmission (not new data).</summary>
    public bool TlpRetrans;
    /// <summary>
    /// tp->undo_marker: snd_una when the loss episode began (tcp_init_undo() from tcp_enter_loss()), 0 when
    /// there is nothing to undo. Read by tcp_init_transfer() to tell a handshake whose SYN timed out.
    /// </summary>
    public uint UndoMarker;
    /// <summary>
    /// tp->undo_retrans: retransmissions of this episode not yet reported back as duplicates by a D-SACK;
    /// −1 when the episode began with none in flight (tcp_init_undo(): "avoid 0, because undo_retrans==0
    /// means can undo now"); each retransmission adds one, each D-SACKed one takes one away.
    /// </summary>
    public int UndoRetrans;
    /// <summary>tp->prior_ssthresh: tcp_current_ssthresh() when the episode began (0: nothing to restore).</summary>
    public int PriorSsthresh;
    /// <summary>tp->prior_cwnd: snd_cwnd when the cwnd reduction began (tcp_init_cwnd_reduction()).</summary>
    public int PriorCwnd;
    /// <summary>tp->dsack_dups: segments the peer reported as duplicates by D-SACK (tcp_dsack_seen()).</summary>
    public int DsackDups;
}

/// <summary>
/// struct tcp_rack (tp->rack): the most recently sent segment known delivered. Its reordering-window adaptation
/// (reo_wnd_steps, reo_wnd_persist, dsack_seen, last_delivered) is a <see cref="RackReoWnd"/> made by the first write of a
/// value other than its initial one (tcp_rack_update_reo_wnd() after a D-SACK, tcp_rack_reo_timeout()'s recoveries):
/// until then each reads as tcp_init_sock() left it (reo_wnd_steps 1, the rest 0).
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct RackState
{
    /// <summary>rack.mstamp: its send time, and the clock read it was sent at (InFlight.SentEpoch).</summary>
    public SimTime SentAt;
    public long SentEpoch;
    /// <summary>rack.rtt_us: its RTT.</summary>
    public long RttUs;
    /// <summary>rack.end_seq: its end, the tie-break between segments sent at the same time (tcp_rack_sent_after()).</summary>
    public uint EndSeq;
    /// <summary>rack.advanced: something was (S)ACKed since tcp_rack_mark_lost() last looked.</summary>
    public bool Advanced;
    /// <summary>The tail of tp->tsorted_sent_queue: the last <see cref="TcpSocket"/> transmission's position (InFlight.TsortedPos).</summary>
    public long TsortedTail;
    /// <summary>The reordering-window adaptation, or null while it is as tcp_init_sock() left it.</summary>
    RackReoWnd? _reo;

    /// <summary>The adaptation to write to: made for a value other than the initial one, else only if it exists.</summary>
    RackReoWnd? Reo(bool changed) => _reo ?? (changed ? _reo = new RackReoWnd() : null);

    /// <summary>Whether the adaptation was made.</summary>
    public readonly bool HasReo => _reo is not null;

    /// <summary>rack.reo_wnd_steps: the reordering window in min_rtt / 4 steps (1 at tcp_init_sock(), at most 255).</summary>
    public int ReoWndSteps
    {
        readonly get => _reo?.ReoWndSteps ?? 1;
        set { if (Reo(value != 1) is { } r) r.ReoWndSteps = value; }
    }
    /// <summary>rack.reo_wnd_persist: recoveries the widened window is kept for (TCP_RACK_RECOVERY_THRESH 16).</summary>
    public int ReoWndPersist
    {
        readonly get => _reo?.ReoWndPersist ?? 0;
        set { if (Reo(value != 0) is { } r) r.ReoWndPersist = value; }
    }
    /// <summary>rack.dsack_seen: a D-SACK came after reordering was seen; tcp_rack_update_reo_wnd() widens the window.</summary>
    public bool DsackSeen
    {
        readonly get => _reo?.DsackSeen ?? false;
        set { if (Reo(value) is { } r) r.DsackSeen = value; }
    }
    /// <summary>rack.last_delivered: tp->delivered when the window was last widened (once per round trip).</summary>
    public long LastDelivered
    {
        readonly get => _reo?.LastDelivered ?? 0;
        set { if (Reo(value != 0) is { } r) r.LastDelivered = value; }
    }

    /// <summary>
    /// tcp_disconnect() — net/ipv4/tcp.c: rack.mstamp 0, advanced 0, and the reordering window as tcp_init_sock() left
    /// it (reo_wnd_steps 1, last_delivered, reo_wnd_persist and dsack_seen 0); rtt_us and end_seq are kept.
    /// </summary>
    public void Disconnect()
    {
        SentAt = default;
        SentEpoch = 0;
        Advanced = false;
        _reo = null;
    }
}

/// <summary>tp->rack's reordering-window adaptation (<see cref="RackState"/>'s properties of the same names read and write it).</summary>
internal sealed class RackReoWnd
{
    /// <summary>rack.reo_wnd_steps: the reordering window in min_rtt / 4 steps (1 at tcp_init_sock(), at most 255).</summary>
    public int ReoWndSteps = 1;
    /// <summary>rack.reo_wnd_persist: recoveries the widened window is kept for (TCP_RACK_RECOVERY_THRESH 16).</summary>
    public int ReoWndPersist;
    /// <summary>rack.dsack_seen: a D-SACK came after reordering was seen; tcp_rack_update_reo_wnd() widens the window.</summary>
    public bool DsackSeen;
    /// <summary>rack.last_delivered: tp->delivered when the window was last widened (once per round trip).</summary>
    public long LastDelivered;
}
