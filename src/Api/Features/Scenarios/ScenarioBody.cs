using System.Text.Json;
using System.Text.Json.Serialization;

namespace SimService.Api.Features.Scenarios;

/// <summary>A scenario document (docs/scenario-format.md), read as <c>simservice validate</c> reads a file.</summary>
/// <remarks>
/// Any JSON value, duplicate keys kept: the service's JSON options refuse a duplicated key anywhere in a body
/// (AllowDuplicateProperties = false), and for a whole-body JsonElement the serializer named only "$" ("The request body
/// must be a JSON object."). Kept here, a duplicate reaches <see cref="Domain.Scenarios.ScenarioParser"/>, which names its
/// path and key (<c>$.hosts.a: duplicate key "address"</c>) as <c>simservice validate</c> and an in-process
/// <c>simservice run</c> do.
/// </remarks>
[JsonConverter(typeof(Converter))]
public sealed record ScenarioBody(JsonElement Document)
{
    private sealed class Converter : JsonConverter<ScenarioBody>
    {
        // A JSON null is a document too (the reader says what it expected), not a missing body.
        public override bool HandleNull => true;

        public override ScenarioBody Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            // JsonDocument's own default keeps duplicate keys; the reader reports each one.
            using var document = JsonDocument.ParseValue(ref reader);
            return new ScenarioBody(document.RootElement.Clone());
        }

        public override void Write(Utf8JsonWriter writer, ScenarioBody value, JsonSerializerOptions options) => value.Document.WriteTo(writer);
    }
}
