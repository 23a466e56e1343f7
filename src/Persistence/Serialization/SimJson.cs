using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Workloads;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Persistence.Serialization;

/// <summary>
/// The JSON of persisted journal events and commands: camelCase fields, enums as names, times and
/// durations as integer nanoseconds in fields suffixed <c>Ns</c> (<c>expiresNs</c>, <c>delayNs</c>),
/// addresses and endpoints as text. An event's own time and sequence number are columns, not payload.
/// Metadata comes from the source-generated <see cref="SimJsonContext"/>; CLR type names are never written.
/// </summary>
public static class SimJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(SimJsonContext.Default.Options)
        {
            TypeInfoResolver = SimJsonContext.Default.WithAddedModifier(NanosecondFieldsAndEventColumns),
        };
        options.MakeReadOnly();
        return options;
    }

    public static JsonTypeInfo TypeInfo(Type type) => Options.GetTypeInfo(type);

    private static readonly HashSet<Type> TimeTypes = [typeof(SimTime), typeof(SimDuration), typeof(SimTime?), typeof(SimDuration?)];

    private static void NanosecondFieldsAndEventColumns(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        bool isEvent = typeof(SimEvent).IsAssignableFrom(info.Type);
        foreach (var property in info.Properties)
        {
            if (isEvent && property.Name is "at" or "seq")
                property.ShouldSerialize = static (_, _) => false;
            else if (TimeTypes.Contains(property.PropertyType))
                property.Name += "Ns";
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    Converters =
    [
        typeof(SimTimeConverter), typeof(SimDurationConverter), typeof(IPv4Converter), typeof(EndpointConverter), typeof(FourTupleConverter),
        typeof(TcpFlagsConverter), typeof(TcpStateConverter), typeof(NameValueListConverter),
        typeof(KebabEnumConverter<TcpTimerKind>), typeof(KebabEnumConverter<SocketCallKind>),
        typeof(KebabEnumConverter<HostKind>), typeof(KebabEnumConverter<AdvanceMode>),
        typeof(KebabEnumConverter<CloseFirst>), typeof(KebabEnumConverter<CloseStyle>), typeof(KebabEnumConverter<JournalLevel>),
        typeof(VerbatimEnumConverter<SocketOption>), typeof(VerbatimEnumConverter<ShutdownHow>),
    ])]
// Journal events
[JsonSerializable(typeof(SegmentSent))]
[JsonSerializable(typeof(SegmentDelivered))]
[JsonSerializable(typeof(SegmentDropped))]
[JsonSerializable(typeof(StateChanged))]
[JsonSerializable(typeof(TimerArmed))]
[JsonSerializable(typeof(TimerFired))]
[JsonSerializable(typeof(TimerCancelled))]
[JsonSerializable(typeof(CallIssued))]
[JsonSerializable(typeof(CallReturned))]
[JsonSerializable(typeof(KernelLogged))]
[JsonSerializable(typeof(DataDelivered))]
[JsonSerializable(typeof(DataLost))]
[JsonSerializable(typeof(ProcessExited))]
[JsonSerializable(typeof(SysctlChanged))]
[JsonSerializable(typeof(LinkChanged))]
[JsonSerializable(typeof(SegmentIgnored))]
// Commands
[JsonSerializable(typeof(AddHostCommand))]
[JsonSerializable(typeof(AddNatCommand))]
[JsonSerializable(typeof(AddLinkCommand))]
[JsonSerializable(typeof(ChangeLinkCommand))]
[JsonSerializable(typeof(SetSysctlCommand))]
[JsonSerializable(typeof(SocketCallRequest))]
[JsonSerializable(typeof(KillCommand))]
[JsonSerializable(typeof(InjectCommand))]
[JsonSerializable(typeof(AdvanceCommand))]
[JsonSerializable(typeof(WorkloadCommand))]
[JsonSerializable(typeof(OpenConnectionCommand))]
public sealed partial class SimJsonContext : JsonSerializerContext;
