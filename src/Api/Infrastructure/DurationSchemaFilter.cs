using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.OpenApi;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace SimService.Api.Infrastructure;

/// <summary>
/// Documents a property read by <see cref="DurationNsConverter"/> as what it accepts: integer nanoseconds
/// (zero up to the clock's maximum) or the scenario format's duration text.
/// </summary>
public sealed class DurationSchemaFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema target
            || context.MemberInfo?.GetCustomAttribute<JsonConverterAttribute>()?.ConverterType != typeof(DurationNsConverter))
            return;
        // Only the Null flag stays: the 3.0 writer turns it into "nullable": true beside the oneOf.
        target.Type = target.Type?.HasFlag(JsonSchemaType.Null) == true ? JsonSchemaType.Null : null;
        target.Format = null;
        target.Minimum = null;
        target.Maximum = null;
        target.OneOf =
        [
            new OpenApiSchema
            {
                Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0",
                Maximum = SimTime.MaxClock.Ns.ToString(System.Globalization.CultureInfo.InvariantCulture), Description = "nanoseconds",
            },
            new OpenApiSchema { Type = JsonSchemaType.String, Pattern = DurationText.Pattern, Description = "duration text" },
        ];
        var what = "Integer nanoseconds, or the scenario format's duration text (\"60s\", \"1.5ms\"); at most 3155760000s (100 years), the clock's maximum.";
        target.Description = target.Description is { Length: > 0 } d ? $"{d} {what}" : what;
    }
}
