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

    /// <summary>An add-link's lossBySegment is stored only when true: a log written before it existed reads (and replays) as false.</summary>
    [Fact]
    public void AddLink_LossBySegment_StoredOnlyWhenTrue()
    {
        var delay = Domain.Time.SimDuration.FromMilliseconds(10);
        const string old = """{"a":"client","b":"server","delayNs":10000000,"loss":0.25}""";

        Assert.Equal(old, CommandTypeMap.Payload(new AddLinkCommand("client", "server", delay, 0.25)));
        Assert.Equal(new AddLinkCommand("client", "server", delay, 0.25, LossBySegment: false), CommandTypeMap.FromPayload("add-link", old));
        var bySegment = new AddLinkCommand("client", "server", delay, 0.25, LossBySegment: true);
        Assert.Equal("""{"a":"client","b":"server","delayNs":10000000,"loss":0.25,"lossBySegment":true}""", CommandTypeMap.Payload(bySegment));
        Assert.Equal(bySegment, CommandTypeMap.FromPayload("add-link", CommandTypeMap.Payload(bySegment)));
        var change = new ChangeLinkCommand("client", "server", false, null, 0.5, null);
        Assert.DoesNotContain("lossBySegment", CommandTypeMap.Payload(change));
        Assert.Equal(change, CommandTypeMap.FromPayload("change-link", CommandTypeMap.Payload(change)));
        var changeBySegment = change with { LossBySegment = false };
        Assert.Contains("\"lossBySegment\":false", CommandTypeMap.Payload(changeBySegment));
        Assert.Equal(changeBySegment, CommandTypeMap.FromPayload("change-link", CommandTypeMap.Payload(changeBySegment)));
    }

    /// <summary>
    /// An inject's optionBytes (a header whose options are not laid out as the engine would: an EOL-padded list) is stored
    /// only when set: a log written before it existed reads (and replays) as before, byte for byte.
    /// </summary>
    [Fact]
    public void Inject_OptionBytes_StoredOnlyWhenSet()
    {
        var inject = new InjectCommand("peer", 40000, "server", 80, Domain.Network.TcpFlags.Ack, 1, 2, 2000, 100);
        string old = CommandTypeMap.Payload(inject);

        Assert.DoesNotContain("optionBytes", old);
        Assert.Equal(inject, CommandTypeMap.FromPayload("inject", old));
        var padded = inject with { OptionBytes = 4 };
        Assert.Equal(old[..^1] + ",\"optionBytes\":4}", CommandTypeMap.Payload(padded));
        Assert.Equal(padded, CommandTypeMap.FromPayload("inject", CommandTypeMap.Payload(padded)));
    }

    /// <summary>
    /// Socket calls of every kind with every field drawn at random (seeded), and advances of every mode: the direct reader
    /// reads each stored payload (none is left to the serializer) into a command equal to the serializer's.
    /// </summary>
    [Fact]
    public void CommandPayloadReader_StoredSocketCallsAndAdvances_ReadsEachAsTheSerializerDoes()
    {
        var random = new Random(20261203);
        var strings = new[] { null, "client", "server", "10.0.0.2", "h\u00e9\"x\u0000", "\ud83d\ude00" };
        T Pick<T>(T[] values) => values[random.Next(values.Length)];
        var commands = new List<SimCommand>();
        for (int i = 0; i < 2_000; i++)
            commands.Add(new SocketCallCommand(new SocketCallRequest(Pick(strings[1..])!, Pick(strings[1..])!, Pick(Enum.GetValues<Domain.Tcp.SocketCallKind>()))
            {
                SocketId = random.Next(int.MinValue, int.MaxValue), Port = (ushort)random.Next(65536), Address = Pick(strings),
                Backlog = random.Next(), ReuseAddr = random.Next(2) == 1, ToHost = Pick(strings), ToPort = (ushort)random.Next(65536),
                BindPort = random.Next(3) == 0 ? null : (ushort)random.Next(65536), BindReuseAddr = random.Next(2) == 1,
                Bytes = random.NextInt64(long.MinValue, long.MaxValue), How = Pick(Enum.GetValues<Domain.Tcp.ShutdownHow>()),
                Option = Pick(Enum.GetValues<Domain.Tcp.SocketOption>()), Value = random.Next(int.MinValue, int.MaxValue),
                LingerOnOff = random.Next(-1, 2), TvSec = random.NextInt64(), TvUsec = -random.NextInt64(), NonBlock = random.Next(2) == 1,
                Events = random.Next(), TimeoutMs = random.Next(int.MinValue, int.MaxValue), Fd = random.Next(3) == 0 ? null : random.Next(), NewFd = random.Next(),
                Unspec = random.Next(2) == 1,
            }));
        foreach (var mode in Enum.GetValues<AdvanceMode>())
            commands.Add(new AdvanceCommand(mode, new Domain.Time.SimDuration(random.NextInt64()), random.NextInt64(long.MinValue, long.MaxValue)));

        foreach (var command in commands)
        {
            var (discriminator, payload) = (CommandTypeMap.DiscriminatorOf(command), CommandTypeMap.Payload(command));
            var direct = CommandPayloadReader.TryRead(discriminator, payload);
            Assert.NotNull(direct);
            Assert.Equal(CommandTypeMap.Deserialize(discriminator, payload), direct);
            Assert.Equal(command, direct);
        }
    }

    /// <summary>
    /// A call's <c>fd</c>: until session 32 every stored socket call wrote <c>"fd":0</c> for "no descriptor given" (the
    /// socket's own); now none is <c>"fd":null</c> and 0 names descriptor 0. An old payload reads back as 0 — by the direct
    /// reader and the serializer alike — and names the socket's own descriptor under the rules such logs were stored with
    /// (before <see cref="EngineRules.AcceptHoldsItsFd"/>), descriptor 0 only under rules 3, which no stored log wrote 0 under.
    /// </summary>
    [Fact]
    public void SocketCall_StoredFd0_IsTheSocketsOwnUnderTheRulesItWasStoredWith()
    {
        const string stored = """{"host":"server","process":"app","call":"close","socketId":4,"fd":0}""";
        var none = new SocketCallCommand(new SocketCallRequest("server", "app", Domain.Tcp.SocketCallKind.Close) { SocketId = 4 });

        var direct = (SocketCallCommand)CommandPayloadReader.TryRead("socket-call", stored)!;
        var serialized = (SocketCallCommand)CommandTypeMap.Deserialize("socket-call", stored);
        var written = CommandTypeMap.Payload(none);

        Assert.Equal((0, 0), (direct.Request.Fd, serialized.Request.Fd));
        Assert.All(new[] { EngineRules.Original, EngineRules.SameInstant, EngineRules.WokenAfterSoftirq },
            rules => Assert.Null(direct.Request.Descriptor(rules)));
        Assert.Equal(0, direct.Request.Descriptor(EngineRules.AcceptHoldsItsFd));
        Assert.Contains("\"fd\":null", written);
        Assert.Null(((SocketCallCommand)CommandTypeMap.FromPayload("socket-call", written)).Request.Descriptor(EngineRules.Current));
    }

    /// <summary>What the direct reader does not know exactly is left to the serializer, which decides as before.</summary>
    [Theory]
    [InlineData("socket-call", """{"host":"c","process":"p","call":"send","socketId":2,"extra":1}""")] // unknown field
    [InlineData("socket-call", """{"host":"c","process":"p","call":"send","socketId":2,"socketId":3}""")] // repeated field
    [InlineData("socket-call", """{"host":"c","call":"send"}""")] // a constructor field missing
    [InlineData("socket-call", """{"host":"c","process":"p","call":"Send"}""")] // a name the serializer never writes
    [InlineData("socket-call", """{"host":"c","process":"p","call":"send","port":70000}""")] // out of range
    [InlineData("socket-call", """{"host":"c","process":"p","call":"send","bytes":1.0}""")]
    [InlineData("socket-call", """{"host":"c","process":"p","call":"send","bytes":"1"}""")]
    [InlineData("socket-call", """{"host":"c","process":"p","call":"send"} x""")] // trailing text
    [InlineData("socket-call", """{"h\u006fst":"c","process":"p","call":"send"}""")] // an escaped name
    [InlineData("advance", """{"mode":"by","amountNs":1}""")]
    [InlineData("advance", """{"mode":"by","amountNs":1,"eventBudget":1,"x":0}""")]
    [InlineData("advance", """[1]""")]
    [InlineData("add-host", """{"name":"client","address":"10.0.0.1"}""")] // not a command it reads
    public void CommandPayloadReader_PayloadItDoesNotKnowExactly_LeavesItToTheSerializer(string discriminator, string payload) =>
        Assert.Null(CommandPayloadReader.TryRead(discriminator, payload));

    [Fact]
    public void CommandPayloadReader_LongPayload_ReadsItThroughARentedBuffer()
    {
        var command = new SocketCallCommand(new SocketCallRequest(new string('h', 3_000), "app", Domain.Tcp.SocketCallKind.Connect) { ToHost = "server" });

        Assert.Equal(command, CommandPayloadReader.TryRead("socket-call", CommandTypeMap.Payload(command)));
    }
}
