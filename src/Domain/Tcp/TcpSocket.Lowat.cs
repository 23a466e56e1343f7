using SimService.Domain.Engine;

namespace SimService.Domain.Tcp;

/// <summary>
/// The low-water marks: SO_RCVLOWAT (sk->sk_rcvlowat — when a read returns and POLLIN is reported, and when the
/// receive path wakes the reader at all) and TCP_NOTSENT_LOWAT (tp->notsent_lowat — how many unsent bytes the
/// socket holds before send() sleeps and POLLOUT is withheld).
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// The options most sockets never set (<see cref="RareOptions"/>): made by the first setsockopt() of one, so a
    /// socket that sets none carries a null reference.
    /// </summary>
    RareOptions RareOptionsToWrite => RareToWrite.Options ??= new RareOptions();

    /// <summary>sk->sk_rcvlowat: sock_init_data() sets 1; never 0 (sock_setsockopt() / tcp_set_rcvlowat(): "val ? : 1").</summary>
    int RcvLowat => _rare?.Options?.RcvLowat ?? 1;
    /// <summary>tp->notsent_lowat: 0 until TCP_NOTSENT_LOWAT sets it (then tcp_notsent_lowat() reads the sysctl).</summary>
    uint NotsentLowatSet => _rare?.Options?.NotsentLowat ?? 0;

    /// <summary>
    /// Models sk_setsockopt(SO_RCVLOWAT) — net/core/sock.c: a negative value becomes INT_MAX, then the protocol's
    /// set_rcvlowat, tcp_set_rcvlowat() — net/ipv4/tcp.c: the value is capped at half of sk_rcvbuf when SO_RCVBUF
    /// locked it, else at half of tcp_rmem[2]; sk_rcvlowat = val ?: 1; tcp_data_ready() ("Check if we need to
    /// signal EPOLLIN right now"); then, unless SO_RCVBUF locked the buffer, sk_rcvbuf grows to
    /// tcp_space_from_win(val) (val · 256 / scaling_ratio) when that is larger, and a non-zero window_clamp below
    /// val is raised to val. Never an error. linux-4.4's sock_setsockopt(SO_RCVLOWAT) has no protocol hook (4.18's
    /// "tcp: fix SO_RCVLOWAT and RCVBUF autotuning" added tcp_set_rcvlowat()): <c>if (val &lt; 0) val = INT_MAX;
    /// sk-&gt;sk_rcvlowat = val ? : 1;</c> — no cap, no wakeup, sk_rcvbuf untouched.
    /// </summary>
    void SetRcvLowat(int value)
    {
        long val = value < 0 ? int.MaxValue : value;
        bool legacy = _sim.Profile == KernelProfile.Linux44;
        bool locked = RcvBufSet > 0; // SOCK_RCVBUF_LOCK
        long cap = locked ? SkRcvbuf >> 1 : Host.Sysctls.TcpRmem[2] >> 1;
        if (!legacy) val = Math.Min(val, cap);
        RareOptionsToWrite.RcvLowat = val == 0 ? 1 : (int)val;
        if (legacy) return;
        DataReady();
        if (locked) return;
        int space = unchecked((int)SpaceFromWin(val)); // tcp_space_from_win() returns an int
        if (space > _rcvBuf)
        {
            _rcvBuf = space;
            if (_rcv.WindowClamp != 0 && _rcv.WindowClamp < val) _rcv.WindowClamp = (uint)val;
        }
    }

    /// <summary>
    /// Models do_tcp_setsockopt(TCP_NOTSENT_LOWAT) — net/ipv4/tcp.c: tp->notsent_lowat = val (the int read as u32,
    /// no range check), then sk->sk_write_space(): sk_stream_write_space() wakes a writer once the socket is
    /// writeable under the new limit.
    /// </summary>
    void SetNotsentLowat(int value)
    {
        RareOptionsToWrite.NotsentLowat = unchecked((uint)value);
        StreamWriteSpace();
    }

    /// <summary>Models tcp_notsent_lowat() — include/net/tcp.h: tp->notsent_lowat, else net.ipv4.tcp_notsent_lowat.</summary>
    uint NotsentLowat => NotsentLowatSet != 0 ? NotsentLowatSet : Host.Sysctls.TcpNotsentLowat;

    /// <summary>
    /// Models tcp_stream_memory_free(sk, wake) — net/ipv4/tcp.c: the unsent bytes (write_seq − snd_nxt, u32) shifted
    /// left by <paramref name="wake"/> are below tcp_notsent_lowat(). wake is 1 for poll() and sk_stream_write_space()
    /// (POLLOUT only once half the limit is free, as sock_def_write_space() does), 0 for sendmsg()'s
    /// sk_stream_memory_free(). linux-4.4's tcp_stream_memory_free(sk) has no wake argument: no shift.
    /// </summary>
    bool TcpStreamMemoryFree(int wake)
    {
        uint notsent = _snd.WriteSeq - _snd.Nxt;
        if (_sim.Profile != KernelProfile.Linux6) wake = 0;
        return unchecked(notsent << wake) < NotsentLowat;
    }

    /// <summary>
    /// Models tcp_rmem_pressure() — include/net/tcp.h: under tcp_memory_pressure, or with sk_rmem_alloc above 7/8 of
    /// sk_rcvbuf ("we want to override SO_RCVLOWAT constraint, since we are receiving skbs with too small
    /// len/truesize ratio").
    /// </summary>
    bool RmemPressure
    {
        get
        {
            if (Host.TcpMemoryPressure) return true;
            long rcvbuf = SkRcvbuf;
            return RmemAlloc > rcvbuf - (rcvbuf >> 3);
        }
    }

    /// <summary>rcv_nxt − copied_seq: the unread bytes and, once received and not yet read, the FIN's sequence number.</summary>
    long RcvAvail => _rcv.Unread + (SockDone && !FinCopied ? 1 : 0);

    /// <summary>
    /// Models tcp_epollin_ready() — include/net/tcp.h: something is queued (rcv_nxt − copied_seq &gt; 0) and either
    /// <paramref name="target"/> bytes are, the receive memory is under pressure, or what is left of the advertised
    /// window is at most one rcv_mss (the sender cannot send the rest anyway).
    /// </summary>
    bool EpollinReady(long target)
    {
        long avail = RcvAvail;
        if (avail <= 0) return false;
        return avail >= target || RmemPressure || ReceiveWindow() <= (uint)_rcvMss;
    }

    /// <summary>
    /// tcp_poll()'s readable test — net/ipv4/tcp.c: tcp_stream_is_readable(sk, target) → <see cref="EpollinReady"/>
    /// with target = sock_rcvlowat(sk, 0, INT_MAX), sk_rcvlowat. 4.4's tcp_poll() tests "if (tp-&gt;rcv_nxt -
    /// tp-&gt;copied_seq &gt;= target)" alone: no memory-pressure or one-rcv_mss-window override (the urgent byte's
    /// target++ is not modelled).
    /// </summary>
    bool PollReadable() => _sim.Profile == KernelProfile.Linux44 ? RcvAvail >= RcvLowat : EpollinReady(RcvLowat);

    /// <summary>Models sock_rcvlowat(sk, 0, len) — include/net/sock.h: min(sk_rcvlowat, len), at least 1 (MSG_WAITALL is not modelled).</summary>
    long RecvTarget(long len) => Math.Max(1, Math.Min(RcvLowat, len));

    /// <summary>
    /// Models tcp_data_ready() — net/ipv4/tcp_input.c: sk->sk_data_ready() (a wakeup of the sleepers: a recv() in
    /// sk_wait_data(), a send() in sk_stream_wait_memory() — woken_wake_function() takes any wakeup) only when
    /// tcp_epollin_ready(sk, sk_rcvlowat) or SOCK_DONE. A woken recv() runs after the softirq (<see cref="WakeReader"/>).
    /// A sleeping poll() is re-run by the engine after every event; its tcp_poll() applies the same test.
    /// tcp_data_ready() came with 4.19 ("tcp: avoid extra wakeups for SO_RCVLOWAT users"): linux-4.4's
    /// tcp_rcv_established() and tcp_data_queue() call sk->sk_data_ready() for every segment queued, so a reader
    /// below its SO_RCVLOWAT mark wakes, copies what came and sleeps again.
    /// </summary>
    void DataReady()
    {
        if (_sim.Profile != KernelProfile.Linux44 && !EpollinReady(RcvLowat) && !SockDone) return;
        WakeReader();
        WakeWriter();
        WakeLingeringClose();
    }
}
