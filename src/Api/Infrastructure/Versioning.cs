using Microsoft.Net.Http.Headers;
using SimService.Api.Infrastructure.Tenancy;

namespace SimService.Api.Infrastructure;

/// <summary>
/// A simulation's version is its number of commands; it is the ETag of the simulation and of every command
/// response, and a command sent with <c>If-Match: "N"</c> is applied only while the version is N.
/// </summary>
public static class Versioning
{
    /// <summary>
    /// The version If-Match asks for: null without the header (or with <c>*</c>), and -1 — which no version
    /// equals — for a value that is not one of our ETags, so that it fails with 412 as RFC 9110 says.
    /// The version may be sent as the ETag is written (<c>"7"</c>, or weak <c>W/"7"</c>) or bare (<c>7</c>):
    /// RFC 9110 wants the quotes, but many clients and shells drop them.
    /// </summary>
    public static long? ExpectedVersion(HttpRequest request)
    {
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header is "" or "*") return null;
        if (header.StartsWith("W/", StringComparison.Ordinal)) header = header[2..];
        if (header.Length >= 2 && header[0] == '"' && header[^1] == '"') header = header[1..^1];
        return header.Length > 0 && header.All(char.IsAsciiDigit) && long.TryParse(header, out var version) ? version : -1;
    }

    public static void SetETag(HttpResponse response, long version) => response.Headers[HeaderNames.ETag] = $"\"{version}\"";

    /// <summary>Marks a command endpoint: it documents If-Match and answers 412 for a stale version.</summary>
    public static RouteHandlerBuilder AsCommand(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new HonoursIfMatch()).WithinQuotas().ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status404NotFound);
}
