using Microsoft.AspNetCore.Routing;

namespace SimService.Api.Infrastructure;

/// <summary>
/// HEAD on every GET endpoint (RFC 9110 §9.3.2: the same status and header fields as GET, no content): monitors and
/// <c>curl -I</c> send it, and it was a 405. The endpoint runs as for GET — its problems (a 404 of an unknown simulation,
/// a 422 or 429 of a limit) keep their <c>Content-Type</c> and headers — and the body it writes is dropped here (Kestrel
/// never sends one for HEAD; hosts such as the test server would). HEAD is not listed per operation in the OpenAPI
/// document (<see cref="SwaggerSetup"/>): it would repeat every GET under the same operation id.
/// </summary>
public static class HeadRequests
{
    /// <summary>
    /// Every GET endpoint of <paramref name="builder"/> answers HEAD too: its method metadata gains HEAD, so routing matches
    /// HEAD to it and a 405 for another method lists HEAD in <c>Allow</c>.
    /// </summary>
    public static TBuilder AnswerHead<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (endpoint.Metadata.OfType<IHttpMethodMetadata>().LastOrDefault() is { } methods
                && methods.HttpMethods.Contains(HttpMethods.Get, StringComparer.OrdinalIgnoreCase)
                && !methods.HttpMethods.Contains(HttpMethods.Head, StringComparer.OrdinalIgnoreCase))
                endpoint.Metadata.Add(new HttpMethodMetadata([.. methods.HttpMethods, HttpMethods.Head], methods.AcceptCorsPreflight));
        });
        return builder;
    }

    /// <summary>Drops the body of every HEAD response (status and headers go as the endpoint set them).</summary>
    public static WebApplication UseHeadRequests(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (HttpMethods.IsHead(context.Request.Method)) context.Response.Body = Stream.Null;
            return next(context);
        });
        return app;
    }
}
