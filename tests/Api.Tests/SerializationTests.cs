using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Scenarios;
using SimService.Persistence.Serialization;

namespace SimService.Api.Tests;

/// <summary>The persisted forms of journal events and commands: every type has a stable discriminator, and each reads back to itself.</summary>
public sealed class SerializationTests
{
    private static IEnumerable<Type> Subtypes<T>() =>
        typeof(T).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(T)) && !t.IsAbstract).OrderBy(t => t.Name);

    [Fact]
    public void EventTypeMap_MapsEverySimEventSubtype() =>
        Assert.Equal(Subtypes<SimEvent>().Select(t => t.Name), EventTypeMap.MappedTypes.Select(t => t.Name).Order());

    [Fact]
    public void CommandTypeMap_MapsEverySimCommandSubtype() =>
        Assert.Equal(Subtypes<SimCommand>().Select(t => t.Name), CommandTypeMap.MappedTypes.Select(t => t.Name).Order());

    [Fact]
    public void EventTypeMap_Discriminators_AreUniqueKebabCase()
    {
        Assert.Equal(EventTypeMap.Discriminators.Count, EventTypeMap.Discriminators.Distinct().Count());
        Assert.All(EventTypeMap.Discriminators, d => Assert.Matches("^[a-z]+(-[a-z0-9]+)*$", d));
    }

    [Fact]
    public void Journal_OfARealRun_EveryEventReadsBackToItself()
    {
        var journal = ScenarioRunner.Run(Infrastructure.ScenarioFiles.Read("examples/kill-keeps-buffered-data.json")).Result!.Simulation.Journal;

        Assert.NotEmpty(journal);
        foreach (var e in journal)
        {
            var record = EventTypeMap.ToRecord(Guid.Empty, e);
            Assert.DoesNotContain("\"at\"", record.PayloadJson);
            Assert.Equal(e, EventTypeMap.FromRecord(record));
        }
    }

    [Fact]
    public void Commands_EveryKind_ReadsBackToAnEqualCommand()
    {
        SimCommand[] commands =
        [
            new AddHostCommand("client", "10.0.0.1", Domain.Network.HostKind.Linux, [new("net.ipv4.tcp_fin_timeout", "5"), new("net.ipv4.ip_local_port_range", "40000 40003")]),
            new AddNatCommand("nat1", "203.0.113.1"),
            new AddLinkCommand("client", "server", Domain.Time.SimDuration.FromMilliseconds(10), 0.25),
            new ChangeLinkCommand("client", "server", true, null, 1.0, true),
            new SetSysctlCommand("client", "net.ipv4.tcp_tw_reuse", "1"),
            new SocketCallCommand(new SocketCallRequest("client", "app", Domain.Tcp.SocketCallKind.Setsockopt)
                { SocketId = 2, Option = Domain.Tcp.SocketOption.SO_LINGER, Value = 0, LingerOnOff = 1, BindPort = 40000 }),
            new KillCommand("server", "app", "SIGKILL"),
            new InjectCommand("peer", 40000, "server", 80, Domain.Network.TcpFlags.Syn | Domain.Network.TcpFlags.Ack, 1, 2, 65535, 0),
            new AdvanceCommand(AdvanceMode.UntilIdle, Domain.Time.SimDuration.FromSeconds(3600), 1000),
        ];

        foreach (var command in commands)
        {
            var back = CommandTypeMap.FromPayload(CommandTypeMap.DiscriminatorOf(command), CommandTypeMap.Payload(command));
            Assert.Equal(CommandTypeMap.Payload(command), CommandTypeMap.Payload(back));
            Assert.Equal(command.GetType(), back.GetType());
        }
        Assert.Contains("\"delayNs\":10000000", CommandTypeMap.Payload(commands[2]));
        Assert.Contains("\"option\":\"SO_LINGER\"", CommandTypeMap.Payload(commands[5]));
    }
}
