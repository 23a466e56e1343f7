using SimService.Domain.Engine;
using SimService.Domain.Observability;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.Observability;

public class ProcFsTests
{
    [Fact]
    public void WriteTree_Host_WritesTheNetFilesNodeExporterReads()
    {
        var h = new TwoHostHarness();
        h.Establish();
        var root = Directory.CreateTempSubdirectory("simservice-procfs-");
        try
        {
            ProcFs.WriteTree(h.Server, root.FullName);
            string Read(string name) => File.ReadAllText(Path.Combine(root.FullName, "net", name));
            Assert.Equal(["netstat", "snmp", "snmp6", "sockstat", "sockstat6", "tcp", "tcp6"],
                Directory.GetFiles(Path.Combine(root.FullName, "net")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal(ProcNetSockstat.Format(h.Server), Read("sockstat"));
            Assert.Equal(ProcNetSockstat.Sockstat6, Read("sockstat6"));
            Assert.Equal(ProcNetTcp.Format(h.Server), Read("tcp"));
            Assert.Equal(ProcNetTcp.Tcp6, Read("tcp6"));
            Assert.Equal(ProcNetNetstat.Format(h.Server), Read("netstat"));
            Assert.Equal(ProcNetSnmp.Format(h.Server), Read("snmp"));
            Assert.Equal(ProcNetSnmp.Snmp6(KernelProfile.Linux6), Read("snmp6"));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
