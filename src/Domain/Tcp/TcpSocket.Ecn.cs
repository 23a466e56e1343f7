using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// Classic ECN (RFC 3168) as Linux negotiates it (include/net/tcp_ecn.h, net/ipv4/tcp_output.c): tp->ecn_flags'
/// TCP_ECN_OK (negotiated) and TCP_ECN_QUEUE_CWR (a cwnd reduction not yet signalled). Nothing in the engine marks a
/// packet CE, so TCP_ECN_DEMAND_CWR is never set and no ECE follows the handshake; the IP header's ECT(0) codepoint
/// on new data (INET_ECN_xmit()) is not carried by a segment.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>tp->ecn_flags: TCP_ECN_OK, TCP_ECN_QUEUE_CWR.</summary>
    [Flags]
    enum EcnFlags : byte
    {
        None = 0,
        Ok = 1,
        QueueCwr = 2,
    }

    EcnFlags _ecn;
    /// <summary>The ECE|CWR bits of the queued SYN skb's TCP_SKB_CB(skb)->tcp_flags (tcp_ecn_clear_syn() strips them).</summary>
    TcpFlags _synEcn;

    const TcpFlags SynEcn = TcpFlags.Ece | TcpFlags.Cwr;

    /// <summary>
    /// The ECN bits __tcp_transmit_skb() puts on a segment. A SYN: tcp_ecn_send_syn() at connect() (ecn_flags reset;
    /// ECE|CWR and TCP_ECN_OK at tcp_ecn 1 — cubic is not tcp_ca_needs_ecn(), so 2 does not ask), and on a
    /// retransmission __tcp_retransmit_skb() → tcp_ecn_clear_syn() strips them for good under tcp_ecn_fallback (the
    /// flags stay asked-for in ecn_flags until the SYN-ACK). A crossed SYN's SYN-ACK: tcp_ecn_send_synack() drops CWR,
    /// and ECE unless ECN is still on. Anything else: tcp_ecn_send() — with ECN on, new data (a payload at or past
    /// snd_nxt, the TSO chunk's first segment: tcp_gso_segment() clears CWR on the others) takes a queued CWR.
    /// </summary>
    TcpFlags EcnSend(TcpFlags flags, uint seq, int len, bool syn, bool retransmit, bool gso)
    {
        if (syn)
        {
            if (flags.Has(TcpFlags.Ack))
            {
                _synEcn &= (_ecn & EcnFlags.Ok) != 0 ? TcpFlags.Ece : TcpFlags.None;
            }
            else if (!retransmit)
            {
                bool useEcn = Host.Sysctls.TcpEcn == 1;
                _ecn = useEcn ? EcnFlags.Ok : EcnFlags.None;
                _synEcn = useEcn ? SynEcn : TcpFlags.None;
            }
            else if (_synEcn == SynEcn && Host.Sysctls.TcpEcnFallback)
            {
                _synEcn = TcpFlags.None;
            }
            return flags | _synEcn;
        }
        if ((_ecn & EcnFlags.QueueCwr) != 0 && (_ecn & EcnFlags.Ok) != 0 && len > 0 && !gso && !SeqMath.Before(seq, _snd.Nxt))
        {
            _ecn &= ~EcnFlags.QueueCwr;
            return flags | TcpFlags.Cwr;
        }
        return flags;
    }

    /// <summary>tcp_ecn_queue_cwr(): from tcp_init_cwnd_reduction() and tcp_enter_loss(), when ECN is on.</summary>
    void EcnQueueCwr()
    {
        if ((_ecn & EcnFlags.Ok) != 0) _ecn |= EcnFlags.QueueCwr;
    }

    /// <summary>tcp_ecn_withdraw_cwr(): tcp_undo_cwnd_reduction() raised ssthresh back, so the reduction is not signalled.</summary>
    void EcnWithdrawCwr() => _ecn &= ~EcnFlags.QueueCwr;

    /// <summary>tcp_ecn_rcv_synack(): the SYN-ACK agrees to ECN with ECE and no CWR, or ECN is off.</summary>
    void EcnRcvSynAck(Segment synAck)
    {
        if ((_ecn & EcnFlags.Ok) != 0 && (!synAck.Has(TcpFlags.Ece) || synAck.Has(TcpFlags.Cwr))) _ecn &= ~EcnFlags.Ok;
    }

    /// <summary>tcp_ecn_rcv_syn(): a crossed SYN that does not ask for ECN (ECE and CWR) turns it off.</summary>
    void EcnRcvSyn(Segment syn)
    {
        if ((_ecn & EcnFlags.Ok) != 0 && !syn.Has(SynEcn)) _ecn &= ~EcnFlags.Ok;
    }

    /// <summary>
    /// tcp_ecn_accept_cwr() from tcp_data_queue(): with ECN on, a segment with CWR and data is ACKed at once (ICSK_ACK_NOW:
    /// "the sender ... may be very low (even just 1 packet)", 5.1+; linux-4.4 only forgets TCP_ECN_DEMAND_CWR, never set here).
    /// </summary>
    void EcnAcceptCwr(Segment seg)
    {
        if ((_ecn & EcnFlags.Ok) != 0 && seg.Has(TcpFlags.Cwr) && seg.Seq != seg.EndSeq && _sim.Profile == KernelProfile.Linux6)
            AckToWrite.Now = true;
    }

    /// <summary>
    /// tcp_ecn_create_request() — net/ipv4/tcp_input.c: a SYN asking for ECN (ECE and CWR) is agreed to (ireq->ecn_ok) when
    /// the listener's tcp_ecn is not 0 — its IP header is never ECT here (no route feature, cubic needs no ECN).
    /// </summary>
    internal static bool EcnCreateRequest(Host host, Segment syn) => syn.Has(SynEcn) && host.Sysctls.TcpEcn != 0;

    /// <summary>tcp_ecn_openreq_child(): the child of a request that agreed to ECN has it on.</summary>
    void EcnOpenreqChild(bool ecnOk) => _ecn = ecnOk ? EcnFlags.Ok : EcnFlags.None;
}
