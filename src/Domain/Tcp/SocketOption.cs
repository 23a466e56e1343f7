namespace SimService.Domain.Tcp;

/// <summary>The socket options the simulator models (SOL_SOCKET and IPPROTO_TCP).</summary>
public enum SocketOption
{
    SO_LINGER,
    TCP_LINGER2,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_KEEPALIVE,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_KEEPCNT,
    TCP_USER_TIMEOUT,
    SO_SNDBUF,
    SO_RCVBUF,
    /// <summary>struct timeval {sec, usec}: how long a blocked send()/connect() sleeps (sk_sndtimeo; sock_set_timeout()).</summary>
    SO_SNDTIMEO,
    /// <summary>struct timeval {sec, usec}: how long a blocked recv()/accept() sleeps (sk_rcvtimeo; sock_set_timeout()).</summary>
    SO_RCVTIMEO,
    /// <summary>IPPROTO_IP, Linux 6.3+: this socket's ephemeral range, u32 lo | hi &lt;&lt; 16 (0 in either half: that end of the netns range).</summary>
    IP_LOCAL_PORT_RANGE,
    /// <summary>IPPROTO_IP: bind() with port 0 takes no port; connect() picks it by the 4-tuple (__inet_hash_connect()).</summary>
    IP_BIND_ADDRESS_NO_PORT,
    /// <summary>IPPROTO_TCP: int, non-zero disables Nagle's algorithm and pushes what is queued (__tcp_sock_set_nodelay()).</summary>
    TCP_NODELAY,
    /// <summary>IPPROTO_TCP: int, non-zero holds partial segments until cleared (__tcp_sock_set_cork()).</summary>
    TCP_CORK,
    /// <summary>IPPROTO_TCP: int, 0 enters ping-pong (delayed ACK) mode, else leaves it and ACKs what is due (__tcp_sock_set_quickack()).</summary>
    TCP_QUICKACK,
    /// <summary>IPPROTO_TCP: int 1..127, the SYN (a listener's SYN-ACK) retransmissions before giving up (icsk_syn_retries).</summary>
    TCP_SYNCNT,
    /// <summary>IPPROTO_TCP: int seconds; a listener drops the handshake's bare ACK until data comes or the time passes (rskq_defer_accept).</summary>
    TCP_DEFER_ACCEPT,
    /// <summary>IPPROTO_TCP: int, 0 or 88..32767: clamps the MSS advertised and used (rx_opt.user_mss); getsockopt reads mss_cache.</summary>
    TCP_MAXSEG,
    /// <summary>IPPROTO_TCP: a string, the congestion control module's name ("reno", "cubic"; tcp_set_congestion_control()).</summary>
    TCP_CONGESTION,
    /// <summary>SOL_SOCKET: int, the bytes a read waits for and poll() wants for POLLIN (sk_rcvlowat; tcp_set_rcvlowat()).</summary>
    SO_RCVLOWAT,
    /// <summary>IPPROTO_TCP: u32, unsent bytes above which the socket is not writable (tp->notsent_lowat; 0: net.ipv4.tcp_notsent_lowat).</summary>
    TCP_NOTSENT_LOWAT,
    /// <summary>IPPROTO_TCP, Linux 6.15+: int ms, 1000..120000, this socket's RTO ceiling (icsk_rto_max; read back in whole jiffies).</summary>
    TCP_RTO_MAX_MS,
    /// <summary>getsockopt only: the pending error, read and cleared (sock_error()).</summary>
    SO_ERROR,
    /// <summary>getsockopt only: struct tcp_info (tcp_get_info()).</summary>
    TCP_INFO,
    /// <summary>getsockopt only: u32 meminfo[SK_MEMINFO_VARS] (sk_get_meminfo()), <c>ss -m</c>'s skmem.</summary>
    SO_MEMINFO,
}

/// <summary>shutdown()'s how: RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2 after the kernel's how++.</summary>
public enum ShutdownHow
{
    SHUT_RD = 0,
    SHUT_WR = 1,
    SHUT_RDWR = 2,
}
