using System.Runtime.InteropServices;

namespace SimService.Cli.Kernel;

/// <summary>
/// The segments a host sends to itself (to 127.x or one of its own addresses: lo, no link), for the packet trace: a
/// packet socket (AF_PACKET, SOCK_DGRAM, ETH_P_IP) on the namespace's lo with a TPACKET_V2 receive ring (PACKET_RX_RING),
/// as tcpdump's. Bound to one protocol it sees each packet once, as lo receives it (PACKET_HOST; the outgoing copy goes
/// only to ETH_P_ALL taps), in the same instant it was sent. lo does no segmentation below its gso_max_size: a GSO skb
/// is one packet here, as it is on lo. Each frame keeps the packet's headers only (the trace needs no payload; the IP
/// total length gives its size), and a capture whose ring overflowed fails its run (<see cref="Drops"/>).
/// </summary>
/// <remarks>
/// A ring, not the socket's receive queue: packet_rcv() queues a clone of each packet until the reader takes it, and
/// while that clone lives the receiving socket sees its skb as cloned — tcp_add_backlog() then cannot coalesce an ACK
/// into it (skb_try_coalesce() refuses a cloned tail), so a capture read that way changes what the kernel does.
/// tpacket_rcv() copies the packet into a ring frame and keeps no reference: the kernel runs as it does unobserved
/// (docs/kernel-check.md, "tcp_add_backlog()'s coalescing").
/// </remarks>
internal sealed class LoopbackCapture
{
    /// <summary>htons(ETH_P_IP): IPv4 packets only.</summary>
    const ushort EthPIpBe = 0x0008;

    const int AF_PACKET = 17, SOCK_DGRAM = 2, LoIndex = 1;
    const int SOL_PACKET = 263, PACKET_RX_RING = 5, PACKET_STATISTICS = 6, PACKET_VERSION = 10, TPACKET_V2 = 1;
    const int TP_STATUS_KERNEL = 0, TP_STATUS_USER = 1;
    const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;

    /// <summary>
    /// Frames of 256 bytes: tpacket_rcv() puts a SOCK_DGRAM packet at netoff = TPACKET_ALIGN(TPACKET2_HDRLEN 52 + 16) = 80
    /// and cuts it to the frame (snaplen 176), room for the IP header and a TCP header with 40 bytes of options (80).
    /// Sixteen to a one-page block (order-0 pages, the easiest the kernel allocates), 512 blocks: 8192 frames in 2 MB.
    /// The most a scenario run on the kernel puts on lo is 59 packets (observed-loopback-port-exhaustion-tw-reuse.json),
    /// and the reader, a real-time thread woken by poll(), frees each frame as it comes, so the ring holds 100 times the
    /// largest case. (Until session 28: one whole 64 KB packet a frame, 128 frames of 17 pages, order-5 blocks: 16 MB.)
    /// </summary>
    const int FrameSize = 256, BlockSize = 4096, BlockCount = 512, FrameCount = BlockSize / FrameSize * BlockCount;

    [StructLayout(LayoutKind.Sequential)]
    struct SockaddrLl
    {
        public ushort Family;
        public ushort ProtocolBe;
        public int IfIndex;
        public ushort HaType;
        public byte PktType;
        public byte HaLen;
        public ulong Addr;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int bind(int fd, ref SockaddrLl address, int length);

    [DllImport("libc", SetLastError = true)]
    static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [DllImport("libc", SetLastError = true)]
    static extern int munmap(nint address, nuint length);

    readonly string _host;
    readonly Func<uint, bool> _own;
    readonly List<TracedSegment> _trace = [];
    readonly Lock _lock = new();
    readonly int _fd;
    readonly nint _ring;
    volatile bool _stop;
    Thread? _thread;
    long _t0;

    /// <param name="own">Whether an address is the host's (its addresses and 127/8).</param>
    LoopbackCapture(string host, Func<uint, bool> own, int fd, nint ring)
    {
        _host = host;
        _own = own;
        _fd = fd;
        _ring = ring;
    }

    /// <summary>Opens the packet socket in the namespace (a socket stays in the namespace it was made in) and maps its ring.</summary>
    public static (LoopbackCapture? Capture, string? Error) Open(HostNamespace ns, Func<uint, bool> own)
    {
        int fd = ns.Run(() =>
        {
            int s = Libc.socket(AF_PACKET, SOCK_DGRAM, EthPIpBe);
            if (s < 0) return s;
            // tpacket_req: block size, block count, frame size, frame count. The ring is set before bind(), so no
            // packet is ever queued the other way.
            byte[] request = [.. BitConverter.GetBytes(BlockSize), .. BitConverter.GetBytes(BlockCount), .. BitConverter.GetBytes(FrameSize), .. BitConverter.GetBytes(FrameCount)];
            var lo = new SockaddrLl { Family = AF_PACKET, ProtocolBe = EthPIpBe, IfIndex = LoIndex };
            if (Libc.setsockopt(s, SOL_PACKET, PACKET_VERSION, BitConverter.GetBytes(TPACKET_V2), 4) < 0
                || Libc.setsockopt(s, SOL_PACKET, PACKET_RX_RING, request, request.Length) < 0
                || bind(s, ref lo, Marshal.SizeOf<SockaddrLl>()) < 0)
            {
                int errno = Libc.Errno;
                Libc.close(s);
                Marshal.SetLastPInvokeError(errno);
                return -1;
            }
            return s;
        });
        if (fd < 0) return (null, $"cannot capture on lo of {ns.Name} (errno {Libc.Errno})");
        nint ring = mmap(0, (nuint)RingBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (ring == -1)
        {
            int errno = Libc.Errno;
            Libc.close(fd);
            return (null, $"cannot map the lo capture ring of {ns.Name} (errno {errno})");
        }
        return (new LoopbackCapture(ns.Host, own, fd, ring), null);
    }

    const long RingBytes = (long)BlockSize * BlockCount;

    public void Start(long t0)
    {
        _t0 = t0;
        _thread = new Thread(Read) { IsBackground = true, Name = $"lo of {_host}" };
        _thread.Start();
    }

    public List<TracedSegment> Trace()
    {
        lock (_lock) return [.. _trace];
    }

    /// <summary>
    /// PACKET_STATISTICS (packet_getsockopt(), net/packet/af_packet.c): the packets that came to the ring (tp_packets,
    /// drops included) and those it dropped for want of a free frame (tp_drops) since the capture began — read once, it
    /// resets them. A capture that dropped one is not a packet trace of the run.
    /// </summary>
    public (uint Packets, uint Drops) Drops()
    {
        var stats = new byte[8];
        int length = stats.Length;
        if (Libc.getsockopt(_fd, SOL_PACKET, PACKET_STATISTICS, stats, ref length) < 0)
            throw new InvalidOperationException($"PACKET_STATISTICS of the lo capture of {_host}: errno {Libc.Errno}");
        return (BitConverter.ToUInt32(stats, 0), BitConverter.ToUInt32(stats, 4));
    }

    /// <summary>The host whose lo this captures.</summary>
    public string Host => _host;

    public void Stop()
    {
        _stop = true;
        _thread?.Join();
        munmap(_ring, (nuint)RingBytes);
        Libc.close(_fd);
    }

    /// <summary>
    /// Takes the ring's frames in order as the kernel hands them over (tp_status TP_STATUS_USER), each stamped when read,
    /// as the socket's queue was; waits in poll() (10 ms, to see Stop()) when the next frame is the kernel's.
    /// </summary>
    void Read()
    {
        Libc.RealTime(60);
        var buffer = new byte[FrameSize];
        var wait = new[] { new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN } };
        for (int frame = 0; !_stop;)
        {
            nint header = _ring + (nint)frame * FrameSize;
            // tpacket2_hdr: tp_status, tp_len, tp_snaplen, tp_mac, tp_net, …
            int status = Marshal.ReadInt32(header);
            Interlocked.MemoryBarrier(); // the frame's bytes are read after its status (smp_rmb())
            if ((status & TP_STATUS_USER) == 0)
            {
                Libc.poll(wait, 1, 10);
                continue;
            }
            long at = Libc.MonotonicNs() - _t0;
            int length = Marshal.ReadInt32(header, 8);
            int net = (ushort)Marshal.ReadInt16(header, 14);
            Marshal.Copy(header + net, buffer, 0, length);
            Interlocked.MemoryBarrier(); // and handed back after they were copied (smp_wmb())
            Marshal.WriteInt32(header, TP_STATUS_KERNEL);
            frame = (frame + 1) % FrameCount;
            if (TcpWire.ParseCaptured(buffer.AsSpan(0, length)) is not { } segment || !_own(segment.Destination)) continue;
            lock (_lock) _trace.Add(new TracedSegment(at, _host, _host, segment, false));
        }
    }
}
