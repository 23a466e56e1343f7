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

    /// <summary>
    /// tcp_ecn_rcv_synack(), called by tcp_rcv_synsent_state_process() when the SYN asked for ECN. linux-4.4: ECN stays on
    /// with ECE and no CWR, else it is off. 6.18 switches on ACE = AE|CWR|ECE (include/net/tcp_ecn.h): 0 or 7 turn ECN
    /// off, 1 or 5 keep RFC 3168 mode, and 2, 3, 4, 6 enter TCP_ECN_MODE_ACCECN whatever the SYN asked — the handshake
    /// ACK then reflects the SYN-ACK's IP codepoint in ACE (tcp_accecn_set_ace(): not-ECT → CWR) and later segments carry
    /// the CE counter in AE|CWR|ECE. The engine has no AE flag nor AccECN: a SYN-ACK with CWR (ACE 2 or 3) is refused
    /// where a script or an injection writes one (<see cref="AccEcnSynAckRefused"/>), and marks the run as having left
    /// the model should one arrive otherwise.
    /// </summary>
    void EcnRcvSynAck(Segment synAck)
    {
        if ((_ecn & EcnFlags.Ok) == 0) return;
        if (_sim.Profile == KernelProfile.Linux6 && synAck.Has(TcpFlags.Cwr))
            _sim.LeaveModel(Host.Name, Tuple.ToString(), "D169", "tcp_ecn_rcv_synack() would enter AccECN mode (TCP_ECN_MODE_ACCECN) on a SYN-ACK with CWR");
        if (!synAck.Has(TcpFlags.Ece) || synAck.Has(TcpFlags.Cwr)) _ecn &= ~EcnFlags.Ok;
    }

    /// <summary>Why a scripted or injected SYN-ACK with CWR is refused (<see cref="EcnRcvSynAck"/>).</summary>
    internal const string AccEcnSynAckRefused = "CWR on an inbound SYN-ACK: to a client that asked for ECN, Linux 6.18's "
        + "tcp_ecn_rcv_synack() reads ACE 0b010/0b011 as AccECN and enters TCP_ECN_MODE_ACCECN, which is not modelled (docs/kernel-check.md D169)";

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
