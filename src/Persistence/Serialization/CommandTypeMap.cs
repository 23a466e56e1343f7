using System.Collections.Frozen;
using System.Text.Json;
using SimService.Domain.Commands;

namespace SimService.Persistence.Serialization;

/// <summary>
/// The stable kebab-case discriminator of every command type of the log. A socket call is stored as its
/// <see cref="SocketCallRequest"/>. A test fails when a <see cref="SimCommand"/> subtype is missing here.
/// Discriminators are stored: never rename one.
/// </summary>
public static class CommandTypeMap
{
    private sealed record Entry(string Discriminator, Type Type, Func<SimCommand, object> Payload, Func<object, SimCommand> FromPayload, Type PayloadType);

    private static Entry Map<T>(string discriminator) where T : SimCommand =>
        new(discriminator, typeof(T), c => c, p => (T)p, typeof(T));

    private static readonly Entry[] Entries =
    [
        Map<AddHostCommand>("add-host"),
        Map<AddNatCommand>("add-nat"),
        Map<AddLinkCommand>("add-link"),
        Map<ChangeLinkCommand>("change-link"),
        Map<SetSysctlCommand>("set-sysctl"),
        new("socket-call", typeof(SocketCallCommand), c => ((SocketCallCommand)c).Request,
            p => new SocketCallCommand((SocketCallRequest)p), typeof(SocketCallRequest)),
        Map<KillCommand>("kill"),
        Map<InjectCommand>("inject"),
        Map<AdvanceCommand>("advance"),
        Map<WorkloadCommand>("workload"),
        Map<OpenConnectionCommand>("open-connection"),
    ];

    private static readonly FrozenDictionary<Type, Entry> ByType = Entries.ToFrozenDictionary(e => e.Type);
    private static readonly FrozenDictionary<string, Entry> ByDiscriminator = Entries.ToFrozenDictionary(e => e.Discriminator, StringComparer.Ordinal);

    public static IReadOnlyCollection<Type> MappedTypes => ByType.Keys;

    public static string DiscriminatorOf(SimCommand command) => Find(command).Discriminator;

    public static string Payload(SimCommand command)
    {
        var entry = Find(command);
        return JsonSerializer.Serialize(entry.Payload(command), SimJson.TypeInfo(entry.PayloadType));
    }

    /// <summary>A stored command: the common ones read directly (<see cref="CommandPayloadReader"/>), the rest by the serializer.</summary>
    public static SimCommand FromPayload(string discriminator, string payloadJson) =>
        CommandPayloadReader.TryRead(discriminator, payloadJson) ?? Deserialize(discriminator, payloadJson);

    /// <summary>A stored command read by the serializer alone (what <see cref="CommandPayloadReader"/> must agree with).</summary>
    public static SimCommand Deserialize(string discriminator, string payloadJson)
    {
        if (!ByDiscriminator.TryGetValue(discriminator, out var entry))
            throw new InvalidOperationException($"Unknown command type '{discriminator}'.");
        var payload = JsonSerializer.Deserialize(payloadJson, SimJson.TypeInfo(entry.PayloadType))
            ?? throw new InvalidOperationException($"Command '{discriminator}' has no payload.");
        return entry.FromPayload(payload);
    }

    private static Entry Find(SimCommand command) => ByType.TryGetValue(command.GetType(), out var entry)
        ? entry
        : throw new InvalidOperationException($"Command type {command.GetType().Name} has no discriminator in CommandTypeMap.");
}
