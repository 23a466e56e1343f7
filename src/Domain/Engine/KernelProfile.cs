namespace SimService.Domain.Engine;

/// <summary>
/// Which kernel's rules a simulation follows. <see cref="Linux6"/> is Linux 6.18 (the baseline every
/// behaviour is checked against); <see cref="Linux44"/> is the legacy 4.4 profile with tcp_tw_recycle
/// and per-host timestamps (docs/scenario-format.md, "kernel").
/// </summary>
public enum KernelProfile
{
    Linux6,
    Linux44,
}

public static class KernelProfiles
{
    /// <summary>The scenario format's spelling: "linux-6" and "linux-4.4".</summary>
    public static string ToWireName(this KernelProfile profile) => profile switch
    {
        KernelProfile.Linux6 => "linux-6",
        KernelProfile.Linux44 => "linux-4.4",
        _ => throw new ArgumentOutOfRangeException(nameof(profile)),
    };

    public static bool TryParse(string? text, out KernelProfile profile)
    {
        switch (text)
        {
            case "linux-6": profile = KernelProfile.Linux6; return true;
            case "linux-4.4": profile = KernelProfile.Linux44; return true;
            default: profile = KernelProfile.Linux6; return false;
        }
    }
}
