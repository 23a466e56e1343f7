using Microsoft.Net.Http.Headers;

namespace SimService.Api.Infrastructure;

/// <summary>
/// Every problem names what the client got wrong the way validation problems do: an <c>errors</c> member (an RFC 9457
/// extension) keyed by the field, parameter or header at fault, its message the problem's detail. <see cref="ErrorMapping"/>
/// names the fields it knows (a JSON path, a command of a batch); this fills in the rest from the request itself —
/// the path's <c>id</c> of a simulation that is not there, <c>If-Match</c>, <c>Content-Type</c>, the header that made a
/// request cross-site or unauthorized, and for a quota or work limit the field its endpoint declares as deciding how
/// much the request does (<see cref="WorkField"/>), else <c>$</c>, the request as a whole (also a 413's body past its limit). Problems with no field at fault
/// (a rate limit, a write conflict, an unknown route) have no <c>errors</c>.
/// </summary>
internal static class ProblemFields
{
    public const string Member = "errors";

    public static void Apply(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem is HttpValidationProblemDetails || problem.Extensions.ContainsKey(Member)) return;
        var request = context.HttpContext.Request;
        string? field = problem.Type switch
        {
            ProblemTypes.SimulationNotFound => "id",
            ProblemTypes.VersionMismatch => HeaderNames.IfMatch,
            ProblemTypes.UnsupportedMediaType => HeaderNames.ContentType,
            ProblemTypes.CrossSiteRequest => request.Headers.Origin.Count > 0 ? HeaderNames.Origin : "Sec-Fetch-Site",
            ProblemTypes.Unauthorized => request.Headers.ContainsKey(Tenancy.ApiKeyAuthenticationHandler.KeyHeader) && request.Headers.Authorization.Count == 0
                ? Tenancy.ApiKeyAuthenticationHandler.KeyHeader : HeaderNames.Authorization,
            ProblemTypes.QuotaExceeded or ProblemTypes.WorkLimit => WorkFieldExtensions.Of(context.HttpContext)?.Name ?? "$",
            // A body past Limits:MaxRequestBodyBytes: the body as a whole, whatever its media type (a JSON document or a script).
            ProblemTypes.RejectedRequest when problem.Status == StatusCodes.Status413PayloadTooLarge => "$",
            _ => null,
        };
        if (field is not null) problem.Extensions[Member] = Errors(field, problem.Detail ?? problem.Title ?? "");
    }

    /// <summary>The <c>errors</c> member of one field.</summary>
    public static Dictionary<string, string[]> Errors(string field, string message) => new() { [field] = [message] };
}

/// <summary>
/// Endpoint metadata: the request field that decides how much work the request does and how much it adds to the
/// tenant's simulation (an advance's <c>eventBudget</c>, a batch's <c>commands</c>), which a 422 <c>work-limit</c> or a
/// 403 <c>quota-exceeded</c> names when nothing more precise is known.
/// </summary>
/// <param name="Advice">What makes the endpoint's work fit its wall-time limit (the 422's advice).</param>
public sealed record WorkField(string Name, string Advice);

public static class WorkFieldExtensions
{
    /// <summary>Declares the field a work limit or quota on this endpoint names, and the advice for work that outlasts its limit (<see cref="WorkField"/>).</summary>
    public static RouteHandlerBuilder WithWorkField(this RouteHandlerBuilder builder, string field, string advice) =>
        builder.WithMetadata(new WorkField(field, advice));

    /// <summary>
    /// The request's work field: one its endpoint set for this request (a field the request did send, where the declared one
    /// may be absent: a workload without eventBudget), else the endpoint's declared one.
    /// </summary>
    public static WorkField? Of(HttpContext context) => context.Features.Get<WorkField>() ?? context.GetEndpoint()?.Metadata.GetMetadata<WorkField>();

    /// <summary>Names <paramref name="field"/> (a field this request sent; "$" for none) in its work limit or quota problems, with the endpoint's advice.</summary>
    public static void NameWorkField(HttpContext context, string field)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<WorkField>() is { } declared) context.Features.Set(declared with { Name = field });
    }
}
