using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace SimService.Api.Infrastructure;

/// <summary>
/// The problems every operation of a kind can answer, listed by rule rather than per endpoint (tester37b MEDIUM-2: a client
/// generated from the document was told of none of them), each as a problem with <see cref="OpenApiDocumentFilter"/>'s schema
/// and example:
/// <list type="bullet">
/// <item>400 on every operation: a query parameter it does not declare, or an ill-formed one (<see cref="Hardening.QueryParameters"/>);</item>
/// <item>503 <c>busy</c>/<c>service-stopping</c> on every operation: it waited behind a rebuild of the simulation, the service
/// was slow to do its work, or the service stopped under it (<see cref="Hardening.RequestWork.WriteTimeout"/>);</item>
/// <item>422 <c>work-limit</c> where the work is bounded: a read past its wall-time limit, an endpoint whose work a field sizes
/// (<see cref="WorkField"/>), and a command past the journal and instant-event limits of one request;</item>
/// <item>408, 413 and 415 on every operation with a body: a body that did not arrive in time, one past
/// <c>Limits:MaxRequestBodyBytes</c>, one not sent as JSON (or compressed).</item>
/// </list>
/// 405 (a method the path does not take) is the path's, not an operation's, and is not listed.
/// </summary>
public sealed class ServiceProblemsOperationFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var api = context.ApiDescription;
        var metadata = api.ActionDescriptor.EndpointMetadata;
        bool hasBody = operation.RequestBody is not null;
        bool command = hasBody && metadata.OfType<HonoursIfMatch>().Any();
        bool read = HttpMethods.IsGet(api.HttpMethod ?? "");
        List<int> statuses = [StatusCodes.Status400BadRequest, StatusCodes.Status503ServiceUnavailable];
        if (read || command || metadata.OfType<WorkField>().Any()) statuses.Add(StatusCodes.Status422UnprocessableEntity);
        if (hasBody)
            statuses.AddRange([StatusCodes.Status408RequestTimeout, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType]);
        operation.Responses ??= [];
        foreach (var status in statuses)
        {
            var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses.ContainsKey(key)) continue;
            operation.Responses[key] = new OpenApiResponse
            {
                Description = ReasonPhrases.GetReasonPhrase(status),
                Content = new Dictionary<string, IOpenApiMediaType>
                {
                    ["application/problem+json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference("ProblemDetails", context.Document) },
                },
            };
        }
        // Responses in status order, as the framework lists its own.
        var ordered = operation.Responses.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        operation.Responses.Clear();
        foreach (var (key, response) in ordered) operation.Responses[key] = response;
    }
}
