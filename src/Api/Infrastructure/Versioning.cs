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
    /// The versions If-Match allows: null without the header or with <c>*</c> (any current version), else the
    /// entity-tags it lists — RFC 9110 §13.1.1: the condition holds when any one of them matches. A member that is not
    /// one of our ETags matches no version, so a header of only such members fails with 412 as RFC 9110 says.
    /// A version may be sent as the ETag is written (<c>"7"</c>, or weak <c>W/"7"</c>) or bare (<c>7</c>):
    /// RFC 9110 wants the quotes, but many clients and shells drop them.
    /// </summary>
    public static IfMatch? ExpectedVersion(HttpRequest request)
    {
        var members = request.Headers.IfMatch.SelectMany(v => (v ?? "").Split(',')).Select(m => m.Trim()).Where(m => m.Length > 0).ToList();
        if (members.Count == 0 || members.Contains("*")) return null;
        return new IfMatch([.. members.Select(ParseVersion).OfType<long>()]);
    }

    private static long? ParseVersion(string member)
    {
        if (member.StartsWith("W/", StringComparison.Ordinal)) member = member[2..];
        if (member.Length >= 2 && member[0] == '"' && member[^1] == '"') member = member[1..^1];
        return member.Length > 0 && member.All(char.IsAsciiDigit) && long.TryParse(member, out var version) ? version : null;
    }

    public static void SetETag(HttpResponse response, long version) => response.Headers[HeaderNames.ETag] = $"\"{version}\"";

    /// <summary>Marks a command endpoint: it documents If-Match and answers 412 for a stale version.</summary>
    public static RouteHandlerBuilder AsCommand(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new HonoursIfMatch()).WithinQuotas().ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status404NotFound);
}

/// <summary>The versions an If-Match header names (possibly none that could match); see <see cref="Versioning.ExpectedVersion"/>.</summary>
public sealed record IfMatch(IReadOnlyList<long> Versions)
{
    public bool Allows(long version) => Versions.Contains(version);
}
