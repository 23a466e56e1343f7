using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace SimService.Api.Infrastructure;

/// <summary>A request and response example for an endpoint's OpenAPI operation (JSON text, or plain text).</summary>
public sealed record OpenApiExamplesMetadata(string? Request, string? Response);

public static class OpenApiExampleExtensions
{
    /// <summary>Documents the endpoint with a request body example and a success response example.</summary>
    public static RouteHandlerBuilder WithExamples(this RouteHandlerBuilder builder, string? request = null, string? response = null) =>
        builder.WithMetadata(new OpenApiExamplesMetadata(request, response));
}

/// <summary>Puts <see cref="OpenApiExamplesMetadata"/> on the request body and the first 2xx response of the operation.</summary>
public sealed class ExamplesOperationFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var examples = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<OpenApiExamplesMetadata>().LastOrDefault();
        if (examples is null) return;
        if (examples.Request is { } request && operation.RequestBody?.Content is { } requestContent)
            foreach (var (type, media) in requestContent) Set(media, type, request);
        if (examples.Response is { } response && operation.Responses is { } responses)
        {
            var success = responses.Where(r => r.Key.StartsWith('2')).Select(r => r.Value).FirstOrDefault();
            if (success?.Content is { } content)
                foreach (var (type, media) in content) Set(media, type, response);
        }
    }

    /// <summary>JSON media types get the example as JSON; text ones as a string.</summary>
    private static void Set(IOpenApiMediaType media, string mediaType, string example)
    {
        if (media is OpenApiMediaType target)
            target.Example = mediaType.Contains("json", StringComparison.Ordinal) ? JsonNode.Parse(example) : JsonValue.Create(example);
    }
}

/// <summary>Documents the optional If-Match header on every endpoint that honours it.</summary>
public sealed class IfMatchOperationFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<HonoursIfMatch>().Any()) return;
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "If-Match",
            In = ParameterLocation.Header,
            Required = false,
            Description = "The simulation version (ETag) the request was written against, e.g. \"7\" (a weak W/\"7\" never matches: " +
                "strong comparison, RFC 9110 §13.1.1). When it is not the current version the request fails with 412 and nothing " +
                "is applied.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        });
    }
}

/// <summary>Documents the optional If-None-Match header on every read that honours it.</summary>
public sealed class IfNoneMatchOperationFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<HonoursIfNoneMatch>().Any()) return;
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "If-None-Match",
            In = ParameterLocation.Header,
            Required = false,
            Description = "ETags the client holds, e.g. \"7\" (W/\"7\" and * too): when one is the current version the answer is 304 " +
                "Not Modified with the ETag and no body.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        });
    }
}

/// <summary>Endpoint metadata: the endpoint is a command that honours If-Match.</summary>
public sealed class HonoursIfMatch;

/// <summary>Endpoint metadata: the endpoint is a read that answers 304 to an If-None-Match naming its current ETag.</summary>
public sealed class HonoursIfNoneMatch;
