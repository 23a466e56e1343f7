using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SimService.Domain.Scenarios;

namespace SimService.Api.Infrastructure;

/// <summary>The one place where expected failures and rejected requests become RFC 9457 problems.</summary>
public static partial class ErrorMapping
{
    public static ProblemHttpResult ToProblem(Failure failure) => failure switch
    {
        SimulationNotFound notFound => TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            type: ProblemTypes.SimulationNotFound,
            title: "Simulation not found.",
            detail: $"There is no simulation with id '{notFound.SimulationId}'.",
            extensions: new Dictionary<string, object?> { ["simulationId"] = notFound.SimulationId }),
        VersionMismatch mismatch => TypedResults.Problem(
            statusCode: StatusCodes.Status412PreconditionFailed,
            type: ProblemTypes.VersionMismatch,
            title: "The simulation has changed.",
            detail: mismatch.Detail,
            extensions: new Dictionary<string, object?> { ["simulationId"] = mismatch.SimulationId, ["currentVersion"] = mismatch.CurrentVersion }),
        WriteConflict conflict => TypedResults.Problem(
            statusCode: StatusCodes.Status409Conflict,
            type: ProblemTypes.WriteConflict,
            title: "The simulation was changed by another request.",
            detail: "Another API process appended to this simulation's command log twice while this request was applied; nothing was applied. Retry it.",
            extensions: new Dictionary<string, object?> { ["simulationId"] = conflict.SimulationId }),
        ServiceStopping stopping => TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            type: ProblemTypes.ServiceStopping,
            title: "The service is stopping.",
            detail: $"The request's work was not run, or was cancelled, because the service is stopping; nothing was applied. Send it again in {ServiceStopping.RetryAfterSeconds} s.",
            extensions: new Dictionary<string, object?> { ["simulationId"] = stopping.SimulationId, ["retryAfterSeconds"] = ServiceStopping.RetryAfterSeconds }),
        CommandRefused refused => Refused(refused),
        WorkLimitExceeded limit => WorkLimit(limit.Field, limit.Message, limit.SimulationId),
        Tenancy.QuotaExceeded quota => Quota(quota),
        RequestInvalid invalid => TypedResults.Problem(new HttpValidationProblemDetails(invalid.Errors.ToDictionary())
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.Validation,
            Extensions = { ["simulationId"] = invalid.SimulationId },
        }),
        ResourceNotFound missing => TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            type: ProblemTypes.NotFound,
            title: "Not found.",
            detail: missing.Message,
            extensions: new Dictionary<string, object?>
            {
                ["simulationId"] = missing.SimulationId,
                ["errors"] = new Dictionary<string, string[]> { [missing.Field] = [missing.Message] },
            }),
        NotExportable notExportable => TypedResults.Problem(
            statusCode: StatusCodes.Status409Conflict,
            type: ProblemTypes.NotExportable,
            title: "The simulation cannot be exported as a scenario.",
            detail: notExportable.Reason,
            extensions: new Dictionary<string, object?>
            {
                ["simulationId"] = notExportable.SimulationId,
                ["commandSeq"] = notExportable.CommandSeq,
                // the command that cannot be written as a step, or the whole simulation ("$") when no one command is at fault
                ["errors"] = new Dictionary<string, string[]> { [notExportable.CommandSeq is null ? "$" : "commandSeq"] = [notExportable.Reason] },
            }),
        ScenarioInvalid invalid => TypedResults.Problem(new HttpValidationProblemDetails(
            invalid.Errors.GroupBy(e => e.Path).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()))
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.InvalidScenario,
            Title = "The scenario document is not valid.",
            Detail = "Nothing was run. Each entry of errors is keyed by the JSON path of the offending value.",
        }),
        ScriptRefused refused => TypedResults.Problem(new HttpValidationProblemDetails(
            refused.Errors.GroupBy(e => e.Position).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()))
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.InvalidScript,
            Title = "The packetdrill script cannot run.",
            Detail = "Nothing was run. Each entry of errors is keyed by the line and column of a syntax error or of a construct the simulator does not run.",
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "Unmapped failure type."),
    };

    /// <summary>
    /// 422: more work than one request may do (events, journal, wall time); nothing was applied. Without a
    /// <paramref name="field"/>, <see cref="ProblemFields"/> names the endpoint's <see cref="WorkField"/>.
    /// </summary>
    public static ProblemHttpResult WorkLimit(string? field, string message, Guid? simulationId)
    {
        var extensions = new Dictionary<string, object?> { ["simulationId"] = simulationId };
        if (field is not null) extensions[ProblemFields.Member] = ProblemFields.Errors(field, message);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status422UnprocessableEntity,
            type: ProblemTypes.WorkLimit,
            title: "The request needs more work than one request may do.",
            detail: message,
            extensions: extensions);
    }

    /// <summary>403: a quota; <c>errors</c> names the field when the failure knows it, else <see cref="ProblemFields"/> the endpoint's.</summary>
    private static ProblemHttpResult Quota(Tenancy.QuotaExceeded quota)
    {
        var detail = quota.Message + " Nothing was stored.";
        var extensions = new Dictionary<string, object?> { ["quota"] = quota.Quota, ["limit"] = quota.Limit, ["simulationId"] = quota.SimulationId };
        if (quota.Field is not null) extensions[ProblemFields.Member] = ProblemFields.Errors(quota.Field, detail);
        return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, type: ProblemTypes.QuotaExceeded,
            title: $"The tenant's {quota.Quota} quota would be exceeded.", detail: detail, extensions: extensions);
    }

    /// <summary>An engine refusal: 404 (not-found), 409 (conflict) or 400 (invalid), naming the field either way.</summary>
    private static ProblemHttpResult Refused(CommandRefused refused)
    {
        var errors = new Dictionary<string, string[]> { [refused.Field] = [refused.Error.Message] };
        var extensions = new Dictionary<string, object?> { ["simulationId"] = refused.SimulationId };
        if (refused.SocketId is { } socketId) extensions["socketId"] = socketId;
        if (refused.Error.Code is "invalid")
        {
            var validation = new HttpValidationProblemDetails(errors) { Status = StatusCodes.Status400BadRequest, Type = ProblemTypes.Validation };
            foreach (var (key, value) in extensions) validation.Extensions[key] = value;
            return TypedResults.Problem(validation);
        }
        extensions["errors"] = errors;
        var (status, type, title) = refused.Error.Code is "not-found"
            ? (StatusCodes.Status404NotFound, ProblemTypes.NotFound, "Not found.")
            : (StatusCodes.Status409Conflict, ProblemTypes.Conflict, "The command conflicts with the simulation's state.");
        return TypedResults.Problem(statusCode: status, type: type, title: title, detail: refused.Error.Message, extensions: extensions);
    }

    /// <summary>The reader stopped at a <c>/</c>: the start of a comment, which the scenario files the CLI reads may hold
    /// (<c>simservice new</c> writes them) and plain JSON may not. Utf8JsonReader names the offending character first.</summary>
    static bool CommentStart(JsonException syntax) => syntax.InnerException!.Message.StartsWith("'/'", StringComparison.Ordinal);

    /// <summary>
    /// A request the framework could not bind. JSON errors name the offending field by its JSON path
    /// (<c>$.seed</c> → <c>seed</c>); CLR type names from the serializer's messages never reach the client.
    /// </summary>
    /// <param name="bodyType">The endpoint's body type, to name the values a string field takes (<see cref="OneOfAttribute"/>).</param>
    /// <param name="bodySent">The endpoint takes a body and the request's holds bytes (<see cref="Hardening.EmptyBodyDetection.HasBytes"/>).</param>
    public static ProblemDetails FromBadRequest(BadHttpRequestException exception, bool bodyMissing, long? maxBodyBytes = null, Type? bodyType = null,
        bool bodySent = false) => exception.InnerException switch
    {
        // A reader error (the serializer wraps the internal JsonReaderException): the body is not JSON.
        JsonException { InnerException: JsonException } syntax => new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.MalformedJson,
            Title = "The request body is not valid JSON.",
            Detail = $"JSON syntax error at {JsonSyntax.Position(syntax)} (path {syntax.Path}): {JsonSyntax.Reason(syntax)}."
                + (CommentStart(syntax) ? " Comments (// and /* */) are not JSON: the API takes plain JSON (the simservice tool drops them from a file before it sends it)." : ""),
        },
        JsonException json => new HttpValidationProblemDetails(new Dictionary<string, string[]>
        {
            [FieldName(json)] = [Describe(json, bodyType)],
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
        // A body with bytes that the binder read as no object: JSON null (bytes that are no JSON throw a JsonException, an
        // empty body is the case above). RequestDelegateFactory's "Implicit body inferred for parameter … but no body was
        // provided" names a C# parameter; the client gets what [] and "x" get.
        null when bodySent && exception.StatusCode == StatusCodes.Status400BadRequest && BodyNotProvided().IsMatch(exception.Message) =>
            new HttpValidationProblemDetails(new Dictionary<string, string[]> { ["$"] = [Hardening.NullBody.NoObject] })
            {
                Status = StatusCodes.Status400BadRequest,
                Type = ProblemTypes.Validation,
            },
        null when exception.StatusCode == StatusCodes.Status415UnsupportedMediaType => new ProblemDetails
        {
            Status = StatusCodes.Status415UnsupportedMediaType,
            Type = ProblemTypes.UnsupportedMediaType,
            Title = "Unsupported media type.",
            Detail = AcceptedMediaTypes.JsonAdvice,
        },
        // A query or route value the framework could not convert ("journal?fromNs=abc"): its message names the
        // parameter and a CLR type ("Nullable<long> fromNs"); the client gets the parameter and the form it takes.
        null when QueryValueNotBound().Match(exception.Message) is { Success: true } bind => new HttpValidationProblemDetails(
            new Dictionary<string, string[]>
            {
                [bind.Groups["name"].Value] = [NotBound(bind.Groups["type"].Value, bind.Groups["value"].Value)],
            })
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.Validation,
        },
        // A body over Kestrel's MaxRequestBodySize, found when the API reads it: the problem Kestrel's own refusals get.
        _ when exception.StatusCode == StatusCodes.Status413PayloadTooLarge => new ProblemDetails
        {
            Status = StatusCodes.Status413PayloadTooLarge,
            Type = ProblemTypes.RejectedRequest,
            Title = "Content Too Large.",
            Detail = maxBodyBytes is { } most
                ? $"The request body is larger than the server accepts: at most {most:N0} bytes (Limits:MaxRequestBodyBytes)."
                : "The request body is larger than the server accepts (Limits:MaxRequestBodyBytes).",
        },
        _ => new ProblemDetails
        {
            Status = exception.StatusCode,
            Type = exception.StatusCode == StatusCodes.Status400BadRequest ? ProblemTypes.BadRequest : ProblemTypes.RejectedRequest,
            Detail = exception.Message,
        },
    };

    /// <summary>RequestDelegateFactory's messages for a body parameter bound to null: an inferred one, and a [FromBody] one.</summary>
    [System.Text.RegularExpressions.GeneratedRegex("""^(Implicit body inferred for parameter "[^"]+" but no body was provided|Required parameter "[^"]+" was not provided from body)""")]
    private static partial System.Text.RegularExpressions.Regex BodyNotProvided();

    /// <summary>RequestDelegateFactory's message for a value it could not parse: <c>Failed to bind parameter "{type} {name}" from "{value}".</c></summary>
    [System.Text.RegularExpressions.GeneratedRegex("""^Failed to bind parameter "(?<type>.+) (?<name>[^ "]+)" from "(?<value>.*)"\.$""", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex QueryValueNotBound();

    /// <summary>
    /// Why a query or route value did not bind, in words (no CLR names reach the client): a whole number past its
    /// parameter's type is out of range ("toNs=99999999999999999999" was called "not a whole number"), else the form it takes.
    /// </summary>
    private static string NotBound(string displayType, string value)
    {
        var type = displayType.Replace("Nullable<", "", StringComparison.Ordinal).TrimEnd('>', ']', '[');
        (decimal Min, decimal Max)? range = type switch
        {
            "long" => (long.MinValue, long.MaxValue),
            "int" => (int.MinValue, int.MaxValue),
            "short" => (short.MinValue, short.MaxValue),
            "ulong" => (0, ulong.MaxValue),
            "uint" => (0, uint.MaxValue),
            _ => null,
        };
        if (range is { } r && WholeNumber().IsMatch(value))
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"'{value}' is outside {r.Min}..{r.Max}.");
        return $"'{value}' is not {ExpectedForm(type)}.";
    }

    /// <summary>Digits with an optional sign, as the integer parsers take them (NumberStyles.Integer: surrounding white space too).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*[+-]?[0-9]+\s*$")]
    private static partial System.Text.RegularExpressions.Regex WholeNumber();

    /// <summary>The form a parameter of that type takes, in words.</summary>
    private static string ExpectedForm(string type) => type switch
    {
        "long" or "int" or "short" or "ulong" or "uint" => "a whole number",
        "bool" => "true or false",
        "Guid" => "a UUID",
        _ => "a valid value for this parameter",
    };

    /// <summary>
    /// System.Text.Json refuses to build an abstract type (a polymorphic object without its "type"
    /// discriminator) with a NotSupportedException, which is not a binding failure to ASP.NET: the
    /// client sent an object without its type, a 400 naming the path, not a 500.
    /// </summary>
    public static ProblemDetails FromUnsupportedJson(NotSupportedException exception) =>
        new HttpValidationProblemDetails(new Dictionary<string, string[]>
        {
            [FieldName(System.Text.RegularExpressions.Regex.Match(exception.Message, @"Path: (\S+)") is { Success: true } m ? m.Groups[1].Value : null)] =
                ["This object needs its \"type\" (the kind of command it is)."],
        })
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.Validation,
        };

    /// <summary>
    /// The field a serializer path names: <c>$.sysctls</c> is <c>sysctls</c>, and a key the serializer quotes because it
    /// holds a dot (a dictionary's <c>$.sysctls['net.ipv4.tcp_sack']</c>, <c>$['net.ipv4.tcp_sack']</c> for a body that
    /// is the dictionary) joins with a dot as the service's own errors name it (<c>sysctls.net.ipv4.tcp_sack</c>); the
    /// whole body is <c>$</c>.
    /// </summary>
    internal static string FieldName(string? path)
    {
        if (path is not { Length: > 1 } || path[0] != '$') return "$";
        var field = new System.Text.StringBuilder();
        int at = 1;
        foreach (System.Text.RegularExpressions.Match m in PathSegment().Matches(path, 1))
        {
            if (m.Index != at) return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "$";
            at = m.Index + m.Length;
            if (m.Groups["index"].Success) field.Append(m.Value);
            else field.Append(field.Length > 0 ? "." : "").Append(m.Groups["name"].Success ? m.Groups["name"].Value : m.Groups["key"].Value.Replace("\\'", "'", StringComparison.Ordinal));
        }
        return at == path.Length && field.Length > 0 ? field.ToString() : "$";
    }

    /// <summary>A segment of a serializer path: <c>.name</c>, <c>['quoted key']</c> or <c>[2]</c>.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<key>(?:[^'\\]|\\.)*)'\]|(?<index>\[\d+\])")]
    private static partial System.Text.RegularExpressions.Regex PathSegment();

    /// <summary>The field: the reported path, and below it the member one of our converters names.</summary>
    private static string FieldName(JsonException json)
    {
        var field = FieldName(json.Path);
        if (json is not JsonInputException { Member: { } member }) return field;
        if (field == "$") return member;
        return member.StartsWith('[') ? field + member : field + "." + member;
    }

    // System.Text.Json reports an unknown or duplicated member with a plain JsonException: its message
    // (resources UnmappedJsonProperty, DuplicatePropertiesNotAllowed) is the only thing that tells them
    // from a value of the wrong type. The message itself names CLR types, so it is never passed on.
    internal static string Describe(JsonException json, Type? bodyType = null) => json.Message switch
    {
        _ when json is JsonInputException { OutOfRange: { } number }
            && FieldAt(bodyType, json.Path)?.GetCustomAttribute<System.ComponentModel.DataAnnotations.RangeAttribute>() is { } range =>
            JsonInteger.Outside(number, Bound(range.Minimum), Bound(range.Maximum)),
        _ when json is JsonInputException => json.Message,
        _ when json.Path is "$" => Hardening.NullBody.NoObject,
        var m when m.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) => "This field is not part of the request.",
        var m when m.StartsWith("Duplicate", StringComparison.Ordinal) => "This field appears more than once.",
        var m when NotConverted().Match(m) is { Success: true } target && Expected(target.Groups["type"].Value, json.Path, bodyType) is { } expected => expected,
        _ => "The value is not valid for this field.",
    };

    /// <summary>A [Range] bound: [Int64Range] keeps its bounds as invariant text, [Range(int, int)] as numbers.</summary>
    private static IFormattable Bound(object bound) =>
        bound as IFormattable ?? long.Parse((string)bound, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The serializer's "The JSON value could not be converted to {CLR type}. Path: …": a value of another kind.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"could not be converted to (?<type>\S+)\. Path:")]
    private static partial System.Text.RegularExpressions.Regex NotConverted();

    /// <summary>
    /// What a field of that CLR type takes, in words ("expected a list (a JSON array)"; a string field with
    /// <see cref="OneOfAttribute"/> names its values): the serializer says only that the value did not convert.
    /// </summary>
    private static string? Expected(string clrType, string? path, Type? bodyType)
    {
        const string nullable = "System.Nullable`1[";
        var type = clrType.StartsWith(nullable, StringComparison.Ordinal) ? clrType[nullable.Length..^1] : clrType;
        if (type.EndsWith("[]", StringComparison.Ordinal) || type.Contains("List`1", StringComparison.Ordinal)
            || type.Contains("IEnumerable`1", StringComparison.Ordinal) || type.Contains("ImmutableArray`1", StringComparison.Ordinal))
            return "Expected a list (a JSON array).";
        return type switch
        {
            "System.String" => FieldAt(bodyType, path)?.GetCustomAttribute<OneOfAttribute>() is { } oneOf
                ? $"Expected a string: one of {string.Join(", ", oneOf.Values.OfType<object>())}."
                : "Expected a string.",
            "System.Boolean" => "Expected true or false.",
            "System.Guid" => "Expected a UUID, as a string.",
            _ when type.Contains("Dictionary`2", StringComparison.Ordinal) => "Expected an object.",
            _ => null,
        };
    }

    /// <summary>
    /// The property a JSON path ("$.how", "$.bind.port", "$.items[2].name") names in <paramref name="bodyType"/>, by the
    /// camelCase names the API reads; null where the path leaves the declared types (a polymorphic command).
    /// </summary>
    private static System.Reflection.PropertyInfo? FieldAt(Type? bodyType, string? path)
    {
        if (bodyType is null || path is null || !path.StartsWith("$.", StringComparison.Ordinal)) return null;
        System.Reflection.PropertyInfo? property = null;
        var type = bodyType;
        foreach (var segment in path[2..].Split('.'))
        {
            var name = segment.Split('[')[0];
            property = type.GetProperties().FirstOrDefault(p => string.Equals(JsonNamingPolicy.CamelCase.ConvertName(p.Name), name, StringComparison.Ordinal));
            if (property is null) return null;
            type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (segment.Contains('[')) type = type.IsArray ? type.GetElementType()! : type.GenericTypeArguments.FirstOrDefault() ?? type;
        }
        return property;
    }
}
