using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace SimService.Api.Infrastructure;

/// <summary>The one place where expected failures and rejected requests become RFC 9457 problems.</summary>
public static class ErrorMapping
{
    public static ProblemHttpResult ToProblem(Failure failure) => failure switch
    {
        SimulationNotFound notFound => TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            type: ProblemTypes.SimulationNotFound,
            title: "Simulation not found.",
            detail: $"There is no simulation with id '{notFound.SimulationId}'.",
            extensions: new Dictionary<string, object?> { ["simulationId"] = notFound.SimulationId }),
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "Unmapped failure type."),
    };

    /// <summary>
    /// A request the framework could not bind. JSON errors name the offending field by its JSON path
    /// (<c>$.seed</c> → <c>seed</c>); CLR type names from the serializer's messages never reach the client.
    /// </summary>
    public static ProblemDetails FromBadRequest(BadHttpRequestException exception, bool bodyMissing) => exception.InnerException switch
    {
        // A reader error (the serializer wraps the internal JsonReaderException): the body is not JSON.
        JsonException { InnerException: JsonException } syntax => new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.MalformedJson,
            Title = "The request body is not valid JSON.",
            Detail = $"JSON syntax error at line {syntax.LineNumber + 1}, byte {syntax.BytePositionInLine} (path {syntax.Path}).",
        },
        JsonException json => new HttpValidationProblemDetails(new Dictionary<string, string[]>
        {
            [FieldName(json.Path)] = [Describe(json)],
        })
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.Validation,
        },
        null when bodyMissing && exception.StatusCode == StatusCodes.Status400BadRequest => new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.MalformedJson,
            Title = "The request body is not valid JSON.",
            Detail = "The request body is empty; send a JSON object.",
        },
        _ => new ProblemDetails
        {
            Status = exception.StatusCode,
            Type = exception.StatusCode == StatusCodes.Status400BadRequest ? ProblemTypes.BadRequest : null,
            Detail = exception.Message,
        },
    };

    private static string FieldName(string? path) => path is { Length: > 2 } && path.StartsWith("$.", StringComparison.Ordinal)
        ? path[2..]
        : "$";

    // System.Text.Json reports an unknown or duplicated member with a plain JsonException: its message
    // (resources UnmappedJsonProperty, DuplicatePropertiesNotAllowed) is the only thing that tells them
    // from a value of the wrong type. The message itself names CLR types, so it is never passed on.
    private static string Describe(JsonException json) => json.Message switch
    {
        _ when json.Path is "$" => "The request body must be a JSON object.",
        var m when m.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) => "This field is not part of the request.",
        var m when m.StartsWith("Duplicate", StringComparison.Ordinal) => "This field appears more than once.",
        _ => "The value is not valid for this field.",
    };
}
