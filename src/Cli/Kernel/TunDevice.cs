using System.Collections.Concurrent;
using System.Diagnostics;

namespace SimService.Cli.Kernel;

/// <summary>A packet the kernel sent, with the monotonic time the reader thread took it off the TUN device.</summary>
internal sealed record Captured(long AtNs, WireSegment Segment);

/// <summary>
/// The TUN device (IFF_TUN | IFF_NO_PI: bare IPv4 packets) that stands for the wire, as packetdrill's tun0: the
/// local address is on it and the remote address is routed through it, so every segment the kernel sends to the
/// scripted peer is read here, and every segment written here arrives as if from the peer. A real-time reader
/// thread stamps each packet with the monotonic clock as it is read; <see cref="Collect"/> reads what is queued at once.
/// </summary>
internal sealed class TunDevice : IDisposable
{
    public const string Name = "tun0";

    readonly FileStream _stream;
    readonly int _fd;
    readonly BlockingCollection<Captured> _received = [];

    TunDevice(int fd)
    {
        _fd = fd;
        // Non-blocking: the reader waits in poll() and reads under the gate, so Collect() can take what is queued by itself.
        Libc.fcntl(fd, Libc.F_SETFL, Libc.fcntl(fd, Libc.F_GETFL, 0) | Libc.O_NONBLOCK);
        _stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.ReadWrite, 1, isAsync: false);
        var reader = new Thread(Read) { IsBackground = true, Name = "tun reader" };
        reader.Start();
    }

    /// <summary>Opens /dev/net/tun and attaches tun0 in the calling process's network namespace; null and the reason when it cannot.</summary>
    public static (TunDevice? Device, string? Error) Open()
    {
        var (fd, error) = Attach(Name);
        return fd < 0 ? (null, error) : (new TunDevice(fd), null);
    }

    /// <summary>Opens /dev/net/tun and attaches a TUN device of that name in the calling thread's network namespace: its descriptor, or −1 and the reason.</summary>
    public static (int Fd, string? Error) Attach(string name)
    {
        int fd = Libc.open("/dev/net/tun", Libc.O_RDWR);
        if (fd < 0) return (-1, $"cannot open /dev/net/tun (errno {Libc.Errno})");
        var ifr = new byte[40];
        System.Text.Encoding.ASCII.GetBytes(name).CopyTo(ifr, 0);
        BitConverter.GetBytes((short)(Libc.IFF_TUN | Libc.IFF_NO_PI)).CopyTo(ifr, 16);
        if (Libc.ioctl_bytes(fd, Libc.TUNSETIFF, ifr) < 0)
        {
            int errno = Libc.Errno;
            Libc.close(fd);
            return (-1, $"TUNSETIFF {name} failed (errno {errno})");
        }
        return (fd, null);
    }

    /// <summary>Writes one IPv4 packet: the kernel receives it on tun0; returns the monotonic time it was written.</summary>
    public long Inject(byte[] packet)
    {
        long at = Libc.MonotonicNs();
        Libc.write(_fd, packet, packet.Length);
        return at;
    }

    /// <summary>The next packet the kernel sent, waiting until the monotonic deadline; null if none came by then.</summary>
    public Captured? Next(long deadlineNs)
    {
        long waitMs = Math.Max(0, (deadlineNs - Libc.MonotonicNs()) / 1_000_000 + 1);
        return _received.TryTake(out var packet, TimeSpan.FromMilliseconds(Math.Min(waitMs, int.MaxValue))) ? packet : null;
    }

    /// <summary>The next packet already read (or put back); null without waiting.</summary>
    public Captured? TryNext() => _putBack.TryDequeue(out var back) ? back : _received.TryTake(out var packet) ? packet : null;

    /// <summary>Hands a packet taken with <see cref="Next"/> back to the next <see cref="TryNext"/>.</summary>
    public void PutBack(Captured packet) => _putBack.Enqueue(packet);

    readonly Queue<Captured> _putBack = new();

    /// <summary>Throws away every packet the kernel has sent so far (what a warm-up left).</summary>
    public void Drain()
    {
        Collect();
        while (_received.TryTake(out _)) { }
    }

    /// <summary>
    /// Takes every packet the kernel has queued on the device by now, so what it sent before this moment is in hand —
    /// the reader thread may not have woken for it yet. A segment written with <see cref="Inject"/> is processed inside
    /// the write() (tun_get_user() → tun_rx_batched() → netif_receive_skb() under local_bh_disable()) and what the
    /// kernel answers is queued on the device (tun_net_xmit()) before the write returns, so after an Inject, Collect
    /// has the answer: a SYN-ACK and its ISN are known before the next line is resolved, whatever the reader's timing.
    /// </summary>
    public void Collect()
    {
        lock (_gate) ReadQueued();
    }

    readonly object _gate = new();
    readonly byte[] _buffer = new byte[65536];

    void Read()
    {
        Libc.RealTime(60);
        var poll = new Libc.PollFd[1];
        while (true)
        {
            poll[0] = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
            if (Libc.poll(poll, 1, -1) < 0 && Libc.Errno != Libc.EINTR) return;
            lock (_gate)
                if (!ReadQueued()) return;
        }
    }

    /// <summary>Reads what the device holds until it has none (EAGAIN), each packet stamped as it is read; false when the descriptor failed.</summary>
    bool ReadQueued()
    {
        while (true)
        {
            var n = Libc.read(_fd, _buffer, _buffer.Length);
            long at = Libc.MonotonicNs();
            if (n < 0 && Libc.Errno == Libc.EINTR) continue;
            if (n < 0) return Libc.Errno == Libc.EAGAIN;
            if (TcpWire.Parse(_buffer.AsSpan(0, (int)n)) is { } segment) _received.Add(new Captured(at, segment));
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>
/// The throw-away network namespace a script runs in: the process is started under <c>unshare --net</c>, so the
/// namespace and everything in it (sockets, TIME-WAIT, counters, sysctls) goes away when it exits. Here: loopback
/// up, IPv6 off (no neighbour discovery on the TUN), tun0 with the local address, a route to the remote address.
/// </summary>
internal static class Netns
{
    /// <summary>Sets up the namespace; the error says which step failed.</summary>
    public static (TunDevice? Tun, string? Error) SetUp(string localIp, string remoteIp)
    {
        foreach (var (name, value) in new[] { ("net.ipv6.conf.all.disable_ipv6", "1"), ("net.ipv6.conf.default.disable_ipv6", "1") })
            WriteSysctl(name, value);
        if (Ip("link", "set", "lo", "up") is { } loError) return (null, loError);
        var (tun, error) = TunDevice.Open();
        if (tun is null) return (null, error);
        string? failed = Ip("addr", "add", $"{localIp}/32", "dev", TunDevice.Name)
            ?? Ip("link", "set", TunDevice.Name, "up")
            ?? Ip("route", "add", $"{remoteIp}/32", "dev", TunDevice.Name);
        if (failed is not null)
        {
            tun.Dispose();
            return (null, failed);
        }
        return (tun, null);
    }

    /// <summary>Writes /proc/sys/… for a dotted sysctl name in this namespace; the error text, or null.</summary>
    public static string? WriteSysctl(string name, string value)
    {
        try
        {
            File.WriteAllText("/proc/sys/" + name.Replace('.', '/'), value + "\n");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"sysctl {name}={value}: {e.Message}";
        }
    }

    internal static string? Ip(params string[] args)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"ip {string.Join(' ', args)}: {error.Trim()}";
    }
}
