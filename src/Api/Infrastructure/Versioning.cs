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
    /// A version may be sent as the ETag is written (<c>"7"</c>) or bare (<c>7</c>): RFC 9110 wants the quotes, but many
    /// clients and shells drop them. If-Match compares strongly (§13.1.1, §8.8.3.2): a weak tag (<c>W/"7"</c>) never
    /// matches, so a header of only weak tags is a 412; and an entity-tag is compared character by character, so
    /// <c>"012"</c> is not <c>"12"</c> (it matched until session 29: the digits were compared as numbers). A header sent
    /// empty (<c>If-Match:</c>, or only commas) is a list of no entity-tag (§5.6.1's #rule allows zero members), which
    /// §13.1.1 evaluates as false — "true if any of the listed tags match …; otherwise, the condition is false" — so a
    /// 412 like any other list that names no current version (it was taken for no header: the command was applied).
    /// </summary>
    public static IfMatch? ExpectedVersion(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(HeaderNames.IfMatch, out var header)) return null;
        var members = Members(header);
        if (members.Contains("*")) return null;
        var strong = members.Where(m => !IsWeak(m)).ToList();
        return new IfMatch([.. strong.Select(ParseVersion).OfType<long>()], [.. strong.Where(m => ParseVersion(m) is null)]);
    }

    /// <summary>
    /// RFC 9110 §13.1.2: If-None-Match on a GET or HEAD holds (the representation is sent) unless one of its entity-tags
    /// matches the current one by weak comparison (<c>W/"7"</c> matches <c>"7"</c>), or it is <c>*</c> and the resource
    /// exists; when it does not hold the answer is 304 Not Modified. Without the header it holds.
    /// </summary>
    public static bool NoneMatch(HttpRequest request, long version)
    {
        var members = Members(request.Headers.IfNoneMatch);
        return !members.Contains("*") && !members.Select(m => ParseVersion(IsWeak(m) ? m[2..] : m)).Contains(version);
    }

    private static List<string> Members(Microsoft.Extensions.Primitives.StringValues header) =>
        [.. header.SelectMany(v => (v ?? "").Split(',')).Select(m => m.Trim()).Where(m => m.Length > 0)];

    private static bool IsWeak(string member) => member.StartsWith("W/", StringComparison.Ordinal);

    /// <summary>
    /// The version an entity-tag names: its opaque-tag must be exactly an ETag we send (<see cref="SetETag"/>, the
    /// version's decimal digits without leading zeros) — "04" is another tag than "4" (RFC 9110 §8.8.3.2).
    /// </summary>
    private static long? ParseVersion(string member)
    {
        if (member.Length >= 2 && member[0] == '"' && member[^1] == '"') member = member[1..^1];
        return member.Length > 0 && member.All(char.IsAsciiDigit) && long.TryParse(member, out var version)
            && member == version.ToString(System.Globalization.CultureInfo.InvariantCulture) ? version : null;
    }

    public static void SetETag(HttpResponse response, long version) => response.Headers[HeaderNames.ETag] = $"\"{version}\"";

    /// <summary>Marks a command endpoint: it documents If-Match and answers 412 for a stale version; a JSON null body is a 400 (<see cref="Hardening.NullBody"/>).</summary>
    public static RouteHandlerBuilder AsCommand(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new HonoursIfMatch()).WithinQuotas().AddEndpointFilter(Hardening.NullBody.Filter).ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status404NotFound);
}

/// <summary>
/// The versions an If-Match header names (possibly none that could match), and its strong members that name none, as sent
/// (<c>"04"</c>, <c>abc</c>); see <see cref="Versioning.ExpectedVersion"/>.
/// </summary>
public sealed record IfMatch(IReadOnlyList<long> Versions, IReadOnlyList<string> Others)
{
    public bool Allows(long version) => Versions.Contains(version);
}
