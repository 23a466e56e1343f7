using SimService.Domain.Network;

namespace SimService.Domain.Observability;

/// <summary>A host's /proc/net files on disk, for tools that read a procfs tree (node_exporter --path.procfs).</summary>
public static class ProcFs
{
    /// <summary>Writes net/{sockstat,sockstat6,tcp,tcp6,netstat,snmp,snmp6} under <paramref name="directory"/>.</summary>
    public static void WriteTree(Host host, string directory)
    {
        var net = Directory.CreateDirectory(Path.Combine(directory, "net")).FullName;
        File.WriteAllText(Path.Combine(net, "sockstat"), ProcNetSockstat.Format(host));
        File.WriteAllText(Path.Combine(net, "sockstat6"), ProcNetSockstat.Sockstat6);
        File.WriteAllText(Path.Combine(net, "tcp"), ProcNetTcp.Format(host));
        File.WriteAllText(Path.Combine(net, "tcp6"), ProcNetTcp.Tcp6);
        File.WriteAllText(Path.Combine(net, "netstat"), ProcNetNetstat.Format(host));
        File.WriteAllText(Path.Combine(net, "snmp"), ProcNetSnmp.Format(host));
        File.WriteAllText(Path.Combine(net, "snmp6"), ProcNetSnmp.Snmp6());
    }
}
