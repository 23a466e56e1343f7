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
    const ushort NLM_F_REQUEST = 1;
    const int NLMSG_ERROR = 2, INET_DIAG_INFO = 2;

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

    /// <summary>tcp_info of the TCP socket local:localPort → remote:remotePort (host order), or null when the kernel has none.</summary>
    public static byte[]? TcpInfo(uint local, ushort localPort, uint remote, ushort remotePort)
    {
        int fd = Libc.socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
        if (fd < 0) return null;
        try
        {
            // nlmsghdr (16) + inet_diag_req_v2 (56): family, protocol, ext, pad, states, inet_diag_sockid.
            var request = new byte[16 + 56];
            var r = request.AsSpan();
            BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)request.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(r[4..], SOCK_DIAG_BY_FAMILY);
            BinaryPrimitives.WriteUInt16LittleEndian(r[6..], NLM_F_REQUEST);
            BinaryPrimitives.WriteUInt32LittleEndian(r[8..], 1);
            var q = r[16..];
            q[0] = Libc.AF_INET;
            q[1] = Libc.IPPROTO_TCP;
            q[2] = 1 << (INET_DIAG_INFO - 1);
            BinaryPrimitives.WriteUInt32LittleEndian(q[4..], 0xffffffff); // every state
            var id = q[8..];
            BinaryPrimitives.WriteUInt16BigEndian(id, localPort);
            BinaryPrimitives.WriteUInt16BigEndian(id[2..], remotePort);
            BinaryPrimitives.WriteUInt32BigEndian(id[4..], local);
            BinaryPrimitives.WriteUInt32BigEndian(id[20..], remote);
            BinaryPrimitives.WriteUInt32LittleEndian(id[40..], 0xffffffff); // INET_DIAG_NOCOOKIE
            BinaryPrimitives.WriteUInt32LittleEndian(id[44..], 0xffffffff);
            var kernel = new SockaddrNl { Family = AF_NETLINK };
            if (sendto(fd, request, request.Length, 0, ref kernel, Marshal.SizeOf<SockaddrNl>()) < 0) return null;
            var reply = new byte[8192];
            var n = Libc.recv(fd, reply, reply.Length, 0);
            if (n < 16 + 72) return null;
            var m = reply.AsSpan(0, (int)n);
            if (BinaryPrimitives.ReadUInt16LittleEndian(m[4..]) == NLMSG_ERROR) return null;
            int length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(m), (uint)n);
            // The attributes follow the inet_diag_msg (72 bytes), each rtattr 4-byte aligned.
            for (int at = 16 + 72; at + 4 <= length;)
            {
                int attrLength = BinaryPrimitives.ReadUInt16LittleEndian(m[at..]);
                int type = BinaryPrimitives.ReadUInt16LittleEndian(m[(at + 2)..]);
                if (attrLength < 4) break;
                if (type == INET_DIAG_INFO)
                {
                    var info = new byte[256];
                    m.Slice(at + 4, Math.Min(attrLength - 4, info.Length)).CopyTo(info);
                    return info;
                }
                at += (attrLength + 3) & ~3;
            }
            return null;
        }
        finally
        {
            Libc.close(fd);
        }
    }
}
