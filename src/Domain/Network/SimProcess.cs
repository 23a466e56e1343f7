using SimService.Domain.Tcp;

namespace SimService.Domain.Network;

/// <summary>A process on a host: it owns file descriptors; killing it closes them as exit() does.</summary>
public sealed class SimProcess(Host host, string name)
{
    public Host Host { get; } = host;
    public string Name { get; } = name;

    /// <summary>Open descriptors in the order they were opened (close-on-exit order).</summary>
    internal List<TcpSocket> Descriptors { get; } = [];

    /// <summary>PF_EXITING: set while exit closes the descriptors, so close() never lingers.</summary>
    public bool Exiting { get; internal set; }
    public bool Exited { get; internal set; }
}
