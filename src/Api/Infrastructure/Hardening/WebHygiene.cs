using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// What a browser on another site must not be able to use: security headers on every response, CORS closed
/// unless origins are configured (<c>Cors:AllowedOrigins</c>), state-changing requests from another site refused
/// (<see cref="CrossSite"/>: a cross-site form or a <c>no-cors</c> fetch could otherwise run a script, a replay or a
/// delete while API keys are off), state-changing requests that an HTML form can send refused, and forwarded headers
/// honoured only from configured proxies (<c>ForwardedHeaders:KnownProxies</c>). Every <c>Location</c> the
/// API writes is a relative path, so no request header ends up in it.
/// </summary>
public static class WebHygiene
{
    public const string CorsPolicy = "configured-origins";

    private static readonly string[] FormTypes = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"];

    public static IServiceCollection AddWebHygiene(this IServiceCollection services, IConfiguration configuration)
    {
        var origins = configuration.GetSection("Cors:AllowedOrigins").Get<string[]>() ?? [];
        if (origins.Length > 0)
            services.AddCors(options => options.AddPolicy(CorsPolicy, policy => policy.WithOrigins(origins)
                .WithMethods("GET", "POST", "PATCH", "DELETE").WithHeaders("Content-Type", "If-Match", "Authorization", "X-Api-Key").WithExposedHeaders("ETag", "Location", "Retry-After")));
        var proxies = configuration.GetSection("ForwardedHeaders:KnownProxies").Get<string[]>() ?? [];
        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in proxies) options.KnownProxies.Add(IPAddress.Parse(proxy));
        });
        return services;
    }

    public static WebApplication UseWebHygiene(this WebApplication app)
    {
        if ((app.Configuration.GetSection("ForwardedHeaders:KnownProxies").Get<string[]>() ?? []).Length > 0) app.UseForwardedHeaders();
        // Per request without a closure or an asynchronous step of its own: one static callback, the response as its state.
        app.Use((context, next) =>
        {
            context.Response.OnStarting(SecurityHeaders, context.Response);
            return next(context);
        });
        var corsOrigins = app.Configuration.GetSection("Cors:AllowedOrigins").Get<string[]>() ?? [];
        if (corsOrigins.Length > 0) app.UseCors(CorsPolicy);
        var crossSite = new CrossSite([.. corsOrigins, .. CrossSite.OriginOf(app.Configuration["Api:PublicBaseUrl"])]);
        app.Use((context, next) => crossSite.Refuses(context.Request)
            ? TypedResults.Problem(
                statusCode: StatusCodes.Status403Forbidden,
                type: ProblemTypes.CrossSiteRequest,
                title: "Cross-site requests may not change state.",
                detail: "A POST, PUT, PATCH or DELETE sent by a page of another site (Sec-Fetch-Site: cross-site, or an Origin that is "
                    + "neither this server's nor one of Cors:AllowedOrigins) is refused.").ExecuteAsync(context)
            : IsFormPost(context.Request)
            ? TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                type: ProblemTypes.UnsupportedMediaType,
                title: "Form posts are not accepted.",
                detail: "Requests that change state take application/json (or no body); an HTML form's content types are refused.").ExecuteAsync(context)
            : IsEncoded(context.Request)
            ? UnsupportedCoding(context)
            : UndeclaredJsonType(context.Request) is { } refused
            ? TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                type: ProblemTypes.UnsupportedMediaType,
                title: "Unsupported media type.",
                detail: $"Content-Type {refused} is not taken: request bodies are application/json in UTF-8 (RFC 8259 §8.1), "
                    + "with no charset or charset=utf-8.").ExecuteAsync(context)
            : next(context));
        return app;
    }

    /// <summary>The headers every response carries: those the application writes and Kestrel's own rejections (<see cref="RejectedRequestProblems"/>).</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> SecurityHeaderValues =
    [
        new("X-Content-Type-Options", "nosniff"),
        new("X-Frame-Options", "DENY"),
        new("Referrer-Policy", "no-referrer"),
        new("Content-Security-Policy", "frame-ancestors 'none'"),
    ];

    private static readonly Func<object, Task> SecurityHeaders = static state =>
    {
        var headers = ((HttpResponse)state).Headers;
        foreach (var (name, value) in SecurityHeaderValues) headers[name] = value;
        return Task.CompletedTask;
    };

    /// <summary>A request body in a content coding (gzip, br, ...): the API reads its bodies as sent, so any coding but identity.</summary>
    private static bool IsEncoded(HttpRequest request) =>
        request.Headers.ContentEncoding.SelectMany(v => (v ?? "").Split(',')).Select(c => c.Trim())
            .Any(c => c.Length > 0 && !c.Equals("identity", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// RFC 9110 §15.5.16: a content coding the server does not support is a 415, with Accept-Encoding (§12.5.3) saying which
    /// codings it would have taken — none but identity. Read as JSON, a gzip body was a 400 "malformed JSON at byte 0".
    /// </summary>
    private static Task UnsupportedCoding(HttpContext context)
    {
        const string detail = "Request bodies are read as sent: a Content-Encoding (gzip, br, deflate, ...) is not supported. Send the body uncompressed.";
        context.Response.Headers.AcceptEncoding = "identity";
        return TypedResults.Problem(
            statusCode: StatusCodes.Status415UnsupportedMediaType,
            type: ProblemTypes.UnsupportedMediaType,
            title: "Unsupported content coding.",
            detail: detail,
            extensions: new Dictionary<string, object?> { [ProblemFields.Member] = ProblemFields.Errors(Microsoft.Net.Http.Headers.HeaderNames.ContentEncoding, detail) })
            .ExecuteAsync(context);
    }

    /// <summary>
    /// A JSON content type the endpoint does not declare: another <c>+json</c> type (<c>application/merge-patch+json</c>:
    /// the framework read it as JSON) or a charset other than UTF-8 (<c>charset=latin1</c>: it was decoded as such). Null
    /// when the body is application/json (no charset, or utf-8 in any case, quoted or not: then the header is rewritten as
    /// <c>application/json; charset=utf-8</c>), not JSON at all (the framework's own 415), or declared.
    /// </summary>
    private static string? UndeclaredJsonType(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
            || JsonTextCheck.IsPlainJson(request.ContentType) // the two types clients send, without a parse (W4's path)
            || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type)) return null;
        var media = type.MediaType.Value ?? "";
        bool json = media.Equals("application/json", StringComparison.OrdinalIgnoreCase);
        if (!json && !media.EndsWith("+json", StringComparison.OrdinalIgnoreCase)) return null;
        var charset = type.Charset.Value;
        bool utf8 = IsUtf8(type);
        if (json && utf8)
        {
            // RFC 9110 §8.3.2: a parameter value may be a quoted-string (charset="utf-8", "UTF-8") and is compared
            // case-insensitively for charset; the framework's JSON reader looks the charset up as written, quotes and all
            // (an unknown encoding: a 415). The same type, written the way the reader takes it.
            if (charset is not null) request.ContentType = "application/json; charset=utf-8";
            return null;
        }
        bool declared = request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.ContentTypes
            .Contains(media, StringComparer.OrdinalIgnoreCase) == true;
        return declared && utf8 ? null : request.ContentType;
    }

    /// <summary>A content type in UTF-8: no charset, or utf-8 (utf8) in any case, quoted or not (RFC 9110 §8.3.2).</summary>
    public static bool IsUtf8(Microsoft.Net.Http.Headers.MediaTypeHeaderValue type) =>
        type.Charset.Value?.Trim('"') is not { } charset
        || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);

    /// <summary>A form's content type on a state-changing request, unless the endpoint declares that it takes it
    /// (packetdrill scripts are text/plain).</summary>
    private static bool IsFormPost(HttpRequest request) =>
        !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)
        && request.ContentType is { } type
        && FormTypes.FirstOrDefault(form => type.StartsWith(form, StringComparison.OrdinalIgnoreCase)) is { } formType
        && request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.ContentTypes
            .Contains(formType, StringComparer.OrdinalIgnoreCase) != true;
}
