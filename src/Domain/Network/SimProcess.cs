using SimService.Domain.Tcp;

namespace SimService.Domain.Network;

/// <summary>A process on a host: it owns file descriptors; killing it closes them as exit() does.</summary>
public sealed class SimProcess(Host host, string name)
{
    public Host Host { get; } = host;
    public string Name { get; } = name;

    /// <summary>Open descriptors in the order they were opened (close-on-exit order).</summary>
    internal List<TcpSocket> Descriptors { get; } = [];

    /// <summary>
    /// Installs a socket as the lowest free descriptor (__alloc_fd: 0–2 are the standard streams),
    /// and returns that number.
    /// </summary>
    internal int Install(TcpSocket sk)
    {
        int fd = 3;
        while (Descriptors.Exists(d => d.Fd == fd)) fd++;
        sk.Fd = fd;
        sk.Owner = this;
        Descriptors.Add(sk);
        return fd;
    }

    /// <summary>PF_EXITING: set while exit closes the descriptors, so close() never lingers.</summary>
    public bool Exiting { get; internal set; }
    public bool Exited { get; internal set; }
}
