namespace SimService.Domain.Tcp;

/// <summary>
/// The timers of a connection. Retransmit, LossProbe and Persist are the three uses of the one
/// xmit timer (icsk_retransmit_timer, multiplexed by icsk_pending); Keepalive is sk_timer, also
/// used as the orphan FIN_WAIT2 timer; TimeWait is the timewait socket's tw_timer.
/// </summary>
public enum TcpTimerKind
{
    Retransmit,
    LossProbe,
    Persist,
    /// <summary>RACK's reordering timer (ICSK_TIME_REO_TIMEOUT): marks the head lost once it is older than RTT + reo_wnd.</summary>
    ReorderTimeout,
    DelayedAck,
    Keepalive,
    FinWait2,
    TimeWait,
    SynAckRetransmit,
    Linger,
    /// <summary>
    /// schedule_timeout() of a send() or connect() asleep under SO_SNDTIMEO (sk_sndtimeo), or of a send()'s vm_wait sleep in
    /// sk_stream_wait_memory() (2–51 jiffies, with or without SO_SNDTIMEO: its end makes the send copy again, not return).
    /// </summary>
    SendTimeout,
    /// <summary>schedule_timeout() of a recv() or accept() asleep under SO_RCVTIMEO (sk_rcvtimeo).</summary>
    ReceiveTimeout,
    /// <summary>tp->compressed_ack_timer: the hrtimer of SACK compression (tcp_compressed_ack_kick()), not on the timer wheel.</summary>
    CompressedAck,
}

/// <summary>The socket calls a process can make.</summary>
public enum SocketCallKind
{
    Socket,
    Bind,
    Listen,
    Connect,
    Accept,
    Send,
    Recv,
    Shutdown,
    Close,
    Setsockopt,
    Getsockopt,
    Getpeername,
    /// <summary>fcntl(F_SETFL): O_NONBLOCK on or off.</summary>
    Fcntl,
    /// <summary>poll() on one descriptor, at once (timeout 0) or sleeping until an event or the timeout.</summary>
    Poll,
    /// <summary>dup(): a second descriptor for the socket's file.</summary>
    Dup,
    /// <summary>dup2(newfd): the socket's file at newfd, closing what newfd held.</summary>
    Dup2,
    /// <summary>setrlimit(RLIMIT_NOFILE, {cur, max}): the process's descriptor limit.</summary>
    Setrlimit,
}
