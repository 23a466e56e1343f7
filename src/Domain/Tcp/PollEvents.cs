namespace SimService.Domain.Tcp;

/// <summary>poll() event bits (include/uapi/asm-generic/poll.h) and their names in bit order, as strace prints them.</summary>
public static class PollEvents
{
    public const int POLLIN = 0x001;
    public const int POLLPRI = 0x002;
    public const int POLLOUT = 0x004;
    public const int POLLERR = 0x008;
    public const int POLLHUP = 0x010;
    public const int POLLNVAL = 0x020;
    public const int POLLRDNORM = 0x040;
    public const int POLLRDBAND = 0x080;
    public const int POLLWRNORM = 0x100;
    public const int POLLWRBAND = 0x200;
    public const int POLLRDHUP = 0x2000;

    public static readonly IReadOnlyList<(string Name, int Bit)> Names =
    [
        ("POLLIN", POLLIN), ("POLLPRI", POLLPRI), ("POLLOUT", POLLOUT), ("POLLERR", POLLERR), ("POLLHUP", POLLHUP),
        ("POLLNVAL", POLLNVAL), ("POLLRDNORM", POLLRDNORM), ("POLLRDBAND", POLLRDBAND), ("POLLWRNORM", POLLWRNORM),
        ("POLLWRBAND", POLLWRBAND), ("POLLRDHUP", POLLRDHUP),
    ];

    /// <summary>"POLLIN|POLLOUT", or "0" for none.</summary>
    public static string Text(int mask)
    {
        var names = Names.Where(n => (mask & n.Bit) != 0).Select(n => n.Name).ToList();
        return names.Count == 0 ? "0" : string.Join("|", names);
    }

    /// <summary>The bit of a name, or 0 when unknown.</summary>
    public static int Of(string name) => Names.FirstOrDefault(n => n.Name == name).Bit;
}
