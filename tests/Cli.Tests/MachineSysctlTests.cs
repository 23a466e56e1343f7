extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>kernel --machine-orphans</c> / <c>--machine-mem</c>: net.ipv4.tcp_max_orphans and net.ipv4.tcp_mem are machine-wide
/// (init_net only), so a scenario that sets one runs only with its flag, with one value for all its hosts, and only while the
/// machine's own orphans / TCP pages would not be judged too (a tcp_mem run also only up to 10 s).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MachineSysctlTests
{
    private static ScenarioDocument Parse(string text) => ScenarioParser.Parse(text).Document!;

    [Theory]
    [InlineData("orphan-overflow-rst.json", "Orphans", "1", "client")]
    [InlineData("tcp-mem-pressure-clamps-receive-window.json", "Mem", "0 0 100000000", "client,server")]
    public void MachineSysctl_ScenarioSettingIt_NotRunWithoutItsFlag_RunWithIt(string file, string flagName, string value, string hosts)
    {
        var flag = Enum.Parse<MachineWide>(flagName);
        var doc = Parse(File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios", file)));
        var kind = MachineSysctl.Of(flag).Single();

        var without = KernelScenarioRunner.Unsupported(doc, (MachineWide.Orphans | MachineWide.Mem) & ~flag);
        var with = KernelScenarioRunner.Unsupported(doc, flag);

        Assert.Equal(hosts.Split(',').Select(h => $"$.hosts.{h}.sysctls.{kind.Sysctl}"), without.Select(e => e.Path));
        Assert.All(without, e => Assert.Contains($"{kind.Option} sets it", e.Message, StringComparison.Ordinal));
        Assert.Empty(with);
        Assert.Equal((value, (string?)null), kind.ValueOf(doc));
    }

    [Fact]
    public void MachineOrphans_HostsSettingDifferentLimits_Refused()
    {
        var doc = Parse("""
            {
              "name": "two-limits",
              "hosts": {
                "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_max_orphans": 1 } },
                "b": { "address": "10.0.0.2", "sysctls": { "net.ipv4.tcp_max_orphans": 2 } }
              },
              "steps": [ { "at": "0ms", "host": "b", "call": "listen", "port": 80, "as": "l" } ]
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Orphans));

        Assert.Equal("$.hosts", error.Path);
        Assert.Equal("the hosts set different net.ipv4.tcp_max_orphans values (1, 2): the machine has one", error.Message);
    }

    [Fact]
    public void MachineOrphans_OrphansOnTheMachine_RefuseTheRun()
    {
        Assert.Null(MachineSysctl.OrphanRefusal(0));
        Assert.Equal("not run: 23 orphans on the machine (sockstat), which net.ipv4.tcp_max_orphans would judge too; run it when there are none",
            MachineSysctl.OrphanRefusal(23));
        Assert.Equal("not run: 1 orphan on the machine (sockstat), which net.ipv4.tcp_max_orphans would judge too; run it when there are none",
            MachineSysctl.OrphanRefusal(1));
    }

    [Fact]
    public void MachineMem_RunPastTenSeconds_Refused()
    {
        var doc = Parse("""
            {
              "name": "long-pressure",
              "hosts": { "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_mem": "0 0 100000000" } } },
              "steps": [ { "at": "0ms", "host": "a", "call": "listen", "port": 80, "as": "l" } ],
              "runUntil": "11s"
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Mem));

        Assert.Equal("$.steps", error.Path);
        Assert.StartsWith("runs past 10s of real time with net.ipv4.tcp_mem set on the whole machine", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MachineMem_MachinePagesAtANonzeroLimit_RefuseTheRun()
    {
        Assert.Null(MachineSysctl.MemRefusal("0 0 100000000", 262));
        Assert.Null(MachineSysctl.MemRefusal("0 0 0", 262));
        Assert.Null(MachineSysctl.MemRefusal("300 400 600", 299));
        Assert.Equal("not run: 300 TCP pages on the machine (sockstat mem) reach net.ipv4.tcp_mem's 300; run it when fewer are in use",
            MachineSysctl.MemRefusal("300 400 600", 300));
    }

    /// <summary>
    /// Without runUntil a --machine-mem run goes on until the kernel is idle, up to 130 s under the scenario's tcp_mem: refused
    /// at $.runUntil (review36b M-1: "at most 10 s" did not hold).
    /// </summary>
    [Fact]
    public void MachineMem_NoRunUntil_Refused()
    {
        var doc = Parse("""
            {
              "name": "open-ended-pressure",
              "hosts": { "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_mem": "0 0 100000000" } } },
              "steps": [ { "at": "0ms", "host": "a", "call": "listen", "port": 80, "as": "l" } ]
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Mem));

        Assert.Equal("$.runUntil", error.Path);
        Assert.StartsWith("--machine-mem needs runUntil", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A value a run left set — its process gone without restoring it (SIGKILL) — is restored by the next kernel run and
    /// said; a saved value of a run still alive (this process) is left alone (review36b M-2). Restores the machine's own
    /// value of net.ipv4.tcp_max_orphans, so nothing changes.
    /// </summary>
    [KernelFact]
    public void RestoreLeftovers_ValueOfARunThatDied_WrittenBackAndSaid_ALiveRunsKept() => WithSavedFolder(uid: 0, place =>
    {
        var current = File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim();
        var gone = GonePid();
        File.WriteAllText(MachineSysctl.Orphans.At(place).Saved, $"{gone}\nnet.ipv4.tcp_max_orphans\n{current}\n");
        File.WriteAllText(MachineSysctl.Mem.At(place).Saved, $"{Environment.ProcessId}\nnet.ipv4.tcp_mem\n0 0 0\n");
        var said = new StringWriter();

        MachineSysctl.RestoreLeftovers(said, place);

        Assert.Equal($"simservice: kernel: restored net.ipv4.tcp_max_orphans to {current}, left set on the whole machine by a run that did not end (process {gone})\n", said.ToString());
        Assert.Equal((false, true), (File.Exists(MachineSysctl.Orphans.At(place).Saved), File.Exists(MachineSysctl.Mem.At(place).Saved)));
        Assert.Equal(current, File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim());
    });

    /// <summary>
    /// A run killed (SIGKILL) and not yet reaped by its parent is a zombie: its /proc/PID/stat still holds its start time, but it
    /// has ended — its lock went with its files — so its value is restored by the run that took the lock (tester40 HIGH-1: the
    /// waiting run counted it alive and ran, as the next one could, with the killed run's tcp_mem on the whole machine). The
    /// zombie here is a child of a shell that exec'd sleep, which never reaps it. Restores the machine's own tcp_max_orphans.
    /// </summary>
    [KernelFact]
    public void RestoreLeftovers_ValueOfARunKilledButNotYetReaped_Restored() => WithSavedFolder(uid: 0, place =>
    {
        // The child reads one byte from the test and exits after the shell became `sleep infinity`, which never waits for it.
        var start = new System.Diagnostics.ProcessStartInfo("sh", ["-c", "exec 3<&0; head -c1 <&3 >/dev/null & echo $!; exec sleep infinity 3<&-"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        using var parent = System.Diagnostics.Process.Start(start)!;
        int zombie = int.Parse(parent.StandardOutput.ReadLine()!);
        try
        {
            parent.StandardInput.Write('x');
            parent.StandardInput.Close();
            Assert.True(SpinWait.SpinUntil(() => File.ReadAllText($"/proc/{zombie}/stat").Split(") ")[1].StartsWith('Z'), TimeSpan.FromSeconds(30)));
            var current = File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim();
            File.WriteAllText(MachineSysctl.Orphans.At(place).Saved, $"{MachineSysctl.Saver(zombie)}\nnet.ipv4.tcp_max_orphans\n{current}\n");
            Assert.NotNull(MachineSysctl.StartTime(zombie)); // its stat stands, start time and all

            AssertOrphansRestored(place, current, process: zombie);
        }
        finally
        {
            parent.Kill(); // init reaps the zombie
            parent.WaitForExit();
        }
    });

    /// <summary>
    /// Under the machine's kernel-run lock only this process's saved value is a live run's: a killed run's value whose pid
    /// another process now has (pid 1 here) is restored, not kept for good (review37b S-1: /proc/PID existing kept it, and
    /// with it every --machine-* run refused). Since session 38 the file holds the run's start time too: one pid 1 does not
    /// have (it started later) is restored as well, the process named by its id alone.
    /// </summary>
    [KernelTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void RestoreLeftovers_ValueSavedUnderAPidAnotherProcessNowHas_Restored(bool withStartTime) => WithSavedFolder(uid: 0, place =>
    {
        Assert.NotNull(KernelRunLock.Machine); // the lock is on, as on every machine that runs kernel runs by default
        var current = File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim();
        var saver = withStartTime ? $"1 {long.Parse(MachineSysctl.StartTime(1)!) + 1}" : "1";
        File.WriteAllText(MachineSysctl.Orphans.At(place).Saved, $"{saver}\nnet.ipv4.tcp_max_orphans\n{current}\n");

        AssertOrphansRestored(place, current, process: 1);
    });

    /// <summary>
    /// A saved value whose process is alive — the same pid and start time (/proc/PID/stat's 22nd field) — is a live run's:
    /// kept, whatever lock this process holds (tester38 MEDIUM-2: under its own SIMSERVICE_KERNEL_LOCK file a run counted
    /// every other pid dead, restored a running --machine-mem run's tcp_mem mid-run and deleted its saved file). Pid 1 stands
    /// for the other run. The value is the machine's own, so nothing would change if it were restored.
    /// </summary>
    [Fact]
    public void RestoreLeftovers_ValueOfAnotherLiveRun_KeptUnderTheLock() => WithSavedFolder(Libc.geteuid(), place =>
    {
        Assert.NotNull(KernelRunLock.Machine);
        var saved = MachineSysctl.Orphans.At(place).Saved;
        File.WriteAllText(saved, $"{MachineSysctl.Saver(1)}\nnet.ipv4.tcp_max_orphans\n{File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim()}\n");
        File.SetUnixFileMode(saved, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var said = new StringWriter();

        MachineSysctl.RestoreLeftovers(said, place);

        Assert.Equal("", said.ToString());
        Assert.True(File.Exists(saved));
    });

    /// <summary>
    /// A second run that would set the sysctl while a live run has it set (a run under another lock file, or none) is refused
    /// saying so — the saved file is that run's, not one to write back by hand (tester38 MEDIUM-2). The value asked is the
    /// machine's own tcp_mem.
    /// </summary>
    [Fact]
    public void Set_WhileAnotherLiveRunHasItSet_RefusedNamingThatRun() => WithSavedFolder(Libc.geteuid(), place =>
    {
        var current = string.Join(' ', File.ReadAllText("/proc/sys/net/ipv4/tcp_mem").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var kind = MachineSysctl.Mem.At(place);
        File.WriteAllText(kind.Saved, $"{MachineSysctl.Saver(1)}\nnet.ipv4.tcp_mem\n{current}\n");
        File.SetUnixFileMode(kind.Saved, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var (setting, error) = kind.Set(current);

        setting?.Dispose();
        Assert.Equal($"not set: process 1, a kernel run still going, has net.ipv4.tcp_mem set on the whole machine (its value to restore is kept in {kind.Saved}); " +
            "run this when it has ended", error);
        Assert.True(File.Exists(kind.Saved));
    });

    /// <summary>
    /// The saved values sat in /run/lock, which every user may write: a file there that another user could have planted —
    /// writable by others, a symbolic link, a second name — or whose
    /// value is not one of the sysctl it names, is not restored but said, and left (tester37 HIGH-1: a file planted by
    /// nobody was written as root into tcp_mem). The values are the machine's own, so nothing would change if restored.
    /// </summary>
    [Theory]
    [InlineData("others may write", "others may write it (mode 666)")]
    [InlineData("symbolic link", "it is a symbolic link")]
    [InlineData("another sysctl", "it names 'net.ipv4.tcp_rmem', not net.ipv4.tcp_mem")]
    [InlineData("two numbers", "'4096 8192' is not three whole numbers")]
    [InlineData("a sign", "'+1 2 3' is not three whole numbers")]
    [InlineData("one line", "it does not hold a process id, the sysctl's name and a value on three lines")]
    [InlineData("CRLF lines", "it names 'net.ipv4.tcp_mem\\r', not net.ipv4.tcp_mem")]
    [InlineData("a hard link", "it has 2 names (hard links), not one")]
    [InlineData("cut short", "it is cut short (its last line has no line end): it is not what a run wrote")]
    [InlineData("a fourth line", "it does not hold a process id, the sysctl's name and a value on three lines")]
    [InlineData("too long", "it is 300 bytes long, more than a kept value's 256")]
    public void RestoreLeftovers_AFileSomeoneElseCouldHavePlanted_NotRestored_Said(string what, string why)
    {
        uint me = Libc.geteuid();
        WithSavedFolder(me, place =>
        {
            var current = string.Join(' ', File.ReadAllText("/proc/sys/net/ipv4/tcp_mem").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            var text = what switch
            {
                "another sysctl" => $"{GonePid()}\nnet.ipv4.tcp_rmem\n{current}\n",
                "two numbers" => $"{GonePid()}\nnet.ipv4.tcp_mem\n4096 8192\n",
                "a sign" => $"{GonePid()}\nnet.ipv4.tcp_mem\n+1 2 3\n",
                "one line" => $"{GonePid()}\n",
                "CRLF lines" => $"{GonePid()}\r\nnet.ipv4.tcp_mem\r\n{current}\r\n",
                // Cut before its last line end only, so that an engine without the check writes back the machine's own value
                // (a cut inside the last number — "… 1228" of "… 12288" — is the harm, and would lower the machine's limit).
                "cut short" => $"{GonePid()}\nnet.ipv4.tcp_mem\n{current}",
                "a fourth line" => $"{GonePid()}\nnet.ipv4.tcp_mem\n{current}\n{current}\n",
                "too long" => $"{GonePid()}\nnet.ipv4.tcp_mem\n{current}\n".PadRight(300, '#'),
                _ => $"{GonePid()}\nnet.ipv4.tcp_mem\n{current}\n",
            };
            var saved = MachineSysctl.Mem.At(place).Saved;
            if (what == "symbolic link")
            {
                File.WriteAllText(saved + ".target", text);
                File.CreateSymbolicLink(saved, saved + ".target");
            }
            else
            {
                File.WriteAllText(saved, text);
                File.SetUnixFileMode(saved, what == "others may write" ? (UnixFileMode)0b110_110_110 : UnixFileMode.UserRead | UnixFileMode.UserWrite);
                // Another user's second name for it (a hard link keeps the owner and mode the checks read).
                if (what == "a hard link") Assert.Equal(0, link(saved, saved + ".planted"));
            }
            var said = new StringWriter();

            MachineSysctl.RestoreLeftovers(said, place);

            Assert.Equal($"simservice: kernel: net.ipv4.tcp_mem not restored from {saved}: {why}; " +
                "it is left there (remove it if no kernel run of yours was killed)\n", said.ToString());
            Assert.True(File.Exists(saved) || File.ResolveLinkTarget(saved, false) is not null);
        });
    }

    /// <summary>
    /// The value to restore is written to a new file only (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600): a symbolic link or a file
    /// planted at its name is refused — the link's target is not overwritten — and the sysctl is not set (tester37 HIGH-1).
    /// The value set would be the machine's own tcp_mem.
    /// </summary>
    [Fact]
    public void Set_APlantedFileOrLinkAtTheSavedName_Refused_NotFollowed_NotSet() => WithSavedFolder(Libc.geteuid(), place =>
    {
        var current = string.Join(' ', File.ReadAllText("/proc/sys/net/ipv4/tcp_mem").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var saved = MachineSysctl.Mem.At(place).Saved;
        File.WriteAllText(saved + ".target", "precious\n");
        File.CreateSymbolicLink(saved, saved + ".target");

        var (setting, error) = MachineSysctl.Mem.At(place).Set(current);

        setting?.Dispose();
        Assert.Null(setting);
        Assert.Equal($"cannot keep net.ipv4.tcp_mem's value to restore in {saved} (a file is already there that no restore took (see the line above, if any): if it holds the machine's own value, write that back by hand, then remove it): not set", error);
        Assert.Equal("precious\n", File.ReadAllText(saved + ".target"));
        File.Delete(saved);

        Assert.Null(SavedValue.Create(saved, "1\n"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(saved));
    });

    /// <summary>The machine's case: a saved value owned by nobody (uid 65534) is not restored by root (tester37 HIGH-1).</summary>
    [KernelFact]
    public void RestoreLeftovers_AFileOfNobodys_NotRestoredByRoot() => WithSavedFolder(uid: 0, place =>
    {
        var saved = MachineSysctl.Orphans.At(place).Saved;
        File.WriteAllText(saved, $"{GonePid()}\nnet.ipv4.tcp_max_orphans\n{File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim()}\n");
        File.SetUnixFileMode(saved, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using (var chown = System.Diagnostics.Process.Start("chown", ["65534", saved])!)
        {
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }
        var said = new StringWriter();

        MachineSysctl.RestoreLeftovers(said, place);

        Assert.Equal($"simservice: kernel: net.ipv4.tcp_max_orphans not restored from {saved}: it is owned by uid 65534, not root; " +
            "it is left there (remove it if no kernel run of yours was killed)\n", said.ToString());
    });

    /// <summary>
    /// A write of the value to restore that fails after the file was made (ENOSPC, EIO; here the second byte on) removes the
    /// file and says so: left cut short, the next run refused it — or, empty, deleted it — while this run went on to set
    /// the sysctl with nothing kept to restore (review37b N-3).
    /// </summary>
    [Fact]
    public void SavedValue_AWriteThatFails_FileRemoved_Said() => WithSavedFolder(Libc.geteuid(), place =>
    {
        var saved = MachineSysctl.Mem.At(place).Saved;

        var error = SavedValue.Create(saved, "1\nnet.ipv4.tcp_mem\n1 2 3\n", (handle, bytes) =>
        {
            RandomAccess.Write(handle, bytes.AsSpan(0, 1), 0);
            throw new IOException("No space left on device");
        });

        Assert.Equal("writing it failed: No space left on device; the file is removed", error);
        Assert.False(File.Exists(saved));
    });

    /// <summary>
    /// A delete that fails after a failed write (here the file was replaced by a folder: EISDIR) is said, naming the file to
    /// remove by hand; it threw past the run's refusal (review38a N-2).
    /// </summary>
    [Fact]
    public void SavedValue_AWriteThatFails_ThenADeleteThatFails_Said() => WithSavedFolder(Libc.geteuid(), place =>
    {
        var saved = MachineSysctl.Mem.At(place).Saved;

        var error = SavedValue.Create(saved, "1\nnet.ipv4.tcp_mem\n1 2 3\n", (_, _) =>
        {
            File.Delete(saved);
            Directory.CreateDirectory(saved);
            throw new IOException("No space left on device");
        });

        Assert.StartsWith("writing it failed: No space left on device; removing the file failed too (", error);
        Assert.EndsWith($"): remove {saved} by hand", error);
    });

    /// <summary>
    /// A value written back whose file cannot then be deleted (here a folder stands at its name: EISDIR) is said — the next
    /// run writes the same value back again —, not thrown out of the run's end (review38a N-2). The machine's own value.
    /// </summary>
    [KernelFact]
    public void Restore_ADeleteThatFails_Said() => WithSavedFolder(uid: 0, place =>
    {
        var current = File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim();
        var kind = MachineSysctl.Orphans.At(place);
        Directory.CreateDirectory(kind.Saved);
        var said = new StringWriter();

        kind.Restore(current, said);

        Assert.StartsWith($"simservice: kernel: restored net.ipv4.tcp_max_orphans to {current}, but could not remove {kind.Saved} (", said.ToString());
        Assert.EndsWith("): the next kernel run writes it back again unless it is removed\n", said.ToString());
        Assert.Equal(current, File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim());
    });

    /// <summary>
    /// A file a run before session 37 left — "PID\nVALUE\n", without the sysctl's name, which the file's name gives — is
    /// restored; one whose value is not the sysctl's is left, saying what to do (review37b N-4: both were refused as naming
    /// their value, "remove it", and the machine kept the killed run's value). Restores the machine's own tcp_max_orphans.
    /// </summary>
    [KernelFact]
    public void RestoreLeftovers_AnOlderTwoLineFile_Restored() => WithSavedFolder(uid: 0, place =>
    {
        var current = File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim();
        var gone = GonePid();
        File.WriteAllText(MachineSysctl.Orphans.At(place).Saved, $"{gone}\n{current}\n");

        AssertOrphansRestored(place, current, gone);
    });

    [Fact]
    public void RestoreLeftovers_AnOlderTwoLineFileWithoutAValue_NotRestored_SaysWhatToDo() => WithSavedFolder(Libc.geteuid(), place =>
    {
        var saved = MachineSysctl.Mem.At(place).Saved;
        File.WriteAllText(saved, $"{GonePid()}\n4096 8192\n");
        File.SetUnixFileMode(saved, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var said = new StringWriter();

        MachineSysctl.RestoreLeftovers(said, place);

        Assert.Equal($"simservice: kernel: net.ipv4.tcp_mem not restored from {saved}: it holds an older simservice's two lines (a process id, then the value) " +
            "and '4096 8192' is not three whole numbers: if a kernel run of yours was killed, write the machine's own value back first (sysctl -w net.ipv4.tcp_mem=\"…\"); " +
            "it is left there (remove it if no kernel run of yours was killed)\n", said.ToString());
        Assert.True(File.Exists(saved));
    });

    /// <summary>
    /// The place of the saved values and their owner are given to each call (<see cref="SavedPlace"/>), not process statics a
    /// test sets: these tests set them while other test classes ran in parallel, and a kernel run on another test's thread
    /// then restored from a test's folder or refused root's file (review37b N-2).
    /// </summary>
    [Fact]
    public void SavedValues_NoProcessWideSettingATestCouldChange()
    {
        var writable = new[] { typeof(MachineSysctl), typeof(MachineSysctl.Kind), typeof(SavedValue) }
            .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
            .Where(f => !f.IsInitOnly && !f.IsLiteral).Select(f => $"{f.DeclaringType!.Name}.{f.Name}");

        Assert.Empty(writable);
    }

    [System.Runtime.InteropServices.DllImport("libc")] private static extern int link(string existing, string added);

    /// <summary>
    /// The saved values' folder is used only when it is the owner's alone (review39a S-2: they were kept in /run/lock, where
    /// any user could plant a file at a saved value's name — refusing every --machine-mem run — or put a hard link to an old
    /// one back): one any user may write, as /run/lock, another's, or a symbolic link to a good one, is said and nothing in it
    /// is restored, though it holds a good saved value of a run that died; a --machine-mem run is refused before it sets anything.
    /// The values are the machine's own, so nothing would change if restored.
    /// </summary>
    [Theory]
    [InlineData("like /run/lock", "others may use it (mode 1777, not 700)")]
    [InlineData("group may enter", "others may use it (mode 710, not 700)")]
    [InlineData("another owner", "it is owned by uid {me}, not uid {other}")]
    [InlineData("symbolic link", "it is a symbolic link")]
    [InlineData("a file", "it is not a folder")]
    public void SavedFolder_NotTheOwnersAlone_NothingRestored_NothingSet_Said(string what, string why)
    {
        uint me = Libc.geteuid();
        var good = Tool.TempFolder();
        File.SetUnixFileMode(good, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var place = new SavedPlace(what is "symbolic link" or "a file" ? Path.Combine(Tool.TempFolder(), "saved") : good, what == "another owner" ? me + 1 : me);
        if (what == "symbolic link") Directory.CreateSymbolicLink(place.Folder, good);
        if (what == "a file") File.WriteAllText(place.Folder, "");
        if (what == "like /run/lock") File.SetUnixFileMode(good, (UnixFileMode)0b1_111_111_111);
        if (what == "group may enter") File.SetUnixFileMode(good, (UnixFileMode)0b111_001_000);
        var current = string.Join(' ', File.ReadAllText("/proc/sys/net/ipv4/tcp_mem").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var saved = Path.Combine(good, Path.GetFileName(MachineSysctl.Mem.At(place).Saved));
        File.WriteAllText(saved, $"{GonePid()}\nnet.ipv4.tcp_mem\n{current}\n");
        File.SetUnixFileMode(saved, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var said = new StringWriter();

        MachineSysctl.RestoreLeftovers(said, place);
        var (setting, error) = MachineSysctl.Orphans.At(place).Set(File.ReadAllText("/proc/sys/net/ipv4/tcp_max_orphans").Trim());

        setting?.Dispose();
        why = why.Replace("{other}", $"{me + 1}").Replace("{me}", $"{me}");
        Assert.Equal($"simservice: kernel: the values to restore in {place.Folder} are not read: {why}; nothing is restored and no --machine-orphans " +
            $"or --machine-mem run is made until it is a folder of {SavedValue.Whose(place.Owner)}'s alone (mode 700)\n", said.ToString());
        Assert.Equal($"cannot keep net.ipv4.tcp_max_orphans's value to restore in {place.Folder} ({why}): not set", error);
        Assert.True(File.Exists(saved));
        Assert.False(File.Exists(Path.Combine(good, Path.GetFileName(MachineSysctl.Orphans.At(place).Saved))));
    }

    /// <summary>A missing folder is made, root's alone (mode 0700), and used: a value saved in it by a run that died is then restored.</summary>
    [Fact]
    public void SavedFolder_Missing_MadeTheOwnersAlone()
    {
        var place = new SavedPlace(Path.Combine(Tool.TempFolder(), "saved"), Libc.geteuid());

        Assert.Null(SavedValue.Folder(place));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(place.Folder));
        Assert.Null(SavedValue.Folder(place));
    }

    /// <summary>Runs <paramref name="test"/> with the saved values in a folder of its own (mode 0700), which must be owned by <paramref name="uid"/>.</summary>
    /// <summary>
    /// A value a build from before session 40 saved in its older folder (/run/lock, every user's) is named, once per sysctl,
    /// and neither read nor removed (review40a S-1: it was never restored nor mentioned, so a killed run's value stayed set).
    /// </summary>
    [Fact]
    public void RestoreLeftovers_AValueInTheOlderFolder_Named_NotRead() => WithSavedFolder(Libc.geteuid(), place =>
    {
        var older = Tool.TempFolder();
        var file = $"{older}/simservice-kernel.net.ipv4.tcp_mem.saved";
        File.WriteAllText(file, $"{GonePid()}\nnet.ipv4.tcp_mem\n1 2 3\n");
        var said = new StringWriter();

        MachineSysctl.RestoreLeftovers(said, place with { OlderFolder = older });

        Assert.Equal($"simservice: kernel: a value to restore from an older simservice is in {file}: not read (that folder is every user's); " +
            "if a kernel run of yours was killed, write the machine's own value back by hand (sysctl -w net.ipv4.tcp_mem=\"…\"), then remove it\n", said.ToString());
        Assert.True(File.Exists(file));
    });

    private static void WithSavedFolder(uint uid, Action<SavedPlace> test)
    {
        var folder = Tool.TempFolder();
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        test(new SavedPlace(folder, uid));
    }

    /// <summary>Restores what <paramref name="place"/> holds: tcp_max_orphans written back to <paramref name="current"/> and said, naming <paramref name="process"/>; the file gone.</summary>
    private static void AssertOrphansRestored(SavedPlace place, string current, int process)
    {
        var said = new StringWriter();

        MachineSysctl.RestoreLeftovers(said, place);

        Assert.Equal($"simservice: kernel: restored net.ipv4.tcp_max_orphans to {current}, left set on the whole machine by a run that did not end (process {process})\n", said.ToString());
        Assert.False(File.Exists(MachineSysctl.Orphans.At(place).Saved));
    }

    /// <summary>The id of a process that has ended.</summary>
    private static int GonePid()
    {
        using var gone = System.Diagnostics.Process.Start("true")!;
        gone.WaitForExit();
        return gone.Id;
    }

    /// <summary>
    /// --machine-mem sets one tcp_mem for the machine, so a host that does not set it would run under the default on the
    /// engine and under the scenario's value on the kernel: refused, naming that host (review36b S-4).
    /// </summary>
    [Fact]
    public void MachineMem_AHostWithoutIt_Refused()
    {
        var doc = Parse("""
            {
              "name": "one-host-pressure",
              "hosts": {
                "a": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_mem": "0 0 100000000" } },
                "b": { "address": "10.0.0.2" }
              },
              "links": [ { "between": ["a", "b"] } ],
              "steps": [ { "at": "0ms", "host": "b", "call": "listen", "port": 80, "as": "l" } ],
              "runUntil": "1s"
            }
            """);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc, MachineWide.Mem));

        Assert.Equal("$.hosts.b.sysctls", error.Path);
        Assert.StartsWith("--machine-mem sets one net.ipv4.tcp_mem for the whole machine: every host must set it", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>What a kernel run says about the saved values, run on this machine's kernel (one file at a time).</summary>
[Collection(RealKernelCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SavedValueKernelRunTests
{
    /// <summary>
    /// A saved file the run does not trust is said once per file run (tester38 LOW-3: RunFile and the child's run it
    /// started each looked, and every warning was printed twice). Standard error is the run's own while it runs: the
    /// collection runs alone.
    /// </summary>
    [KernelFact]
    public void KernelRun_ASavedFileNotTrusted_SaidOnce()
    {
        var place = new SavedPlace(Tool.TempFolder(), Libc.geteuid());
        File.SetUnixFileMode(place.Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var saved = MachineSysctl.Mem.At(place).Saved;
        File.WriteAllText(saved, "1\nnet.ipv4.tcp_mem\n0 0 0\n");
        File.SetUnixFileMode(saved, (UnixFileMode)0b110_110_110);
        var (files, _) = cli::SimService.Cli.Files.FileCollector.Collect([Path.Combine(Tool.RepoRoot, "packetdrill", "rst-to-closed-port.pkt")]);
        var said = new StringWriter();
        var before = Console.Error;
        Console.SetError(said);
        try
        {
            var (result, _) = cli::SimService.Cli.Commands.KernelCommand.RunFile(files[0], false, MachineWide.None, CancellationToken.None, place);
            Assert.Equal(cli::SimService.Cli.Running.FileOutcome.Passed, result.Outcome);
        }
        finally
        {
            Console.SetError(before);
        }

        Assert.Single(said.ToString().Split('\n'), l => l.Contains(saved, StringComparison.Ordinal));
    }

    /// <summary>
    /// --machine-mem and --machine-orphans on a scenario that sets neither sysctl: each says so in a note, as every machine-wide
    /// value set is noted (tester41 LOW-7: the run passed without a word, so a job meant to test memory pressure did not learn it).
    /// </summary>
    [KernelFact]
    public void MachineFlags_ScenarioSettingNeither_NoteSaysNothingWasSet()
    {
        var file = Tool.TempFile("listen-only.json");
        File.WriteAllText(file, """{"name":"listen-only","hosts":{"a":{"address":"10.0.0.1"}},"steps":[{"host":"a","call":"listen","port":80}],"runUntil":"100ms"}""");
        var (files, _) = cli::SimService.Cli.Files.FileCollector.Collect([file]);
        var place = new SavedPlace(Tool.TempFolder(), Libc.geteuid());
        File.SetUnixFileMode(place.Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var (result, child) = cli::SimService.Cli.Commands.KernelCommand.RunFile(files[0], false, MachineWide.Orphans | MachineWide.Mem, CancellationToken.None, place);

        Assert.Equal(cli::SimService.Cli.Running.FileOutcome.Passed, result.Outcome);
        Assert.Equal(["--machine-orphans: the scenario sets no net.ipv4.tcp_max_orphans; nothing set on the machine",
            "--machine-mem: the scenario sets no net.ipv4.tcp_mem; nothing set on the machine"], child!.Notes!.TakeLast(2));
    }
}
