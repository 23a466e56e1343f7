namespace SimService.Cli;

/// <summary>The tool's exit codes, as CI reads them.</summary>
public static class ExitCodes
{
    /// <summary>Every file passed (or is valid; or the command did what it was asked).</summary>
    public const int Ok = 0;

    /// <summary>A check failed, or a run stopped on an error.</summary>
    public const int Failed = 1;

    /// <summary>Invalid input (usage, a missing path, an invalid file), an unreachable server, or an output path that cannot be written.</summary>
    public const int Invalid = 2;
}
