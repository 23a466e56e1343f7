using System.Globalization;
using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Cli.Kernel;

/// <summary>
/// A scenario host on the real kernel: a named network namespace of its own (<c>ip netns add</c>), so its sockets,
/// TIME-WAIT entries, MIB counters and sysctls are its own. A thread enters it with setns(CLONE_NEWNET), which moves
/// only that thread: sockets made there belong to the namespace, and /proc/thread-self/net shows its files.
/// </summary>
internal sealed class HostNamespace : IDisposable
{
    readonly int _fd;
    static int s_made;
    static readonly object s_making = new();
    static bool s_ended;

    HostNamespace(string host, string name, int fd)
    {
        Host = host;
        Name = name;
        _fd = fd;
        _work.Add(() => _notEntered = Enter());
        new Thread(_work.Serve) { IsBackground = true, Name = $"in {name}" }.Start();
    }

    /// <summary>The scenario's host name.</summary>
    public string Host { get; }

    /// <summary>The namespace's name (/run/netns/NAME).</summary>
    public string Name { get; }

    /// <summary>Makes the namespace; the error says why it could not be made.</summary>
    public static (HostNamespace? Namespace, string? Error) Create(string host)
    {
        var name = $"simk{Environment.ProcessId}-{Interlocked.Increment(ref s_made)}";
        lock (s_making)
        {
            if (s_ended) return (null, "the tool that started this run has ended");
            if (Netns.Ip("netns", "add", name) is { } error) return (null, error);
        }
        int fd = Libc.open($"/run/netns/{name}", 0);
        if (fd < 0)
        {
            Netns.Ip("netns", "del", name);
            return (null, $"cannot open /run/netns/{name} (errno {Libc.Errno})");
        }
        var ns = new HostNamespace(host, name, fd);
        return (ns, ns.Ip("link", "set", "lo", "up"));
    }

    /// <summary>
    /// No namespace is made from now on, and one being made is finished first (<see cref="ParentWatch"/>: the tool has
    /// ended and the child removes what it made — a namespace added after that listing would stay on the machine).
    /// </summary>
    public static void EndMaking()
    {
        lock (s_making) s_ended = true;
    }

    /// <summary>
    /// Moves the calling thread into the namespace: null, or why the kernel refused (the thread is then still where it was).
    /// </summary>
    public string? Enter() => Libc.setns(_fd, Libc.CLONE_NEWNET) == 0 ? null : $"setns into {Name} failed (errno {Libc.Errno})";

    /// <summary>
    /// For tests: a namespace whose descriptor is <paramref name="fd"/> (one that names no network namespace, /dev/null's,
    /// makes every setns() into it fail with EINVAL); nothing is made, and disposing it closes the descriptor.
    /// </summary>
    internal static HostNamespace OfDescriptor(string host, string name, int fd) => new(host, name, fd) { _made = false };

    /// <summary>
    /// Runs <paramref name="work"/> on the namespace's own thread (a real-time one, in the namespace since it started:
    /// a sysctl write or a /proc read costs no thread or setns while the scenario runs) and waits for it, spinning first
    /// (<see cref="Libc.SpinBriefly"/>); the namespace thread spins for its next item too (<see cref="RunnerQueue"/>), so
    /// the hand-overs of an expect step's reading, one per host and file, follow each other without a wake-up between.
    /// </summary>
    public T Run<T>(Func<T> work)
    {
        T result = default!;
        Exception? failed = null;
        // Not disposed: the namespace thread may still be inside Set() when the waiter sees it set (RunnerQueue's go, fb9ce50).
        var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try
            {
                if (_notEntered is { } why) throw new InvalidOperationException(why);
                result = work();
            }
            catch (Exception e)
            {
                failed = e;
            }
            done.Set();
        });
        if (!Libc.SpinBriefly(() => done.IsSet)) done.Wait();
        if (failed is not null) throw new InvalidOperationException(failed.Message, failed);
        return result;
    }

    readonly RunnerQueue _work = new();
    volatile string? _notEntered = "not entered yet";
    bool _made = true;

    /// <summary>ip -n NAME …: the error text, or null.</summary>
    public string? Ip(params string[] args) => Netns.Ip(["-n", Name, .. args]);

    /// <summary>Writes a sysctl in the namespace; the error text, or null.</summary>
    public string? WriteSysctl(string name, string value) => Run(() => Netns.WriteSysctl(name, value));

    /// <summary>A sysctl's value as the namespace shows it (white space collapsed), null when it has no such file.</summary>
    public string? ReadSysctl(string name) => Run(() =>
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/sys/" + name.Replace('.', '/')).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    });

    /// <summary>
    /// Brings the namespace to the engine's defaults: every per-namespace sysctl of the engine's catalog whose value here
    /// differs (a new namespace takes some from the host: tcp_congestion_control is bbr on this machine) is written with
    /// the engine's default. The differences found, as "name: namespace value → engine value", and the writes refused.
    /// </summary>
    public (List<string> Changed, List<string> Errors) ApplyEngineDefaults(KernelProfile profile)
    {
        var changed = new List<string>();
        var errors = new List<string>();
        foreach (var def in SysctlCatalog.All.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            if (def.Scope != SysctlScope.Netns || !SysctlCatalog.Exists(def.Name, profile)) continue;
            var want = SysctlCatalog.DefaultFor(def, profile);
            var have = ReadSysctl(def.Name);
            if (have is null || have == string.Join(' ', want.Split(' ', StringSplitOptions.RemoveEmptyEntries))) continue;
            if (WriteSysctl(def.Name, want) is { } error) errors.Add(error);
            else changed.Add($"{def.Name}: {have} -> {want}");
        }
        return (changed, errors);
    }

    /// <summary>/proc/net/FILE of the namespace (netstat, snmp, sockstat).</summary>
    public string ReadProcNet(string file) => Run(() => File.ReadAllText($"/proc/thread-self/net/{file}"));

    /// <summary>
    /// The MIB counters of /proc/net/netstat and /proc/net/snmp, keyed "TcpExt.TW", "Tcp.CurrEstab" … (the header line
    /// of each table names the values of the line after it).
    /// </summary>
    public Dictionary<string, long> Counters()
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in new[] { "netstat", "snmp" })
        {
            var lines = ReadProcNet(file).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i + 1 < lines.Length; i += 2)
            {
                var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                for (int k = 1; k < Math.Min(names.Length, values.Length); k++)
                    if (long.TryParse(values[k], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
                        counters[$"{names[0].TrimEnd(':')}.{names[k]}"] = v;
            }
        }
        return counters;
    }

    /// <summary>/proc/net/sockstat's TCP line of the namespace: inuse, orphan, tw, alloc, mem.</summary>
    public Dictionary<string, long> Sockstat()
    {
        var line = ReadProcNet("sockstat").Split('\n').FirstOrDefault(l => l.StartsWith("TCP:", StringComparison.Ordinal)) ?? "";
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 1; i + 1 < words.Length; i += 2)
            if (long.TryParse(words[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) values[words[i]] = v;
        return values;
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        Libc.close(_fd);
        if (_made) Netns.Ip("netns", "del", Name);
    }
}
