using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SimService.Cli.Kernel;

/// <summary>
/// struct tcp_info of a socket the script no longer has a descriptor for (closed: an orphan in FIN-WAIT or
/// LAST-ACK still retransmitting), asked of the kernel by its 4-tuple over NETLINK_SOCK_DIAG as <c>ss -ti</c>
/// does: an inet_diag_req_v2 for that one socket (inet_diag_find_one_icsk()) with INET_DIAG_INFO, whose reply
/// carries what tcp_get_info() fills.
/// </summary>
internal static class SockDiag
{
    const int AF_NETLINK = 16, SOCK_RAW = 3, NETLINK_SOCK_DIAG = 4, SOCK_DIAG_BY_FAMILY = 20;
    const ushort NLM_F_REQUEST = 1, NLM_F_DUMP = 0x300;
    const int NLMSG_ERROR = 2, NLMSG_DONE = 3, INET_DIAG_INFO = 2;

    /// <summary>
    /// idiag_states of every request: every TCP state but TCP_BOUND_INACTIVE (13), the pseudo-state with which Linux 6.5+
    /// also dumps bound sockets in TCP_CLOSE (tcp_diag_dump() / inet_diag_dump_icsk(): "Dump bound but inactive (not
    /// listening, connecting, etc.) sockets" when idiag_states has TCPF_BOUND_INACTIVE, as TCP_CLOSE rows). `ss -tan`
    /// does not ask for it (its state mask stops below), and neither does the engine's listing (SocketListing: a
    /// descriptor left in CLOSE has no row). Asking every bit listed a descriptor whose bound port outlived its connection
    /// — in CLOSE beside its own TIME-WAIT — as a CLOSED row of the same 4-tuple, which failed a host/local check of
    /// the TIME-WAIT that passed on the engine (session 32).
    /// </summary>
    internal const uint EveryStateButBoundInactive = 0xffffffff & ~(1u << 13);

    [StructLayout(LayoutKind.Sequential)]
    struct SockaddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [DllImport("libc", SetLastError = true)]
    static extern nint sendto(int fd, byte[] buffer, nint length, int flags, ref SockaddrNl address, int addressLength);

    /// <summary>One socket of a dump: inet_diag_msg's state, endpoints (host order), timer (0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT, 4 probe) and its expiry in ms.</summary>
    public sealed record Row(int State, uint Local, ushort LocalPort, uint Remote, ushort RemotePort, int Timer, uint ExpiresMs, uint Inode);

    /// <summary>
    /// tcp_info (null for a TIME-WAIT or request socket), inet_diag_msg's state and the socket's cookie (idiag_cookie,
    /// sock_gen_cookie(): one per socket, a timewait socket keeps its socket's) of the TCP socket local:localPort →
    /// remote:remotePort (host order); all null when the kernel has none.
    /// </summary>
    public static (byte[]? Info, int? State, ulong? Cookie) Find(uint local, ushort localPort, uint remote, ushort remotePort)
    {
        (byte[]? Info, int? State, ulong? Cookie) found = (null, null, null);
        // The lookup by 4-tuple falls back to the listener on the local port (inet_lookup()): only the connection itself counts.
        Ask(0, (local, localPort, remote, remotePort), (m, attributes) =>
            found = found.State is null && BinaryPrimitives.ReadUInt16BigEndian(m[6..]) == remotePort
                ? (attributes, m[1], (ulong)BinaryPrimitives.ReadUInt32LittleEndian(m[48..]) << 32 | BinaryPrimitives.ReadUInt32LittleEndian(m[44..]))
                : found);
        return found;
    }

    /// <summary>The cookie of the socket behind a descriptor (getsockopt SO_COOKIE, sock_gen_cookie()); null when it is not open.</summary>
    public static ulong? Cookie(int fd)
    {
        var value = new byte[8];
        int length = value.Length;
        return fd >= 0 && Libc.getsockopt(fd, Libc.SOL_SOCKET, SO_COOKIE, value, ref length) == 0 ? BinaryPrimitives.ReadUInt64LittleEndian(value) : null;
    }

    const int SO_COOKIE = 57;

    /// <summary>Every IPv4 TCP socket of the calling thread's network namespace (listeners, connections, request and timewait sockets), as <c>ss -tan</c> lists them.</summary>
    public static List<Row> Dump()
    {
        var rows = new List<Row>();
        Ask(NLM_F_DUMP, null, (m, _) => rows.Add(new Row(m[1], BinaryPrimitives.ReadUInt32BigEndian(m[8..]), BinaryPrimitives.ReadUInt16BigEndian(m[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(m[24..]), BinaryPrimitives.ReadUInt16BigEndian(m[6..]), m[2], BinaryPrimitives.ReadUInt32LittleEndian(m[52..]),
            BinaryPrimitives.ReadUInt32LittleEndian(m[68..]))));
        return rows;
    }

    /// <summary>
    /// Sends one inet_diag_req_v2 (every state, INET_DIAG_INFO asked) — for one socket by its 4-tuple, or a dump — and
    /// hands each inet_diag_msg of the reply (72 bytes) with its INET_DIAG_INFO attribute (null if none) to <paramref name="each"/>.
    /// </summary>
    static void Ask(ushort flags, (uint Local, ushort LocalPort, uint Remote, ushort RemotePort)? socket, Action<ReadOnlySpan<byte>, byte[]?> each)
    {
        int fd = Libc.socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
        if (fd < 0) return;
        try
        {
            // nlmsghdr (16) + inet_diag_req_v2 (56): family, protocol, ext, pad, states, inet_diag_sockid.
            var request = new byte[16 + 56];
            var r = request.AsSpan();
            BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)request.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(r[4..], SOCK_DIAG_BY_FAMILY);
            BinaryPrimitives.WriteUInt16LittleEndian(r[6..], (ushort)(NLM_F_REQUEST | flags));
            BinaryPrimitives.WriteUInt32LittleEndian(r[8..], 1);
            var q = r[16..];
            q[0] = Libc.AF_INET;
            q[1] = Libc.IPPROTO_TCP;
            q[2] = 1 << (INET_DIAG_INFO - 1);
            BinaryPrimitives.WriteUInt32LittleEndian(q[4..], EveryStateButBoundInactive);
            var id = q[8..];
            if (socket is { } s)
            {
                BinaryPrimitives.WriteUInt16BigEndian(id, s.LocalPort);
                BinaryPrimitives.WriteUInt16BigEndian(id[2..], s.RemotePort);
                BinaryPrimitives.WriteUInt32BigEndian(id[4..], s.Local);
                BinaryPrimitives.WriteUInt32BigEndian(id[20..], s.Remote);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(id[40..], 0xffffffff); // INET_DIAG_NOCOOKIE
            BinaryPrimitives.WriteUInt32LittleEndian(id[44..], 0xffffffff);
            var kernel = new SockaddrNl { Family = AF_NETLINK };
            if (sendto(fd, request, request.Length, 0, ref kernel, Marshal.SizeOf<SockaddrNl>()) < 0) return;
            var reply = new byte[32768];
            while (true)
            {
                var n = Libc.recv(fd, reply, reply.Length, 0);
                if (n < 16) return;
                for (int at = 0; at + 16 <= n;)
                {
                    var m = reply.AsSpan(at, (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(at)), (uint)(n - at)));
                    int type = BinaryPrimitives.ReadUInt16LittleEndian(m[4..]);
                    if (type is NLMSG_ERROR or NLMSG_DONE || m.Length < 16 + 72) return;
                    each(m[16..], Info(m));
                    if (flags == 0) return;
                    at += (m.Length + 3) & ~3;
                }
            }
        }
        finally
        {
            Libc.close(fd);
        }
    }

    /// <summary>The INET_DIAG_INFO attribute of one reply message (the attributes follow the inet_diag_msg, each rtattr 4-byte aligned).</summary>
    static byte[]? Info(ReadOnlySpan<byte> m)
    {
        for (int at = 16 + 72; at + 4 <= m.Length;)
        {
            int attrLength = BinaryPrimitives.ReadUInt16LittleEndian(m[at..]);
            int type = BinaryPrimitives.ReadUInt16LittleEndian(m[(at + 2)..]);
            if (attrLength < 4) break;
            if (type == INET_DIAG_INFO)
            {
                var info = new byte[256];
                m.Slice(at + 4, Math.Min(attrLength - 4, Math.Min(info.Length, m.Length - at - 4))).CopyTo(info);
                return info;
            }
            at += (attrLength + 3) & ~3;
        }
        return null;
    }
}
