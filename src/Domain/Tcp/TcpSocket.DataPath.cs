using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// What a socket holds only once it moves data: the write and receive queues' skbs and memory accounting, the
/// delayed-ACK timer, the receiver's RTT estimate and tcp_info's data counts. In the kernel they are fields of
/// struct sock (sk_write_queue, sk_receive_queue, sk_wmem_queued, sk_forward_alloc), inet_connection_sock
/// (icsk_ack, icsk_delack_timer) and tcp_sock (rcv_rtt_est, data_segs_in/out, bytes_sent); here they live in a
/// <see cref="DataPath"/> made by the first write of a value other than 0 (null) to one of them, so a connection
/// that is only opened and held — a pool, a proxy's idle backends — carries one null reference instead: a reader takes
/// 0 or null from an absent one (<c>_data?.Copied ?? 0</c>), the paths that move data write through
/// <see cref="DataToWrite"/>, and the writes that may be 0 (null) — a reset, a charge of nothing — through
/// <see cref="Data"/>, which makes nothing for them. The object stays with the
/// socket object across slab reuse (<see cref="Init"/> resets it), so a churn of connections that move data makes
/// one per socket object, not one per connection.
/// </summary>
public sealed partial class TcpSocket
{
    DataPath? _data;

    /// <summary>The data path to write <paramref name="nonZero"/> to: made for a value other than 0, else only if it exists.</summary>
    DataPath? Data(bool nonZero) => _data ?? (nonZero ? MakeDataPath() : null);

    /// <summary>Whether the data path was made (tests: a connection only opened and held makes none).</summary>
    internal bool HasDataPath => _data is not null;

    /// <summary>The data path, made if absent (a delayed ACK armed, data received).</summary>
    DataPath DataToWrite => _data ?? MakeDataPath();

    /// <summary>The data path made, and counted in its host's <see cref="Host.SocketsWithDataPath"/> while the socket is allocated.</summary>
    DataPath MakeDataPath()
    {
        _data = new DataPath();
        if (HostSlot >= 0) Host.SocketsWithDataPath++;
        return _data;
    }

    /// <summary>sk->sk_wmem_queued: the truesize of every skb in the write and retransmission queues (the <c>w</c> of <c>ss -m</c>'s skmem).</summary>
    public long WmemQueued => _data?.WmemQueued ?? 0;
    /// <summary>icsk_ack as a reader sees it: a new socket's (<see cref="NoAck"/>) while there is no data path.</summary>
    ref readonly DelayedAck Ack => ref _data is { } data ? ref data.Ack : ref NoAck;
    /// <summary>icsk_ack to write: an ACK scheduled or sent for received data, ping-pong counted for data sent.</summary>
    ref DelayedAck AckToWrite => ref DataToWrite.Ack;
    /// <summary>tcp_init_sock()'s icsk_ack: zeroed (never written).</summary>
    static readonly DelayedAck NoAck;

    /// <summary>rcv_rtt_est.rtt_us (scaled by 8): 0 until the receiver measured one.</summary>
    long RcvRttUs8 => _data?.RcvRtt.RttUs8 ?? 0;

    sealed class DataPath
    {
        /// <summary>The write and retransmission queues as skbs: [Seq, End) with the FIN, and truesize.</summary>
        public List<SndSkb>? SndSkbs;
        /// <summary>sk->sk_wmem_queued.</summary>
        public long WmemQueued;
        /// <summary>Bytes this socket charges to the host's TCP memory (sk_wmem_queued + sk_rmem_alloc, as truesize).</summary>
        public long MemCharged;
        /// <summary>Segments of the TSO chunk being sent that are already on a link other than lo (<see cref="TransmitChunkPiece"/>).</summary>
        public int ChunkPiecesSent;
        /// <summary>sk_receive_queue: payload not yet read and truesize of each skb (a FIN-only skb has no payload).</summary>
        public List<RcvSkb>? RcvQueue;
        /// <summary>sk_rmem_alloc of the receive queue (the out-of-order queue's is added by <see cref="RmemAlloc"/>).</summary>
        public long RcvQueueTruesize;
        /// <summary>Payload bytes the application has read (copied_seq − irs − 1, without the FIN).</summary>
        public long Copied;
        /// <summary>sk->sk_forward_alloc: bytes scheduled (in pages) and not yet charged to an skb.</summary>
        public long FwdAlloc;
        /// <summary>The sk_rmem_alloc already charged to <see cref="FwdAlloc"/> (<see cref="SyncRmemCharge"/>).</summary>
        public long RmemCharged;
        /// <summary>tp->bytes_sent (u64): payload bytes sent, retransmissions included (__tcp_transmit_skb()).</summary>
        public long BytesSent;
        /// <summary>tp->data_segs_out and tp->data_segs_in (u32): segments sent and received with payload (__tcp_transmit_skb(), tcp_segs_in()).</summary>
        public uint DataSegsOut, DataSegsIn;
        /// <summary>icsk_ack but for lrcvtime and rcv_mss (the socket's own).</summary>
        public DelayedAck Ack;
        /// <summary>icsk_delack_timer.</summary>
        public TimerState DelackTimer;
        /// <summary>When the timer_list of a cleared delayed-ACK timer runs (see <see cref="_xmitTimerListUntil"/>).</summary>
        public SimTime DelackTimerListUntil;
        /// <summary>tp->rcv_rtt_est and tp->rcv_rtt_last_tsecr.</summary>
        public ReceiverRtt RcvRtt;
        /// <summary>sk->sk_drops: the segments this socket dropped (<see cref="Drop"/>, <see cref="ListenDrop"/>).</summary>
        public uint Drops;

        /// <summary>
        /// A new socket's values (zeroed by sk_alloc()), for an object taken again from the free list. The delayed-ACK timer
        /// keeps its generation (<see cref="TimerState.Recycle"/>), as the socket's own embedded timer does.
        /// </summary>
        public void Reset()
        {
            DelackTimer.Recycle();
            Ack = default;
            DelackTimerListUntil = default;
            RcvRtt = default;
            SndSkbs = null;
            RcvQueue = null;
            WmemQueued = MemCharged = RcvQueueTruesize = Copied = FwdAlloc = RmemCharged = BytesSent = 0;
            DataSegsOut = DataSegsIn = Drops = 0;
            ChunkPiecesSent = 0;
        }
    }
}
