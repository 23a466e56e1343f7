using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace SimService.Api.Infrastructure;

/// <summary>Documents a property's <see cref="AllowedValuesAttribute"/> as an OpenAPI enum (Swashbuckle ignores it).</summary>
public sealed class AllowedValuesSchemaFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is OpenApiSchema target && context.MemberInfo?.GetCustomAttribute<AllowedValuesAttribute>() is { } allowed)
            target.Enum = [.. allowed.Values.Select(value => JsonSerializer.SerializeToNode(value)).OfType<JsonNode>()];
    }
}
