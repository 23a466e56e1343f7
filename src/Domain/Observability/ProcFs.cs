using System.Formats.Tar;
using System.Text;
using SimService.Domain.Network;

namespace SimService.Domain.Observability;

/// <summary>A host's /proc/net files, on disk or as a tar archive, for tools that read a procfs tree (node_exporter --path.procfs).</summary>
public static class ProcFs
{
    /// <summary>The files under /proc as the kernel prints them for a v4-only host, in a fixed order: net/sockstat … net/snmp6.</summary>
    public static IReadOnlyList<(string Path, string Text)> Files(Host host) =>
    [
        ("net/sockstat", ProcNetSockstat.Format(host)),
        ("net/sockstat6", ProcNetSockstat.Sockstat6),
        ("net/tcp", ProcNetTcp.Format(host)),
        ("net/tcp6", ProcNetTcp.Tcp6),
        ("net/netstat", ProcNetNetstat.Format(host)),
        ("net/snmp", ProcNetSnmp.Format(host)),
        ("net/snmp6", ProcNetSnmp.Snmp6(host.Sim.Profile)),
    ];

    /// <summary>Writes net/{sockstat,sockstat6,tcp,tcp6,netstat,snmp,snmp6} under <paramref name="directory"/>.</summary>
    public static void WriteTree(Host host, string directory)
    {
        Directory.CreateDirectory(Path.Combine(directory, "net"));
        foreach (var (path, text) in Files(host)) File.WriteAllText(Path.Combine(directory, path), text);
    }

    /// <summary>
    /// The same tree as a POSIX (ustar) tar: "net/" then its files, read-only as procfs shows them
    /// (0555, 0444), owned by root, stamped with the simulation's virtual time (seconds since the epoch).
    /// Extract it and point node_exporter's --path.procfs at the folder.
    /// </summary>
    public static byte[] Tar(Host host)
    {
        var stamp = DateTimeOffset.UnixEpoch.AddTicks(host.Sim.Now.Ns / 100);
        using var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Ustar, leaveOpen: true))
        {
            tar.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "net/")
            {
                Mode = (UnixFileMode)0b101_101_101, ModificationTime = stamp, UserName = "root", GroupName = "root",
            });
            foreach (var (path, text) in Files(host))
                tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, path)
                {
                    Mode = (UnixFileMode)0b100_100_100, ModificationTime = stamp, UserName = "root", GroupName = "root",
                    DataStream = new MemoryStream(Encoding.ASCII.GetBytes(text)),
                });
        }
        return ms.ToArray();
    }
}
