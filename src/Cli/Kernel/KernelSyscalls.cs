using System.Buffers.Binary;
using System.Text;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;

namespace SimService.Cli.Kernel;

/// <summary>What a system call on the real kernel returned: result, errno (0 if none), when, and what it wrote back.</summary>
internal sealed record CallOutcome(long Result, int Errno, long ReturnNs, byte[]? Optval = null, int[]? Revents = null, int IoctlValue = 0)
{
    /// <summary>When the worker thread began the call (the monotonic clock), for the log.</summary>
    public long StartNs { get; set; }
}

/// <summary>
/// Makes a script's system calls on the real kernel through libc, one at a time on a real-time worker thread (as
/// packetdrill's syscall thread), so a blocking call can sleep in the kernel while the script goes on injecting
/// packets. Descriptors are the live ones (the runner maps the script's numbers); "..." addresses are filled as
/// the engine's runner fills them (bind: the local address, port 8080; connect: the remote address, port 8080).
/// </summary>
internal sealed class KernelSyscalls
{
    /// <summary>A descriptor number no process has open: calls on it fail with EBADF and poll() reports POLLNVAL.</summary>
    public const int NotOpen = 1_000_000;

    readonly RunnerQueue _work = new();
    readonly uint _localIp, _remoteIp;

    public KernelSyscalls(uint localIp, uint remoteIp)
    {
        _localIp = localIp;
        _remoteIp = remoteIp;
        // At the script thread's priority: both spin yielding (Libc.SpinOnce), which lets a thread of the same priority
        // on the same core run — a lower one would wait out the other's spin.
        new Thread(_work.Serve) { IsBackground = true, Name = "syscalls" }.Start();
    }

    /// <summary>Has the worker awake (spinning) from shortly before <paramref name="atNs"/>, for a call that may come then.</summary>
    public void StandBy(long atNs) => _work.StandBy(atNs);

    /// <summary>Starts the call on the worker; the returned task completes when the kernel returns.</summary>
    public Task<CallOutcome> Start(SyscallEvent s, Func<long, int> live)
    {
        var (call, go) = Prepare(s, live, Libc.MonotonicNs());
        go();
        return call;
    }

    /// <summary>
    /// Hands the call to the worker ahead of its time <paramref name="atNs"/> (the monotonic clock), to be made at once
    /// when <c>go</c> is called (<see cref="RunnerQueue.AddAt"/>). The task completes when the kernel returns.
    /// </summary>
    public (Task<CallOutcome> Call, Action Go) Prepare(SyscallEvent s, Func<long, int> live, long atNs)
    {
        var done = new TaskCompletionSource<CallOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var go = _work.AddAt(atNs, () =>
        {
            try
            {
                long began = Libc.MonotonicNs();
                var outcome = Execute(s, live);
                outcome.StartNs = began;
                done.SetResult(outcome);
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return (done.Task, go);
    }

    CallOutcome Execute(SyscallEvent s, Func<long, int> live)
    {
        var a = s.Arguments;
        int Fd(int i) => a.Length > i && SyscallMapping.IntValue(a[i]) is { } n ? live(n) : NotOpen;
        long Int(int i, long fallback = 0) => a.Length > i ? SyscallMapping.IntValue(a[i]) ?? fallback : fallback;
        switch (s.Name)
        {
            case "socket":
            {
                int type = 0;
                foreach (var f in SyscallMapping.Flags(a[1]))
                    type |= f switch { "SOCK_STREAM" => Libc.SOCK_STREAM, "SOCK_NONBLOCK" => Libc.SOCK_NONBLOCK, "SOCK_CLOEXEC" => Libc.SOCK_CLOEXEC, _ => 0 };
                if (a[1] is EllipsisExpr) type = Libc.SOCK_STREAM;
                return Done(Libc.socket(Libc.AF_INET, type, Libc.IPPROTO_TCP));
            }
            case "bind":
            {
                var address = Libc.Address(AddressOf(a.Length > 1 ? a[1] : null) ?? _localIp, a.Length > 1 ? SyscallMapping.PortOf(a[1]) : PacketdrillRunner.ScriptPort);
                return Done(Libc.bind(Fd(0), ref address, 16));
            }
            case "connect":
            {
                var address = Libc.Address(AddressOf(a.Length > 1 ? a[1] : null) ?? _remoteIp, a.Length > 1 ? SyscallMapping.PortOf(a[1]) : PacketdrillRunner.ScriptPort);
                return Done(Libc.connect(Fd(0), ref address, 16));
            }
            case "listen": return Done(Libc.listen(Fd(0), (int)Int(1, 128)));
            case "accept" or "accept4":
            {
                int flags = 0;
                if (s.Name == "accept4" && a.Length > 3)
                    foreach (var f in SyscallMapping.Flags(a[3]))
                        flags |= f switch { "SOCK_NONBLOCK" => Libc.SOCK_NONBLOCK, "SOCK_CLOEXEC" => Libc.SOCK_CLOEXEC, _ => 0 };
                return Done(Libc.accept4(Fd(0), IntPtr.Zero, IntPtr.Zero, flags));
            }
            case "write": return Done(Libc.write(Fd(0), CallBuffers.Zeros(Int(2)), (nint)Int(2)));
            case "send" or "sendto": return Done(Libc.send(Fd(0), CallBuffers.Zeros(Int(2)), (nint)Int(2), (int)(a.Length > 3 ? SyscallMapping.MsgFlagsOf(a[3], true) ?? 0 : 0)));
            case "read": return Done(Libc.read(Fd(0), CallBuffers.Receive(Int(2)), (nint)Int(2)));
            case "recv" or "recvfrom": return Done(Libc.recv(Fd(0), CallBuffers.Receive(Int(2)), (nint)Int(2), (int)(a.Length > 3 ? SyscallMapping.MsgFlagsOf(a[3], false) ?? 0 : 0)));
            case "shutdown":
                return Done(Libc.shutdown(Fd(0), (a[1] as WordExpr)?.Word switch { "SHUT_RD" => 0, "SHUT_WR" => 1, _ => 2 }));
            case "close": return Done(Libc.close(Fd(0)));
            case "dup": return Done(Libc.dup(Fd(0)));
            case "setsockopt": return SetOption(Fd(0), a);
            case "getsockopt": return GetOption(Fd(0), a);
            case "fcntl":
                if (a[1] is WordExpr { Word: "F_GETFL" }) return Done(Libc.fcntl(Fd(0), Libc.F_GETFL, 0));
                return Done(Libc.fcntl(Fd(0), Libc.F_SETFL, SyscallMapping.FileFlags(a[2]) ?? 0));
            case "ioctl":
            {
                ulong request = (a[1] as WordExpr)?.Word switch { "SIOCINQ" or "FIONREAD" => 0x541B, "SIOCOUTQ" or "TIOCOUTQ" => 0x5411, "SIOCOUTQNSD" => 0x894B, _ => 0 };
                int value = 0;
                int r = Libc.ioctl(Fd(0), request, ref value);
                return new CallOutcome(r, r < 0 ? Libc.Errno : 0, Libc.MonotonicNs(), IoctlValue: value);
            }
            case "poll":
            {
                var list = ((ListExpr)a[0]).Items;
                var fds = new Libc.PollFd[list.Length];
                for (int i = 0; i < list.Length; i++)
                {
                    var (fd, events, _) = SyscallMapping.PollFd(list[i])!.Value;
                    fds[i] = new Libc.PollFd { Fd = fd < 0 ? -1 : live(fd), Events = (short)events };
                }
                int r = Libc.poll(fds, (ulong)fds.Length, (int)Int(2));
                int errno = r < 0 ? Libc.Errno : 0;
                return new CallOutcome(r, errno, Libc.MonotonicNs(), Revents: [.. fds.Select(f => (int)(ushort)f.Revents)]);
            }
            default: throw new InvalidOperationException($"system call {s.Name}() is not run on the real kernel");
        }
    }

    static CallOutcome Done(long result)
    {
        int errno = result < 0 ? Libc.Errno : 0;
        return new CallOutcome(result, errno, Libc.MonotonicNs());
    }

    /// <summary>The level and number of an option name (include/uapi/asm-generic/socket.h, linux/tcp.h, linux/in.h).</summary>
    public static (int Level, int Name)? Option(string name) => name switch
    {
        "SO_REUSEADDR" => (1, 2), "SO_ERROR" => (1, 4), "SO_SNDBUF" => (1, 7), "SO_RCVBUF" => (1, 8), "SO_KEEPALIVE" => (1, 9),
        "SO_LINGER" => (1, 13), "SO_REUSEPORT" => (1, 15), "SO_RCVLOWAT" => (1, 18), "SO_RCVTIMEO" => (1, 20), "SO_SNDTIMEO" => (1, 21), "SO_MEMINFO" => (1, 55),
        "TCP_NODELAY" => (6, 1), "TCP_MAXSEG" => (6, 2), "TCP_CORK" => (6, 3), "TCP_KEEPIDLE" => (6, 4), "TCP_KEEPINTVL" => (6, 5),
        "TCP_KEEPCNT" => (6, 6), "TCP_SYNCNT" => (6, 7), "TCP_LINGER2" => (6, 8), "TCP_DEFER_ACCEPT" => (6, 9), "TCP_INFO" => (6, 11),
        "TCP_QUICKACK" => (6, 12), "TCP_CONGESTION" => (6, 13), "TCP_USER_TIMEOUT" => (6, 18), "TCP_NOTSENT_LOWAT" => (6, 25),
        "TCP_RTO_MAX_MS" => (6, 44),
        "IP_BIND_ADDRESS_NO_PORT" => (0, 24), "IP_LOCAL_PORT_RANGE" => (0, 51),
        _ => null,
    };

    CallOutcome SetOption(int fd, System.Collections.Immutable.ImmutableArray<ScriptExpr> a)
    {
        var (level, name) = Option((a[2] as WordExpr)?.Word ?? "") ?? (-1, -1);
        byte[] value;
        if (SyscallMapping.Linger(a[3]) is { } l)
        {
            value = new byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(value, l.OnOff);
            BinaryPrimitives.WriteInt32LittleEndian(value.AsSpan(4), l.Seconds);
        }
        else if (SyscallMapping.Timeval(a[3]) is { } tv)
        {
            value = new byte[16];
            BinaryPrimitives.WriteInt64LittleEndian(value, tv.Sec);
            BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), tv.Usec);
        }
        else if (a[3] is StringExpr str) value = Encoding.ASCII.GetBytes(str.Text + "\0");
        else
        {
            value = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(value, unchecked((uint)(SyscallMapping.IntValue(a[3]) ?? 0)));
        }
        int length = a.Length > 4 && SyscallMapping.IntValue(a[4]) is { } n ? (int)n : value.Length;
        if (length > value.Length) Array.Resize(ref value, length);
        return Done(Libc.setsockopt(fd, level, name, value, length));
    }

    static CallOutcome GetOption(int fd, System.Collections.Immutable.ImmutableArray<ScriptExpr> a)
    {
        var (level, name) = Option((a[2] as WordExpr)?.Word ?? "") ?? (-1, -1);
        var value = new byte[64];
        int length = a.Length > 4 && SyscallMapping.IntValue(a[4]) is { } n ? (int)n : 4;
        int r = Libc.getsockopt(fd, level, name, value, ref length);
        int errno = r < 0 ? Libc.Errno : 0;
        return new CallOutcome(r, errno, Libc.MonotonicNs(), Optval: value[..Math.Clamp(length, 0, value.Length)]);
    }

    /// <summary>
    /// getsockopt()'s value as the script wrote it, and the kernel's in the same form: a struct linger, a struct
    /// timeval, a string (TCP_CONGESTION) or an int; null when the script wrote nothing to compare.
    /// </summary>
    public static (string Expected, string Actual)? Optval(ScriptExpr written, byte[] optval)
    {
        if (SyscallMapping.Linger(written) is { } l)
            return ($"{{onoff={l.OnOff}, linger={l.Seconds}}}", optval.Length >= 8
                ? $"{{onoff={BinaryPrimitives.ReadInt32LittleEndian(optval)}, linger={BinaryPrimitives.ReadInt32LittleEndian(optval.AsSpan(4))}}}" : Hex(optval));
        if (SyscallMapping.Timeval(written) is { } tv)
            return ($"{{tv_sec={tv.Sec}, tv_usec={tv.Usec}}}", optval.Length >= 16
                ? $"{{tv_sec={BinaryPrimitives.ReadInt64LittleEndian(optval)}, tv_usec={BinaryPrimitives.ReadInt64LittleEndian(optval.AsSpan(8))}}}" : Hex(optval));
        if (written is StringExpr s)
        {
            int end = Array.IndexOf(optval, (byte)0);
            return ($"\"{s.Text}\"", $"\"{Encoding.ASCII.GetString(optval, 0, end < 0 ? optval.Length : end)}\"");
        }
        if (SyscallMapping.OptvalInts(written) is [var want])
        {
            long got = optval.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(optval) : optval.Length > 0 ? optval[0] : 0;
            // The script writes an int as signed or as a u32 (IP_LOCAL_PORT_RANGE's 0x9c409c40): compare the 32 bits.
            return (want.ToString(System.Globalization.CultureInfo.InvariantCulture),
                (unchecked((uint)want) == (uint)got ? want : got).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (SyscallMapping.OptvalInts(written) is { } wants)
        {
            // SO_MEMINFO's u32 meminfo[]: as many as the kernel copied (min(optlen, sizeof(meminfo))), up to the script's.
            var got = new long[Math.Min(wants.Length, optval.Length / 4)];
            for (int i = 0; i < got.Length; i++) got[i] = BinaryPrimitives.ReadUInt32LittleEndian(optval.AsSpan(4 * i));
            return (SyscallMapping.IntsText(wants), SyscallMapping.IntsText(got));
        }
        return null;
    }

    static string Hex(byte[] bytes) => Convert.ToHexString(bytes);

    /// <summary>An inet_addr("a.b.c.d") written as sin_addr, in host order; null when the script wrote "..." or no address.</summary>
    static uint? AddressOf(ScriptExpr? e) =>
        e is StructExpr s && s.Field("sin_addr") is CallExpr { Name: "inet_addr", Arguments: [StringExpr text] } && ParseIp(text.Text) is { } ip ? ip : null;

    /// <summary>A dotted IPv4 address in host order.</summary>
    public static uint? ParseIp(string text) =>
        System.Net.IPAddress.TryParse(text, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? BinaryPrimitives.ReadUInt32BigEndian(ip.GetAddressBytes())
            : null;
}

/// <summary>The errno names scripts write, by number (<see cref="ErrnoTable"/>: asm-generic/errno-base.h, errno.h).</summary>
internal static class ErrnoNames
{
    /// <summary>The name of an errno number (null for 0), or "errno N" for a number Linux does not define.</summary>
    public static string? Of(int errno) => errno == 0 ? null : ErrnoTable.NameOf(errno) ?? $"errno {errno}";

    /// <summary>The number of a script's errno name (EWOULDBLOCK is EAGAIN).</summary>
    public static int Number(string name) => ErrnoTable.Describe(name).Number;
}

/// <summary>struct tcp_info (include/uapi/linux/tcp.h) read from getsockopt(TCP_INFO): each field's offset and size.</summary>
internal static class TcpInfoLayout
{
    static readonly Dictionary<string, (int Offset, int Size)> Fields = new(StringComparer.Ordinal)
    {
        ["tcpi_state"] = (0, 1), ["tcpi_ca_state"] = (1, 1), ["tcpi_retransmits"] = (2, 1), ["tcpi_probes"] = (3, 1), ["tcpi_backoff"] = (4, 1),
        ["tcpi_options"] = (5, 1), ["tcpi_snd_wscale"] = (6, -4), ["tcpi_rcv_wscale"] = (6, 4), ["tcpi_delivery_rate_app_limited"] = (7, -1),
        ["tcpi_rto"] = (8, 4), ["tcpi_ato"] = (12, 4), ["tcpi_snd_mss"] = (16, 4), ["tcpi_rcv_mss"] = (20, 4), ["tcpi_unacked"] = (24, 4),
        ["tcpi_sacked"] = (28, 4), ["tcpi_lost"] = (32, 4), ["tcpi_retrans"] = (36, 4), ["tcpi_fackets"] = (40, 4), ["tcpi_last_data_sent"] = (44, 4),
        ["tcpi_last_ack_sent"] = (48, 4), ["tcpi_last_data_recv"] = (52, 4), ["tcpi_last_ack_recv"] = (56, 4), ["tcpi_pmtu"] = (60, 4),
        ["tcpi_rcv_ssthresh"] = (64, 4), ["tcpi_rtt"] = (68, 4), ["tcpi_rttvar"] = (72, 4), ["tcpi_snd_ssthresh"] = (76, 4), ["tcpi_snd_cwnd"] = (80, 4),
        ["tcpi_advmss"] = (84, 4), ["tcpi_reordering"] = (88, 4), ["tcpi_rcv_rtt"] = (92, 4), ["tcpi_rcv_space"] = (96, 4), ["tcpi_total_retrans"] = (100, 4),
        ["tcpi_pacing_rate"] = (104, 8), ["tcpi_max_pacing_rate"] = (112, 8), ["tcpi_bytes_acked"] = (120, 8), ["tcpi_bytes_received"] = (128, 8),
        ["tcpi_segs_out"] = (136, 4), ["tcpi_segs_in"] = (140, 4), ["tcpi_notsent_bytes"] = (144, 4), ["tcpi_min_rtt"] = (148, 4),
        ["tcpi_data_segs_in"] = (152, 4), ["tcpi_data_segs_out"] = (156, 4), ["tcpi_delivery_rate"] = (160, 8), ["tcpi_busy_time"] = (168, 8),
        ["tcpi_rwnd_limited"] = (176, 8), ["tcpi_sndbuf_limited"] = (184, 8), ["tcpi_delivered"] = (192, 4), ["tcpi_delivered_ce"] = (196, 4),
        ["tcpi_bytes_sent"] = (200, 8), ["tcpi_bytes_retrans"] = (208, 8), ["tcpi_dsack_dups"] = (216, 4), ["tcpi_reord_seen"] = (220, 4),
        ["tcpi_rcv_ooopack"] = (224, 4), ["tcpi_snd_wnd"] = (228, 4), ["tcpi_rcv_wnd"] = (232, 4),
        // 6.7's RTO statistics after tcpi_rehash (two __u16 then a __u32): without them a scenario's total_rto check
        // read nothing on the kernel (session 33).
        ["tcpi_rehash"] = (236, 4), ["tcpi_total_rto"] = (240, 2), ["tcpi_total_rto_recoveries"] = (242, 2), ["tcpi_total_rto_time"] = (244, 4),
    };

    /// <summary>Every field's name, in the struct's order.</summary>
    public static IEnumerable<string> Names => Fields.Keys;

    /// <summary>A field of the struct; null when this layout does not have it.</summary>
    public static long? Read(byte[] info, string field)
    {
        if (!Fields.TryGetValue(field, out var f)) return null;
        return f.Size switch
        {
            1 => info[f.Offset],
            -4 => info[f.Offset] & 0xf,       // the low nibble: the first bitfield on little-endian
            4 when f.Offset == 6 => info[f.Offset] >> 4,
            -1 => info[f.Offset] & 1,
            2 => BinaryPrimitives.ReadUInt16LittleEndian(info.AsSpan(f.Offset)),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(f.Offset)),
            _ => (long)BinaryPrimitives.ReadUInt64LittleEndian(info.AsSpan(f.Offset)),
        };
    }

    public static (int Level, int Name) Option => (6, 11);
}
