using SimService.Cli.Reports;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Kernel;

/// <summary>The machine-wide sysctls <c>simservice kernel</c> may set on the whole machine for a scenario's run (each by its flag).</summary>
[Flags]
internal enum MachineWide
{
    None = 0,
    /// <summary>--machine-orphans: net.ipv4.tcp_max_orphans.</summary>
    Orphans = 1,
    /// <summary>--machine-mem: net.ipv4.tcp_mem.</summary>
    Mem = 2,
}

/// <summary>
/// <c>kernel --machine-orphans</c> / <c>--machine-mem</c>: a scenario's <c>net.ipv4.tcp_max_orphans</c> or
/// <c>net.ipv4.tcp_mem</c> set on the whole machine for its run. Both sysctls are global (net/ipv4/sysctl_net_ipv4.c
/// registers them for init_net only) and what they judge is the machine's — <c>tcp_orphan_count</c>,
/// <c>tcp_memory_allocated</c> and the pressure flag — so the parent, in the initial namespace, writes the value before
/// the run and restores the original after it. Refused while the machine's own count would be judged too: any orphan
/// (tcp_too_many_orphans()), or TCP pages (sockstat <c>mem</c>) already at a nonzero threshold of the scenario's triple
/// (__sk_mem_raise_allocated() compares the machine's sum).
/// </summary>
internal sealed class MachineSysctl : IDisposable
{
    /// <summary>One such sysctl: its flag, name, what its run's note says is judged, why the machine cannot run it now (given the value and sockstat's TCP line).</summary>
    internal sealed record Kind(MachineWide Flag, string Sysctl, string Judged, Func<string, IReadOnlyDictionary<string, long>, string?> Refusal)
    {
        /// <summary>Where its value to restore is kept, and whose that file must be: the machine's place unless a test gives its own.</summary>
        public SavedPlace Place { get; init; } = SavedPlace.Machine;

        /// <summary>This sysctl with its value to restore kept at <paramref name="place"/>.</summary>
        public Kind At(SavedPlace place) => this with { Place = place };

        public string Option => Flag == MachineWide.Orphans ? "--machine-orphans" : "--machine-mem";

        /// <summary>The value the scenario's hosts set (null when none does), or why the hosts cannot share one machine-wide value.</summary>
        public (string? Value, string? Error) ValueOf(ScenarioDocument doc)
        {
            var values = doc.Hosts.SelectMany(h => h.Sysctls).Where(s => s.Name == Sysctl).Select(s => Words(s.Text)).Distinct(StringComparer.Ordinal).ToList();
            return values.Count switch
            {
                0 => (null, null),
                1 => (values[0], null),
                _ => (null, $"the hosts set different {Sysctl} values ({string.Join(", ", values)}): the machine has one"),
            };
        }

        string File => "/proc/sys/" + Sysctl.Replace('.', '/');

        /// <summary>Sets the value after checking the machine can take it; the setting to restore, or why it was not set.</summary>
        public (MachineSysctl? Setting, string? Error) Set(string value)
        {
            if (SavedValue.Folder(Place) is { } unused)
                return (null, $"cannot keep {Sysctl}'s value to restore in {Place.Folder} ({unused}): not set");
            string original;
            try
            {
                original = Words(System.IO.File.ReadAllText(File));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"cannot read {File} ({e.Message}): {Sysctl} exists only in the initial network namespace");
            }
            if (SockstatTcp() is not { } tcp) return (null, "cannot read the TCP line of /proc/net/sockstat");
            if (Refusal(value, tcp) is { } refusal) return (null, refusal);
            // Written down first, so that a run killed before it restores the value leaves it to the next run (RestoreLeftovers).
            if (SavedValue.Create(Saved, $"{Saver(Environment.ProcessId)}\n{Sysctl}\n{original}\n") is { } unsaved)
                return (null, LiveSaver() is { } saver
                    ? $"not set: process {saver}, a kernel run still going, has {Sysctl} set on the whole machine (its value to restore is kept in {Saved}); run this when it has ended"
                    : $"cannot keep {Sysctl}'s value to restore in {Saved} ({unsaved}): not set");
            if (Netns.WriteSysctl(Sysctl, value) is { } error)
            {
                // A vector write refused part-way has stored the numbers before the bad one (__do_proc_dointvec()): put them back.
                Restore(original, Console.Error);
                return (null, error);
            }
            return (new MachineSysctl(this, original, value), null);
        }

        /// <summary>
        /// Why <paramref name="value"/> is not a value of this sysctl as the kernel reads it back, or null: tcp_mem three
        /// unsigned longs (proc_doulongvec_minmax()), tcp_max_orphans one int (proc_dointvec()) of 0 or more.
        /// </summary>
        internal string? NotAValue(string value)
        {
            var words = value.Split(' ');
            bool plain = words.All(w => w.Length > 0 && w.All(char.IsAsciiDigit));
            return Flag == MachineWide.Mem
                ? plain && words.Length == 3 && words.All(w => ulong.TryParse(w, out _)) ? null : $"'{value}' is not three whole numbers"
                : plain && words.Length == 1 && int.TryParse(value, out _) ? null : $"'{value}' is not a whole number from 0 to {int.MaxValue}";
        }

        /// <summary>The process id of the live run whose value to restore <see cref="Saved"/> holds, or null (none, or its run is gone).</summary>
        string? LiveSaver()
        {
            var (text, _) = SavedValue.Read(Saved, Place.Owner);
            return text?.Split('\n')[0] is { } first && Alive(first) ? first.Split(' ')[0] : null;
        }

        /// <summary>
        /// Where the value to restore is kept while a run has the sysctl set (<see cref="SavedValue"/>): the run's process
        /// id and its start time (<see cref="Saver"/>), the sysctl's name, then the value.
        /// </summary>
        internal string Saved => $"{Place.Folder}/simservice-kernel.{Sysctl}.saved";

        /// <summary>Writes <paramref name="original"/> back and forgets it; a write that fails is said, and the saved value kept for the next run.</summary>
        internal void Restore(string original, TextWriter error)
        {
            if (Netns.WriteSysctl(Sysctl, original) is { } failed)
            {
                error.WriteLine($"simservice: kernel: could not restore {Sysctl} to {original} ({failed}); it is kept in {Saved} and the next kernel run restores it");
                return;
            }
            // Restored: a file left by a delete that failed only makes the next run write the same value back (review38a N-2).
            if (SavedValue.Remove(Saved) is { } kept)
                error.WriteLine($"simservice: kernel: restored {Sysctl} to {original}, but could not remove {Saved} ({kept}): the next kernel run writes it back again unless it is removed");
        }
    }

    /// <summary>
    /// Restores what a run that ended without restoring left set on the machine — killed (SIGKILL), or its restore refused
    /// (review36b M-2): a saved value whose run's process is gone is written back, and said. Called by every kernel run
    /// under the machine's lock, before it runs anything (<paramref name="place"/>: the machine's unless a test gives its own).
    /// </summary>
    public static void RestoreLeftovers(TextWriter error, SavedPlace? place = null)
    {
        place ??= SavedPlace.Machine;
        NameOlderLeftovers(error, place);
        // A folder others may use holds nothing to trust (review39a S-2); made here when missing, so that it is root's from the start.
        if (SavedValue.Folder(place) is { } unused)
        {
            error.WriteLine(ConsoleReport.Shown($"simservice: kernel: the values to restore in {place.Folder} are not read: {unused}; " +
                $"nothing is restored and no {Orphans.Option} or {Mem.Option} run is made until it is a folder of {SavedValue.Whose(place.Owner)}'s alone (mode 700)"));
            return;
        }
        foreach (var kind in new[] { Orphans, Mem }.Select(k => k.At(place)))
        {
            var (text, distrust) = SavedValue.Read(kind.Saved, kind.Place.Owner);
            if (text is null && distrust is null) continue;
            var saved = (text ?? "").Split('\n');
            if (Alive(saved[0])) continue;
            // Killed before it wrote anything (the sysctl is written after it): nothing to restore.
            if (text == "")
            {
                if (SavedValue.Remove(kind.Saved) is { } kept)
                    error.WriteLine($"simservice: kernel: could not remove the empty {kind.Saved} ({kept}): remove it, or every {kind.Option} run is refused");
                continue;
            }
            // Before session 37 a run kept "PID\nVALUE\n", without the sysctl's name: the file's name gives it (review37b N-4:
            // such a file was refused as naming its value, and the advice to remove it lost the machine's value).
            bool older = saved is [_, var second, ""] && second != kind.Sysctl;
            distrust ??= older ? kind.NotAValue(saved[1]) is { } bad ? $"it holds an older simservice's two lines (a process id, then the value) and {bad}: " +
                    $"if a kernel run of yours was killed, write the machine's own value back first (sysctl -w {kind.Sysctl}=\"…\")" : null
                // Each line ends in a line end (Set writes the three at once): a file cut short in its value ("819" of
                // "8192") is not written back as a smaller number, nor one with more lines read for its first three (review38a N-1).
                : text![^1] != '\n' ? "it is cut short (its last line has no line end): it is not what a run wrote"
                : saved.Length != 4 ? "it does not hold a process id, the sysctl's name and a value on three lines"
                : saved[1] != kind.Sysctl ? $"it names '{saved[1]}', not {kind.Sysctl}"
                : kind.NotAValue(saved[2]);
            if (distrust is not null)
            {
                // Shown escaped: a stray character (a CRLF file's \r) made "it names 'net.ipv4.tcp_mem', not net.ipv4.tcp_mem" (tester38 LOW-4).
                error.WriteLine(ConsoleReport.Shown($"simservice: kernel: {kind.Sysctl} not restored from {kind.Saved}: {distrust}; it is left there (remove it if no kernel run of yours was killed)"));
                continue;
            }
            var value = older ? saved[1] : saved[2];
            kind.Restore(value, error);
            error.WriteLine($"simservice: kernel: restored {kind.Sysctl} to {value}, left set on the whole machine by a run that did not end (process {saved[0].Split(' ')[0]})");
        }
    }

    /// <summary>
    /// Names, never reads, a value a build from before session 40 left to restore in /run/lock (review40a S-1): that folder is
    /// every user's, so its file is not trusted (review39a S-2), but a run killed under such a build left the machine's sysctl
    /// set, and the first run of this build would otherwise say nothing of it.
    /// </summary>
    static void NameOlderLeftovers(TextWriter error, SavedPlace place)
    {
        if (place.OlderFolder is not { } older) return;
        foreach (var sysctl in new[] { Orphans, Mem }.Select(k => k.Sysctl))
            if ($"{older}/simservice-kernel.{sysctl}.saved" is var path && SavedValue.Exists(path))
                error.WriteLine($"simservice: kernel: a value to restore from an older simservice is in {path}: not read (that folder is every user's); " +
                    $"if a kernel run of yours was killed, write the machine's own value back by hand (sysctl -w {sysctl}=\"…\"), then remove it");
    }

    /// <summary>
    /// Whether the run that saved a value may still be going, from the saved file's first line. Since session 38 it holds the
    /// run's process id and start time (<see cref="Saver"/>): alive while that pid's process started then — a pid another
    /// process reused after a killed run does not keep the value (review37b S-1), and a live run's value is kept from a run
    /// under any lock file, or none (tester38 MEDIUM-2: under <c>SIMSERVICE_KERNEL_LOCK=FILE</c> a run counted every other
    /// pid dead and restored a running --machine-mem run's tcp_mem mid-run). An older file's pid alone: under the
    /// machine's lock only this process can be; without it, any process of that pid. A process that is exiting — a zombie its
    /// parent has not reaped, or one inside do_exit() — has ended: its files, the machine's lock with them, were closed in
    /// exit_files() before exit_notify() made it a zombie, so the next run, waiting for that lock, gets it while the killed
    /// run's /proc/PID/stat still stands (tester40 HIGH-1: counted alive, and its tcp_mem left set for that run and the next).
    /// One read decides (review40c S-1: with two, a zombie reaped between them counted alive), and no process is an ended one.
    /// </summary>
    static bool Alive(string first) => first.Split(' ') switch
    {
        [var pid, var start] => int.TryParse(pid, out var id) && id > 0 && Stat(id) is { Length: > 19 } fields && fields[19] == start && !Exiting(fields),
        [var pid] => int.TryParse(pid, out var id) && (id == Environment.ProcessId || KernelRunLock.Machine is null && Stat(id) is { Length: > 6 } fields && !Exiting(fields)),
        _ => false,
    };

    /// <summary>
    /// Whether process <paramref name="pid"/> is exiting or has exited: PF_EXITING (0x4) in its flags, which exit_signals() sets
    /// at the start of do_exit(), before exit_files(), and a zombie keeps (/proc/PID/stat's 9th field); state Z or X as well.
    /// </summary>
    internal static bool Exiting(int pid) => Stat(pid) is { Length: > 6 } fields && Exiting(fields);

    /// <summary><see cref="Exiting(int)"/> from <see cref="Stat"/>'s fields.</summary>
    static bool Exiting(string[] fields) => fields[0] is "Z" or "X" || ulong.TryParse(fields[6], out var flags) && (flags & 0x4) != 0;

    /// <summary>A saved file's first line for process <paramref name="pid"/>: its id and start time, which tell it from a later process given the same id.</summary>
    internal static string Saver(int pid) => $"{pid} {StartTime(pid)}";

    /// <summary>
    /// When process <paramref name="pid"/> started, in clock ticks after boot (/proc/PID/stat's 22nd field, starttime), or
    /// null when there is no such process. The fields after the command's closing parenthesis are counted: the command
    /// itself may hold spaces and parentheses.
    /// </summary>
    internal static string? StartTime(int pid) => Stat(pid) is { Length: > 19 } fields ? fields[19] : null;

    /// <summary>/proc/PID/stat's fields after the command's closing parenthesis (the state first), or null when there is no such process.</summary>
    static string[]? Stat(int pid)
    {
        string stat;
        try
        {
            stat = System.IO.File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A sysctl's text with its words one space apart (tcp_mem reads back tab-separated).</summary>
    static string Words(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    public static readonly Kind Orphans = new(MachineWide.Orphans, "net.ipv4.tcp_max_orphans", "every orphan on the machine counted",
        (_, tcp) => OrphanRefusal(tcp.GetValueOrDefault("orphan")));

    public static readonly Kind Mem = new(MachineWide.Mem, "net.ipv4.tcp_mem", "every TCP page on the machine counted, its TCP under these limits meanwhile",
        (value, tcp) => MemRefusal(value, tcp.GetValueOrDefault("mem")));

    /// <summary>The kinds the flags name.</summary>
    public static IEnumerable<Kind> Of(MachineWide flags) => new[] { Orphans, Mem }.Where(k => flags.HasFlag(k.Flag));

    /// <summary>The kind of <paramref name="sysctl"/>, or null when it is no sysctl a flag sets machine-wide.</summary>
    public static Kind? Named(string sysctl) => sysctl == Orphans.Sysctl ? Orphans : sysctl == Mem.Sysctl ? Mem : null;

    /// <summary>Why a run may not change tcp_max_orphans with <paramref name="orphans"/> orphans on the machine, or null.</summary>
    public static string? OrphanRefusal(long orphans) => orphans == 0 ? null
        : $"not run: {orphans} orphan{(orphans == 1 ? "" : "s")} on the machine (sockstat), which {Orphans.Sysctl} would judge too; run it when there are none";

    /// <summary>
    /// Why a run may not set tcp_mem to <paramref name="value"/> with <paramref name="pages"/> TCP pages on the machine, or null:
    /// when they already reach one of its nonzero thresholds, the machine's other sockets would decide the run.
    /// </summary>
    public static string? MemRefusal(string value, long pages)
    {
        var limits = value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => long.TryParse(t, out var n) ? n : 0).Where(n => n > 0).ToList();
        return limits.Count == 0 || pages < limits.Min() ? null
            : $"not run: {pages} TCP pages on the machine (sockstat mem) reach {Mem.Sysctl}'s {limits.Min()}; run it when fewer are in use";
    }

    /// <summary>/proc/net/sockstat's TCP line (inuse, orphan, tw, alloc, mem), or null when it cannot be read.</summary>
    public static IReadOnlyDictionary<string, long>? SockstatTcp()
    {
        foreach (var line in System.IO.File.ReadLines("/proc/net/sockstat"))
        {
            if (!line.StartsWith("TCP:", StringComparison.Ordinal)) continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var fields = new Dictionary<string, long>(StringComparer.Ordinal);
            for (int i = 1; i + 1 < words.Length; i += 2)
                if (long.TryParse(words[i + 1], out var n)) fields[words[i]] = n;
            return fields;
        }
        return null;
    }

    readonly Kind _kind;
    readonly string _original;

    MachineSysctl(Kind kind, string original, string value)
    {
        _kind = kind;
        _original = original;
        Note = $"{kind.Sysctl} set to {value} on the whole machine for the run (it was {original}; restored after it): {kind.Judged}";
    }

    /// <summary>What the run's notes say about the change.</summary>
    public string Note { get; }

    /// <summary>Restores the original value (a failure is said on standard error, and the next run restores it).</summary>
    public void Dispose() => _kind.Restore(_original, Console.Error);
}
