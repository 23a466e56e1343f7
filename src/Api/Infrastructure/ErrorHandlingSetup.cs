using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace SimService.Api.Infrastructure;

public static class ErrorHandlingSetup
{
    /// <summary>
    /// RFC 9457 problems for every error, DataAnnotations validation of request bodies, and strict JSON
    /// input: an unknown or duplicated field, or a number sent as a string, is a 400 rather than ignored.
    /// </summary>
    public static IServiceCollection AddApiErrorHandling(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            // A problem that says when to retry says it in the header too (RFC 9110 §10.2.3): 503 while stopping.
            if (context.ProblemDetails.Type == ProblemTypes.ServiceStopping
                && context.ProblemDetails.Extensions.TryGetValue("retryAfterSeconds", out var retryAfter) && retryAfter is int seconds)
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            UnmatchedIdProblems.Apply(context);
            // However the framework answers 415 (thrown while binding, or written by status code pages).
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType
                && context.ProblemDetails.Type?.StartsWith("urn:simservice:", StringComparison.Ordinal) != true)
            {
                context.ProblemDetails.Type = ProblemTypes.UnsupportedMediaType;
                context.ProblemDetails.Title = "Unsupported media type.";
                context.ProblemDetails.Detail = AcceptedMediaTypes.Advice(context.HttpContext);
            }
            // Problems written by ErrorMapping already carry our type and JSON field names (or JSON paths).
            if (context.ProblemDetails is HttpValidationProblemDetails validation
                && validation.Type?.StartsWith("urn:simservice:", StringComparison.Ordinal) != true)
                UseJsonFieldNames(validation, context.HttpContext);
            ProblemFields.Apply(context);
            ProblemText.Apply(context.ProblemDetails);
        });
        WholeProblemBodies.Decorate(services);
        services.AddExceptionHandler<UnhandledExceptionHandler>();
        services.AddValidation();
        services.AddValidationInfoCache();

        // Without this a body that fails to bind gets an empty 400 outside Development; thrown, it reaches
        // UnhandledExceptionHandler, which names the field.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(options => ConfigureJson(options.SerializerOptions));
        return services;
    }

    /// <summary>
    /// The validation filter keys errors by CLR member path ("Seed"), not by the JSON name the client sent
    /// ("seed"): dotnet/aspnetcore#61764. Problems from ErrorMapping already use JSON names and carry our type.
    /// </summary>
    private static void UseJsonFieldNames(HttpValidationProblemDetails validation, HttpContext httpContext)
    {
        var naming = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions.PropertyNamingPolicy;
        if (naming is not null)
            validation.Errors = validation.Errors.ToDictionary(
                error => string.Join('.', error.Key.Split('.').Select(naming.ConvertName)),
                error => error.Value.Select(message => WithJsonName(message, error.Key.Split('.')[^1], naming)).ToArray());
        validation.Type = ProblemTypes.Validation;
    }

    /// <summary>
    /// The default DataAnnotations messages name the CLR member ("The field Port must be between 1 and 65535.",
    /// "The Port field is required."); the client wrote "port". Messages of our own are left as they are.
    /// </summary>
    private static string WithJsonName(string message, string member, JsonNamingPolicy naming)
    {
        string json = naming.ConvertName(member);
        return message.Replace($"The field {member} ", $"The field {json} ", StringComparison.Ordinal)
            .Replace($"The {member} field ", $"The {json} field ", StringComparison.Ordinal);
    }

    private static void ConfigureJson(JsonSerializerOptions json)
    {
        json.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        json.AllowDuplicateProperties = false;
        json.NumberHandling = JsonNumberHandling.Strict;
        // A batch command's "type" need not come first.
        json.AllowOutOfOrderMetadataProperties = true;
        json.Converters.Add(new IntegerConverter());
        json.Converters.Add(new FloatConverter());
        json.Converters.Add(new EnumNameConverter());
        json.Converters.Add(new JsonStringEnumConverter());
    }
}
