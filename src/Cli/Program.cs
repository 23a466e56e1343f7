using SimService.Cli;
using SimService.Cli.Commands;

// simservice: runs SimService scenario files like a test runner (README "Use in CI").
const string usage = """
    usage: simservice <command> [options]

      run PATH...        run scenario files (*.json) and packetdrill scripts (*.pkt); folders are searched recursively
                         (not through symbolic links to folders); regular files of at most 64 MiB are read
          --in-process       on the engine linked into the tool (the default)
          --server URL       on a SimService server; --api-key KEY (or SIMSERVICE_API_KEY) is sent as X-Api-Key; each
                             passed file's simulation is deleted after its run (failed ones are kept), --keep keeps all
          --junit FILE       write a JUnit XML report        --json FILE   write the raw results
          --pcap DIR         save failed runs' packet captures  --diagram DIR  their sequence diagrams
          --timeout SECONDS  per request to the server, in process per file's run in wall time (default 600); a run
                             past it stops with an error saying the virtual time it got to
          --event-budget N   in process, the most engine events a file's run may process (default 2000000, at most
                             50000000); a run that needs more stops with an error at the step or line it was running
          --max-hosts N      in process, the most hosts a scenario may make, its own and its workloads' generated clients
                             (default 64, a server's default quota; at most 250000): a file past it is refused at that field
          --max-sockets N    in process, the most sockets a scenario's run may allocate (default 100000, a server's default
                             quota; at most 500000): the run stops at the step that passes it
          --record           packetdrill scripts of inbound segments and calls only: print every outbound segment,
                             call result and tcp_info value the engine produced instead of checking them
      kernel PATH...     run packetdrill scripts (*.pkt) and scenarios (*.json) on this machine's real Linux kernel instead of
                         the engine: a network namespace per script or scenario host, TUN devices as the wire, a user-space
                         link emulator for a scenario's links (needs root and /dev/net/tun)
          --junit FILE  --json FILE   as for run        --verbose   print every event as it happened
          --trace            print a scenario's segments on the engine and on the kernel side by side
          --diff             compare a scenario's whole outcome with the engine's beyond its expectations: packets per
                             link direction, every socket's state at each expect step and at the end, Tcp/TcpExt counters
          --strict           as --diff, and exit 1 when a scenario differs
          --counters         run each script on the engine too and print how its Ip/Tcp/TcpExt/IpExt counter changes differ
                             (with --record and --fuzz-pkt: each case's, under its verdict, and a summary at the end)
          --machine-orphans  a scenario's net.ipv4.tcp_max_orphans set on the whole machine for its run and restored, sockstat's
                             orphan count checked; refused while the machine has orphans
          --machine-mem      a scenario's net.ipv4.tcp_mem set on the whole machine for its run (at most 10 s) and restored;
                             refused while the machine's TCP pages (sockstat mem) reach one of its nonzero limits
          --record           record-mode scripts recorded on the engine and on the kernel and compared (a difference exits 1)
          --fuzz-pkt N       N random record-mode scripts (seeds --seed S, S+1, …; default 1) compared the same way;
                             --keep DIR keeps the cases and the recordings of those that differ; --shrink cuts a
                             differing case down line by line (fuzz-N.min.pkt); --fuzz-edges starts each walk
                             at an edge state (SYN-SENT, SYN-RECV, crossing FINs, zero-window FIN-WAIT-1,
                             TIME-WAIT, SHUT_RD); --fuzz-teardown at a teardown draw (shutdown then close,
                             unread data at close, TCP_NODELAY/TCP_CORK, zero window, small SO_RCVBUF, window
                             shrink, out-of-order FIN, SACK reneging, TCP_USER_TIMEOUT, TCP_DEFER_ACCEPT);
                             --fuzz-sysctls starts each case with random sysctls
                             (tcp_rfc1337, tcp_sack, tcp_timestamps, tcp_window_scaling, retries, tcp_fin_timeout, …);
                             --fuzz-rcv mixes receive-path moves into the walk (out-of-order data, holes filled,
                             FINs beyond a hole and data after them, several SACK blocks, in-window RSTs, data
                             after SHUT_RD or close); --fuzz-opts gives the peer's segments odd TCP options
                             (an EOL before the timestamp, SYN options on other segments, the timestamp twice,
                             SACK blocks without SACK agreed, an MSS or window scale past the kernel's bounds)
      fuzz               a differential fuzzer: random teardown scenarios (2–3 hosts, 1–4 connections, random calls, sysctls,
                         black holes), each run on the engine and on this machine's kernel and compared as kernel --diff does;
                         a difference is re-run before it is believed (needs what kernel needs)
          --cases N  --seed S  how many cases of which seed (20, 1); --case I  only case I of the seed
          --keep DIR         keep every case's scenario file in DIR     --shrink  make a differing case smaller
          --engine           only draw, validate and run the cases on the engine
          --profile listen   draw listen-queue and port-limit cases instead (bursts of connects, late accepts)
          --profile timers   draw timer-driven teardowns under black holes instead (retries, user timeout, keepalive,
                             FIN-WAIT-2 and zero-window orphans, the black hole lifted at a random moment)
          --profile loss     draw teardowns during loss recovery instead (bulk writes over a link losing 0–30 % of
                             each direction's segments, the same ones on both sides; close, shutdown, SO_LINGER
                             mid-recovery; tcp_sack, tcp_dsack, tcp_timestamps, tcp_early_retrans, tcp_recovery,
                             tcp_frto, retries, reno/cubic, tcp_slow_start_after_idle with idle gaps between
                             writes, small SO_SNDBUF/SO_RCVBUF, a last read before a reader's teardown)
          --profile limits   draw many-connection limits instead (connect() churn over 4–40-port ranges to
                             EADDRNOTAVAIL, tcp_tw_reuse, small tcp_max_tw_buckets, bind()/SO_REUSEADDR,
                             client- or server-first closes, SYN to a TIME-WAIT 4-tuple, kills, SO_LINGER {1,0})
          --profile app      draw application teardown stories instead (a story per connection: request and response,
                             close with data unread, SHUT_WR read to EOF, SHUT_RD then data, dup/dup2 descriptors
                             closed in turn, TCP_CORK/MSG_MORE/TCP_NODELAY around close, connect(AF_UNSPEC),
                             SO_LINGER {1,0} and {1,N}, a tiny SO_RCVBUF's zero window, keepalive with
                             TCP_USER_TIMEOUT, SO_REUSEADDR reconnect onto TIME-WAIT, children never accepted;
                             the listener closed or the server or a pool process killed; poll, SO_ERROR)
          --profile observe  draw teardowns looked at as judged scenarios look (each alias's state, ss timer and time left
                             at every expect step; getsockopt of every core option, SO_ERROR and TCP_INFO's counts read
                             back; SO_LINGER {1,N} closes under black holes timed by returnsAfter; teardown sysctls drawn
                             together: tcp_max_tw_buckets, tcp_tw_reuse, tcp_rfc1337, tcp_abort_on_overflow, syncookies,
                             somaxconn, retries, keepalive; a pool process killed with all its connections)
          --profile options  draw socket options and flags in teardown stories instead (MSG_PEEK, SO_RCVLOWAT and
                             TCP_NOTSENT_LOWAT with poll, TCP_QUICKACK, TCP_MAXSEG, a send asleep until SO_SNDTIMEO, a
                             recv until SO_RCVTIMEO, loopback connections and a reconnect onto their TIME-WAIT under
                             tcp_tw_reuse, IP_LOCAL_PORT_RANGE to EADDRNOTAVAIL, a TCP_SYNCNT connect under a black
                             hole, a TCP_DEFER_ACCEPT listener, SO_REUSEPORT listeners; getsockopt values compared)
          --profile close    draw teardown edges instead (both ends closing at once over a link losing chosen
                             segments: crossing FINs, CLOSING, an RST crossing a FIN; SO_LINGER {1,N} running out
                             on a zero window, then the orphan's probes; TCP_USER_TIMEOUT on a zero window whose
                             probes the peer answers)
          --profile workload draw a small workload step instead (1–6 connections, any closeFirst and closeStyle) under
                             sysctls no other profile draws (tcp_window_scaling, tcp_rto_min_us, tcp_rto_max_ms,
                             tcp_retries1 (timers' too), tcp_comp_sack_*, tcp_no_metrics_save, reno, …), with sysctl
                             steps and link changes while it closes (a black hole healed, loss by segment, a slower
                             direction)
          --profile mtu      draw MTU probing and ECN instead (a bulk transfer under tcp_mtu_probing 0/1/2, tcp_base_mss,
                             tcp_mtu_probe_floor, tcp_min_snd_mss, tcp_probe_interval, tcp_probe_threshold and
                             tcp_ecn 0/1/2, tcp_ecn_fallback on each side, through a black hole that heals or a loss
                             by segment, a lost SYN now and then, a probing sysctl changed mid-run)
      validate PATH...   check files against the format and its schema without running them
      export --server URL [--output FILE [--force]] ID   save a simulation as a scenario file
      new [--output FILE [--force]]                      print a commented starter scenario
                         (--output - is stdout; an existing FILE is replaced only with --force)

    exit codes: 0 all passed, 1 a check failed, 2 invalid input or an unreachable server, 3 an output that cannot be written, 130 interrupted
                (run and kernel still run every file and write every other output; an output's folder must exist, a
                folder option makes its own folder only)
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Out.Write(usage);
    return args.Length == 0 ? ExitCodes.Invalid : ExitCodes.Ok;
}
if (args[0] is "--version")
{
    Console.Out.WriteLine($"simservice {typeof(ExitCodes).Assembly.GetName().Version?.ToString(3)}");
    return ExitCodes.Ok;
}

var (options, flags) = args[0] switch
{
    "run" => (RunCommand.Options, RunCommand.Flags),
    "kernel" => (KernelCommand.Options, KernelCommand.Flags),
    "fuzz" => (FuzzCommand.Options, FuzzCommand.Flags),
    "validate" => ([], []),
    "export" => (ExportCommand.Options, ["force"]),
    "new" => (new[] { "output" }, new[] { "force" }),
    _ => ((string[]?)null, (string[]?)null),
};
if (options is null) return RunCommand.Usage(Console.Error, $"unknown command '{args[0]}' (run, kernel, fuzz, validate, export, new; --help)");
if (args[1..].Any(a => a is "-h" or "--help"))
{
    Console.Out.Write(usage);
    return ExitCodes.Ok;
}
var (line, error) = CommandLine.Parse(args[1..], options, flags!);
if (line is null) return RunCommand.Usage(Console.Error, $"{args[0]}: {error}");

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
// SIGTERM and SIGHUP stop the tool as Ctrl-C does, through its cleanup: .NET's default ends the process without running it,
// which left a kernel run's machine-wide sysctl set (review36b M-2).
using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
using var hangUp = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, c => { c.Cancel = true; cancel.Cancel(); });
try
{
    int code = args[0] switch
    {
        "run" => await RunCommand.RunAsync(line, Console.Out, Console.Error, cancel.Token),
        "kernel" => KernelCommand.Run(line, Console.Out, Console.Error, cancel.Token),
        "fuzz" => FuzzCommand.Run(line, Console.Out, Console.Error, cancel.Token),
        "validate" => ValidateCommand.Run(line, Console.Out, Console.Error, cancel.Token),
        "export" => await ExportCommand.RunAsync(line, Console.Out, Console.Error, cancel.Token),
        _ => NewCommand.Run(line, Console.Out, Console.Error),
    };
    // A run the signal stopped reports what it got to, and exits as interrupted, not as a failed check (tester37 LOW-3).
    return cancel.IsCancellationRequested ? ExitCodes.Interrupted : code;
}
catch (SimService.Cli.Files.OutputFileException e)
{
    Console.Error.WriteLine(SimService.Cli.Reports.ConsoleReport.Shown($"simservice: {args[0]}: {e.Message}"));
    return ExitCodes.OutputFailed;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("simservice: interrupted");
    return ExitCodes.Interrupted;
}
