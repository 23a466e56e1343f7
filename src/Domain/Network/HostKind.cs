namespace SimService.Domain.Network;

/// <summary>A Linux host runs the simulated kernel; a scripted host only sends what it is told and records what it gets.</summary>
public enum HostKind
{
    Linux,
    Scripted,
}
