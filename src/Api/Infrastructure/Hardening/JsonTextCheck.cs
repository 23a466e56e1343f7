using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using SimService.Domain.Scenarios;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// Refuses a JSON body whose strings are not valid Unicode — raw bytes that are not UTF-8, or a <c>\uD800</c>
/// escape without its other half — with a 400 naming the field, before any endpoint reads it; so too a body nested
/// deeper than the JSON reader reads (<see cref="JsonNesting"/>: it was a syntax error, or "not valid for this field"). System.Text.Json
/// only finds these when a string is finally decoded (<c>GetString()</c> throws InvalidOperationException), and
/// several requests keep parts of their body as raw JSON (sysctl values, scenario documents) that are decoded
/// late. Checking every string once, here, covers them all. A body that is not JSON at all is left to the
/// endpoint's own binding, which reports the syntax error.
/// </summary>
public sealed class JsonTextCheck(RequestDelegate next)
{
    /// <summary>
    /// Bodies up to this size (by their <c>Content-Length</c>) are checked where Kestrel holds them and left unread for the
    /// endpoint; it is far below Kestrel's request buffer (1 MB), so holding a whole body unconsumed cannot stall the connection.
    /// </summary>
    public const int InPlaceBytes = 64 * 1024;

    public Task InvokeAsync(HttpContext context)
    {
        if (!IsJson(context.Request.ContentType) || context.Request.ContentLength == 0) return next(context);
        return context.Request.ContentLength is > 0 and <= InPlaceBytes ? CheckInPlaceAsync(context) : CheckCopyAsync(context);
    }

    /// <summary>The two JSON content types clients send, recognised without a parse.</summary>
    public static bool IsPlainJson(string? contentType) =>
        string.Equals(contentType, "application/json", StringComparison.OrdinalIgnoreCase)
        || string.Equals(contentType, "application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// <see cref="HttpRequestJsonExtensions.HasJsonContentType(HttpRequest)"/>'s answer, without parsing the two content types
    /// clients send (a parse is a media type object and its parameter list, and the endpoint's JSON binding parses it again).
    /// </summary>
    public static bool IsJson(string? contentType) =>
        IsPlainJson(contentType)
        || (contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var type)
            && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// A body of known, small length (every command's): read from Kestrel's body pipe, checked, and handed back
    /// unconsumed, so that the endpoint reads it from the start — no copy, and the endpoint's JSON binding reads Kestrel's
    /// own pipe rather than a stream wrapped in another pipe (the copy below cost ≈ 1.5 KB and a pipe per command in W4).
    /// </summary>
    private async Task CheckInPlaceAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        var read = await BodyReads.ReadAtLeastAsync(reader, (int)context.Request.ContentLength!.Value, context.RequestAborted);
        var body = read.Buffer;
        var refusal = body.IsSingleSegment ? Refusal(body.FirstSpan) : Refusal(body.ToArray());
        reader.AdvanceTo(body.Start); // nothing consumed, nothing examined: the next read returns the same bytes
        if (refusal is { } r) await RefuseAsync(context, r.Field, r.Message);
        else await next(context);
    }

    /// <summary>
    /// Any other JSON body: read once into memory and handed on as a seekable stream (what EnableBuffering's file-backed
    /// stream did, for less: W4's profile had it at ≈ 1.5 % of a command's CPU).
    /// </summary>
    private async Task CheckCopyAsync(HttpContext context)
    {
        var copy = new MemoryStream(context.Request.ContentLength is > 0 and <= 1 << 20 ? (int)context.Request.ContentLength : 0);
        await BodyReads.CopyToAsync(context.Request.BodyReader, copy, context.RequestAborted);
        context.Request.Body = new MemoryStream(copy.GetBuffer(), 0, (int)copy.Length, writable: false, publiclyVisible: true);
        if (Refusal(copy.GetBuffer().AsSpan(0, (int)copy.Length)) is { } r) await RefuseAsync(context, r.Field, r.Message);
        else await next(context);
    }

    private static Task RefuseAsync(HttpContext context, string field, string message) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]>
        {
            [field] = [message],
        })
        {
            Status = StatusCodes.Status400BadRequest,
            Type = ProblemTypes.Validation,
            Instance = context.Request.Path,
        }).ExecuteAsync(context);

    /// <summary>The field at fault and why: nested too deep (first: the walk for invalid text stops there), or invalid text.</summary>
    private static (string Field, string Message)? Refusal(ReadOnlySpan<byte> json) =>
        JsonNesting.TooDeep(json) is { } deep ? (FieldOf(deep), JsonNesting.Message)
        : FindInvalidText(json) is { } field ? (field, JsonText.Message)
        : null;

    /// <summary>A path from <see cref="JsonNesting"/> as fields are named here (<c>description[0][0]</c>, <c>$</c> for the root).</summary>
    private static string FieldOf(IReadOnlyList<JsonNesting.Step> steps)
    {
        var text = new StringBuilder();
        foreach (var step in steps) Append(text, step.Name, step.Name is null ? step.Index : -1);
        return text.Length == 0 ? "$" : text.ToString();
    }

    /// <summary>The field (as ErrorMapping names fields: <c>commands[2].values.x</c>, <c>$</c> for the root) holding invalid text, or null.</summary>
    public static string? FindInvalidText(ReadOnlySpan<byte> json) => JsonText.FindInvalid(json) is { } steps ? FieldOf(steps) : null;

    private static void Append(StringBuilder text, string? name, int parentIndex)
    {
        if (parentIndex >= 0) text.Append('[').Append(parentIndex).Append(']');
        else if (name is not null) text.Append(text.Length == 0 ? "" : ".").Append(name);
    }
}
