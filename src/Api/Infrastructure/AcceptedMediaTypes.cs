using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing.Template;

namespace SimService.Api.Infrastructure;

/// <summary>
/// What a 415 tells the client to send: the content types of the endpoint its method and path name. Routing answers
/// a body of a type the endpoint does not declare (<c>Accepts</c>) with a 415 endpoint of its own that says nothing
/// of the endpoint it passed over, so the endpoint is found again here (only for a 415, never on a request's way).
/// </summary>
public static class AcceptedMediaTypes
{
    public const string JsonAdvice = "Send the request body as JSON, with Content-Type: application/json.";

    public static string Advice(HttpContext context) => Of(context) switch
    {
        [] => JsonAdvice,
        var types when types.Contains("application/json", StringComparer.OrdinalIgnoreCase) => JsonAdvice,
        var types => $"This endpoint takes its body as {string.Join(" or ", types)}: send it with Content-Type: {types[0]}.",
    };

    private static IReadOnlyList<string> Of(HttpContext context)
    {
        var request = context.Request;
        foreach (var endpoint in context.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not { ContentTypes.Count: > 0 } accepts
                || endpoint.RoutePattern.RawText is not { } pattern) continue;
            if (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is { } methods
                && !methods.HttpMethods.Contains(request.Method, StringComparer.OrdinalIgnoreCase)) continue;
            if (new TemplateMatcher(TemplateParser.Parse(pattern), []).TryMatch(request.Path, [])) return accepts.ContentTypes;
        }
        return [];
    }
}
