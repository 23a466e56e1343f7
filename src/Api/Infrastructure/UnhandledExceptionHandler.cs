using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace SimService.Api.Infrastructure;

/// <summary>
/// The one handler behind <c>UseExceptionHandler()</c>. Binding failures (thrown because
/// <c>RouteHandlerOptions.ThrowOnBadRequest</c> is on) become 4xx problems naming the field; anything
/// else is a bug and becomes a 500 problem that carries the exception only in Development.
/// </summary>
public sealed partial class UnhandledExceptionHandler(IHostEnvironment environment, ILogger<UnhandledExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            BadHttpRequestException badRequest => ErrorMapping.FromBadRequest(badRequest, BodyExpectedButAbsent(httpContext),
                httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize,
                httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType,
                BodyExpected(httpContext) && Hardening.EmptyBodyDetection.HasBytes(httpContext.Request)),
            NotSupportedException { Source: "System.Text.Json" } unsupported => ErrorMapping.FromUnsupportedJson(unsupported),
            _ => Internal(exception),
        };
        await TypedResults.Problem(problem).ExecuteAsync(httpContext);
        return true;
    }

    // The middleware has cleared the request's endpoint by now; its feature keeps the one that threw.
    private static bool BodyExpected(HttpContext httpContext) =>
        httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint?.Metadata.GetMetadata<IAcceptsMetadata>() is not null;

    private static bool BodyExpectedButAbsent(HttpContext httpContext) =>
        BodyExpected(httpContext)
        && (httpContext.Request.ContentLength == 0
            || httpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false });

    private ProblemDetails Internal(Exception exception)
    {
        LogUnhandled(exception);
        return new ProblemDetails
        {
            Status = StatusCodes.Status500InternalServerError,
            Type = ProblemTypes.Internal,
            Title = "An unexpected error occurred.",
            Detail = environment.IsDevelopment() ? exception.ToString() : null,
        };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception")]
    private partial void LogUnhandled(Exception exception);
}
