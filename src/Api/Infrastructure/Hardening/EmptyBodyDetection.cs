using Microsoft.AspNetCore.Http.Features;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// Makes "this request has a body" mean it has bytes. Kestrel answers <see cref="IHttpRequestBodyDetectionFeature.CanHaveBody"/>
/// from the framing: true for any chunked HTTP/1.1 body and for an HTTP/2 or HTTP/3 request not ended with its headers,
/// even when no byte follows. An endpoint's JSON binding reads such an empty body and fails (an optional body: a 400
/// "not valid JSON", or a 415 without a Content-Type) where <c>Content-Length: 0</c> is no body. A body of unknown length
/// is therefore peeked at here (its first read, handed back unconsumed) and, when it ends at once, marked as none. After
/// this, <c>CanHaveBody</c> is true only for a body that holds bytes — what <see cref="HasBytes"/> tells an endpoint.
/// </summary>
public sealed class EmptyBodyDetection(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength is null && HasBytes(context.Request))
        {
            var reader = context.Request.BodyReader;
            var read = await BodyReads.ReadAtLeastAsync(reader, 1, context.RequestAborted);
            bool empty = read.IsCompleted && read.Buffer.IsEmpty;
            reader.AdvanceTo(read.Buffer.Start); // nothing consumed, nothing examined: the next read returns the same bytes
            if (empty) context.Features.Set<IHttpRequestBodyDetectionFeature>(NoBody.Instance);
        }
        await next(context);
    }

    /// <summary>Whether the request has a body of one byte or more (with this middleware in the pipeline).</summary>
    public static bool HasBytes(HttpRequest request) =>
        request.ContentLength is > 0 || (request.ContentLength is null && request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true });

    private sealed class NoBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly NoBody Instance = new();

        public bool CanHaveBody => false;
    }
}
