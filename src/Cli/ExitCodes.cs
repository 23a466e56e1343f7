namespace SimService.Cli;

/// <summary>The tool's exit codes, as CI reads them.</summary>
public static class ExitCodes
{
    /// <summary>Every file passed (or is valid; or the command did what it was asked).</summary>
    public const int Ok = 0;

    /// <summary>A check failed, or a run stopped on an error.</summary>
    public const int Failed = 1;

    /// <summary>Invalid input (usage, a missing path, an invalid file) or an unreachable server.</summary>
    public const int Invalid = 2;

    /// <summary>
    /// An output the command line names (<c>--json</c>, <c>--junit</c>, <c>--pcap</c>, <c>--diagram</c>, <c>--keep</c>,
    /// <c>--output</c>) could not be written. <c>run</c> and <c>kernel</c> still run every file and write every other
    /// output; this code then stands over the runs' own (0, 1 or 2), which their summary line still says.
    /// </summary>
    public const int OutputFailed = 3;

    /// <summary>
    /// Ctrl-C, SIGTERM or SIGHUP stopped the tool (128 + SIGINT, the shell's convention): whatever it was doing, waiting for
    /// the kernel lock or in the middle of a run whose report it still prints — a stopped run is not a failed check.
    /// </summary>
    public const int Interrupted = 130;
}
