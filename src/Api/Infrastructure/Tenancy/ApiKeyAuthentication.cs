using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SimService.Persistence;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>
/// The <c>ApiKey</c> authentication scheme: a key sent as <c>Authorization: Bearer ssk_…</c> or
/// <c>X-Api-Key: ssk_…</c> names its tenant, which scopes the request's database access (<see cref="TenantScope"/>).
/// While keys are off (none created, <c>ApiKeys:Required</c> unset) a request without a key is the single-tenant
/// default. A missing key while keys are on, or an unknown or revoked key at any time, is a 401 problem with
/// <c>WWW-Authenticate: Bearer</c>. The key store (and the database context it rents) is taken from the request's services
/// only when the key table must be read: while keys are off and known to be, a request needs neither.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, ApiKeyMode mode, TimeProvider time, TenantScope tenant)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TenantClaim = "tenant";
    public const string KeyHeader = "X-Api-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Health, metrics and Swagger need no tenant: they never touch the key table (readiness must not fail
        // on it when the database is gone).
        if (Context.GetEndpoint()?.Metadata.GetMetadata<IAuthorizeData>() is null) return AuthenticateResult.NoResult();
        if (Ambiguous(Request)) return AuthenticateResult.Fail(AmbiguousKeys);
        var presented = PresentedKey(Request);
        if (presented is null)
            return mode.Known(time) ?? await Keys.RequiredAsync(Context.RequestAborted) ? AuthenticateResult.NoResult() : Success(tenantId: null);
        var key = await Keys.FindAsync(presented, Context.RequestAborted);
        return key is null ? AuthenticateResult.Fail("The API key is unknown or revoked.") : Success(key.TenantId, key.Id);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = PresentedKey(Request) is not null;
        Response.Headers.WWWAuthenticate = presented
            ? "Bearer realm=\"SimService\", error=\"invalid_token\", error_description=\"The API key is unknown or revoked.\""
            : "Bearer realm=\"SimService\"";
        // A browser opening a page without a key (it cannot send a header on navigation) gets the 401 with a page that
        // asks for the key and sends it as a header; it shows nothing of the simulation.
        if (!presented && Context.GetEndpoint()?.Metadata.GetMetadata<BrowserPage>() is { } page
            && Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase)))
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.ContentType = "text/html; charset=utf-8";
            await Response.WriteAsync(page.KeyPrompt(), Context.RequestAborted);
            return;
        }
        await TypedResults.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            type: ProblemTypes.Unauthorized,
            title: "A valid API key is needed.",
            detail: presented
                ? Ambiguous(Request) ? AmbiguousKeys : "The API key is unknown or revoked."
                : $"Send your API key as 'Authorization: Bearer <key>' or '{KeyHeader}: <key>'.").ExecuteAsync(Context);
    }

    private ApiKeyStore Keys => Context.RequestServices.GetRequiredService<ApiKeyStore>();

    private const string AmbiguousKeys = "The request names different keys (Authorization: Bearer, X-Api-Key, or X-Api-Key twice); send one key.";

    /// <summary>
    /// Whether the request sends two different keys — a Bearer key and an <c>X-Api-Key</c>, or two <c>X-Api-Key</c> values
    /// (two field lines, or one line's comma-separated list, RFC 9110 §5.3): neither is chosen. The same key sent twice is one key.
    /// </summary>
    private static bool Ambiguous(HttpRequest request)
    {
        string? first = null;
        foreach (var authorization in request.Headers.Authorization)
            if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && !Same(ref first, authorization.AsSpan(7)))
                return true;
        foreach (var line in request.Headers[KeyHeader])
            foreach (var range in line.AsSpan().Split(','))
                if (!line.AsSpan()[range].IsWhiteSpace() && !Same(ref first, line.AsSpan()[range])) return true;
        return false;
    }

    /// <summary>Whether <paramref name="key"/> (trimmed) is the first key seen, which it becomes when none was.</summary>
    private static bool Same(ref string? first, ReadOnlySpan<char> key)
    {
        key = key.Trim();
        first ??= key.ToString();
        return key.SequenceEqual(first);
    }

    /// <summary>The key sent with the request, or null when none was sent (two of the same key are that key).</summary>
    private static string? PresentedKey(HttpRequest request)
    {
        foreach (var authorization in request.Headers.Authorization)
            if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization[7..].Trim();
        foreach (var line in request.Headers[KeyHeader])
            foreach (var range in line.AsSpan().Split(','))
                if (!line.AsSpan()[range].IsWhiteSpace()) return line.AsSpan()[range].Trim().ToString();
        var other = request.Headers.Authorization.ToString();
        return other.Length > 0 ? other : null;
    }

    /// <summary>
    /// The single-tenant default's answer while keys are off: one for the process, since it holds nothing of the request (no
    /// claims, no properties) and nothing changes it — the authentication service wraps it in a ticket of its own per request.
    /// A principal, identity, ticket, properties and result per request: with JsonTextCheck.IsJson, 0.75 of 14.7 KB per command (W4, session 19).
    /// </summary>
    private static readonly AuthenticateResult DefaultTenant =
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([], SchemeName)), SchemeName));

    private AuthenticateResult Success(string? tenantId, string? keyId = null)
    {
        tenant.TenantId = tenantId;
        if (tenantId is null) return DefaultTenant;
        var claims = new[] { new Claim(TenantClaim, tenantId), new Claim("key", keyId!) };
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}

/// <summary>Marks an endpoint a browser opens (an HTML page): without a key, while keys are on, the 401 carries <see cref="KeyPrompt"/>.</summary>
public sealed class BrowserPage(Func<string> keyPrompt)
{
    public string KeyPrompt() => keyPrompt();
}
