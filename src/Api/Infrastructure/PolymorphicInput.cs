using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SimService.Api.Infrastructure;

/// <summary>A request type read by its <c>type</c> member into one of several records.</summary>
public interface IPolymorphicInput
{
    static abstract IReadOnlyList<(string Type, Type Record)> Types { get; }
}

/// <summary>
/// Reads a polymorphic request object by its <c>type</c> (which may come anywhere in the object). Every
/// way the input can be wrong — not an object, no <c>type</c>, a <c>type</c> that is not a string or not
/// known, a bad member of the chosen record — is a <see cref="JsonInputException"/> naming the member, so
/// the client gets a 400 that names the field (and lists the valid types), never a 500.
/// </summary>
public sealed class PolymorphicInputConverter<TBase> : JsonConverter<TBase> where TBase : class, IPolymorphicInput
{
    private const string Discriminator = "type";

    private static string Valid => string.Join(", ", TBase.Types.Select(t => t.Type));

    public override TBase? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonInputException($"Expected an object with a \"type\": one of {Valid}.");
        using var document = JsonDocument.ParseValue(ref reader);
        var comparison = options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var discriminators = document.RootElement.EnumerateObject().Where(p => string.Equals(p.Name, Discriminator, comparison)).ToList();
        if (discriminators.Count == 0)
            throw new JsonInputException($"This field is required: one of {Valid}.", Discriminator);
        if (discriminators.Count > 1)
            throw new JsonInputException("This field appears more than once.", Discriminator);
        if (discriminators[0].Value.ValueKind != JsonValueKind.String)
            throw new JsonInputException($"The type is a string: one of {Valid}.", Discriminator);
        var type = discriminators[0].Value.GetString();
        var record = TBase.Types.FirstOrDefault(t => t.Type == type).Record;
        if (record is null)
            throw new JsonInputException($"Unknown type \"{type}\"; expected one of {Valid}.", Discriminator);

        // The record itself has no "type" member: it is read from the object without it.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in document.RootElement.EnumerateObject())
                if (!string.Equals(property.Name, Discriminator, comparison)) property.WriteTo(writer);
            writer.WriteEndObject();
        }
        try
        {
            return (TBase?)JsonSerializer.Deserialize(buffer.WrittenSpan, record, options);
        }
        catch (JsonException inner)
        {
            var member = inner is JsonInputException { Member: { } deeper }
                ? Join(inner.Path, deeper)
                : inner.Path is { Length: > 2 } path ? ErrorMapping.FieldName(path) : null;
            throw new JsonInputException(inner is JsonInputException ? inner.Message : ErrorMapping.Describe(inner), member);
        }
    }

    private static string Join(string? path, string member) =>
        path is { Length: > 2 } ? ErrorMapping.FieldName(path) + (member.StartsWith('[') ? "" : ".") + member : member;

    public override void Write(Utf8JsonWriter writer, TBase value, JsonSerializerOptions options)
    {
        var type = TBase.Types.First(t => t.Record == value.GetType()).Type;
        var body = JsonSerializer.SerializeToNode(value, value.GetType(), options)!.AsObject();
        writer.WriteStartObject();
        writer.WriteString(Discriminator, type);
        foreach (var (name, member) in body)
        {
            writer.WritePropertyName(name);
            if (member is null) writer.WriteNullValue();
            else member.WriteTo(writer, options);
        }
        writer.WriteEndObject();
    }
}
