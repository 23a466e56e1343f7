using System.Runtime.InteropServices;

namespace SimService.Cli.Kernel;

/// <summary>
/// The segments a host sends to itself (to 127.x or one of its own addresses: lo, no link), for the packet trace: a
/// packet socket (AF_PACKET, SOCK_DGRAM, ETH_P_IP) on the namespace's lo. Bound to one protocol it sees each packet
/// once, as lo receives it (PACKET_HOST; the outgoing copy goes only to ETH_P_ALL taps), in the same instant it was
/// sent. lo does no segmentation: a GSO skb is one packet here, as it is on lo.
/// </summary>
internal sealed class LoopbackCapture
{
    /// <summary>htons(ETH_P_IP): IPv4 packets only.</summary>
    const ushort EthPIpBe = 0x0008;

    const int AF_PACKET = 17, SOCK_DGRAM = 2, LoIndex = 1;

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
    static extern nint recvfrom(int fd, byte[] buffer, nint length, int flags, ref SockaddrLl from, ref int fromLength);

    readonly string _host;
    readonly Func<uint, bool> _own;
    readonly List<TracedSegment> _trace = [];
    readonly Lock _lock = new();
    readonly int _fd;
    volatile bool _stop;
    Thread? _thread;
    long _t0;

    /// <param name="own">Whether an address is the host's (its addresses and 127/8).</param>
    LoopbackCapture(string host, Func<uint, bool> own, int fd)
    {
        _host = host;
        _own = own;
        _fd = fd;
    }

    /// <summary>Opens the packet socket in the namespace (a socket stays in the namespace it was made in).</summary>
    public static (LoopbackCapture? Capture, string? Error) Open(HostNamespace ns, Func<uint, bool> own)
    {
        int fd = ns.Run(() =>
        {
            int s = Libc.socket(AF_PACKET, SOCK_DGRAM, EthPIpBe);
            if (s < 0) return s;
            var lo = new SockaddrLl { Family = AF_PACKET, ProtocolBe = EthPIpBe, IfIndex = LoIndex };
            return bind(s, ref lo, Marshal.SizeOf<SockaddrLl>()) < 0 ? -1 : s;
        });
        if (fd < 0) return (null, $"cannot capture on lo of {ns.Name} (errno {Libc.Errno})");
        // Wake every 10 ms to see Stop(): SO_RCVTIMEO.
        Libc.setsockopt(fd, Libc.SOL_SOCKET, 20, [.. BitConverter.GetBytes(0L), .. BitConverter.GetBytes(10_000L)], 16);
        return (new LoopbackCapture(ns.Host, own, fd), null);
    }

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

    public void Stop()
    {
        _stop = true;
        _thread?.Join();
        Libc.close(_fd);
    }

    void Read()
    {
        Libc.RealTime(60);
        var buffer = new byte[65536];
        while (!_stop)
        {
            var from = new SockaddrLl();
            int length = Marshal.SizeOf<SockaddrLl>();
            var n = recvfrom(_fd, buffer, buffer.Length, 0, ref from, ref length);
            long at = Libc.MonotonicNs() - _t0;
            if (n <= 0) continue;
            if (TcpWire.Parse(buffer.AsSpan(0, (int)n)) is not { } segment || !_own(segment.Destination)) continue;
            lock (_lock) _trace.Add(new TracedSegment(at, _host, _host, segment, false));
        }
    }
}
