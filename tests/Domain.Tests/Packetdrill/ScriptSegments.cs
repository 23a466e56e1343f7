using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Packetdrill;

/// <summary>Runs a project script on the engine and lists what its local host sent.</summary>
internal static class ScriptSegments
{
    /// <summary>A segment's flags with data: ACK alone, or ACK and PSH.</summary>
    public const TcpFlags Ack = TcpFlags.Ack, Psh = TcpFlags.Ack | TcpFlags.Psh;

    /// <summary>Runs packetdrill/<paramref name="name"/> and checks its local host's data segments (ns, flags, relative seq, length).</summary>
    public static void AssertData(string name, (long Ns, TcpFlags Flags, uint Seq, int Len)[] expected) => Assert.Equal(expected, Sent(name));

    /// <summary>
    /// Runs packetdrill/<paramref name="name"/> (it must pass) and returns the local host's segments: the simulation's
    /// time in ns, the flags, seq relative to the first segment's (the SYN's ISN) and the length; only those with data
    /// unless <paramref name="withoutData"/>.
    /// </summary>
    public static List<(long Ns, TcpFlags Flags, uint Seq, int Len)> Sent(string name, bool withoutData = false)
    {
        var result = PacketdrillRunner.Run(ProjectScripts.Read(name), new PacketdrillOptions { ScriptName = "t.pkt" });
        Assert.True(result.Passed, result.Output);
        var sent = result.Simulation!.Journal.OfType<SegmentSent>().Where(e => e.Host == PacketdrillRunner.LocalHost).ToList();
        uint isn = sent[0].SeqNo;
        return [.. sent.Where(e => withoutData || e.Len > 0).Select(e => (e.At.Ns, e.Flags, e.SeqNo - isn, e.Len))];
    }
}
