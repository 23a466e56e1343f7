namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// Which state-changing requests a browser sent for a page of another site. A browser sends <c>Origin</c> with every
/// POST, PUT, PATCH and DELETE (a cross-site HTML form and <c>fetch(url, {method: 'POST', mode: 'no-cors'})</c> included)
/// and <c>Sec-Fetch-Site</c> with every request; neither needs a preflight, so CORS alone does not stop them. Such a
/// request is refused when <c>Sec-Fetch-Site</c> says <c>cross-site</c> or when its <c>Origin</c> is neither the
/// request's own (scheme, host and port) nor an allowed one (<c>Cors:AllowedOrigins</c>, the origin of
/// <c>Api:PublicBaseUrl</c>). Requests with neither header — curl, the CLI, generated clients — are not a browser's and pass.
/// Safe methods (GET, HEAD, OPTIONS, TRACE) are never refused here.
/// </summary>
public sealed class CrossSite(IEnumerable<string> allowedOrigins)
{
    private readonly HashSet<string> _allowed = new(allowedOrigins.Select(origin => origin.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    /// <summary>The origin (scheme://host[:port]) of a URL, or nothing when there is none.</summary>
    public static IEnumerable<string> OriginOf(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? [uri.GetLeftPart(UriPartial.Authority)] : [];

    public bool Refuses(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)
            || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method)) return false;
        var origin = request.Headers.Origin;
        var crossSite = string.Equals(request.Headers["Sec-Fetch-Site"], "cross-site", StringComparison.OrdinalIgnoreCase);
        if (origin.Count == 0) return crossSite;
        // A configured origin is another site by design; the request's own origin is never cross-site.
        return origin.Count > 1 || !(_allowed.Contains(origin.ToString()) || (!crossSite && IsOwn(request, origin.ToString())));
    }

    /// <summary>
    /// Whether the origin is the request's own: its scheme, host and port (default ports filled in on both sides; an IPv6
    /// address compared without the brackets the Host header keeps and <see cref="Uri.IdnHost"/> drops).
    /// </summary>
    private static bool IsOwn(HttpRequest request, string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.AbsolutePath == "/"
        && string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(uri.IdnHost.Trim('[', ']'), request.Host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
        && uri.Port == (request.Host.Port ?? (string.Equals(request.Scheme, "https", StringComparison.OrdinalIgnoreCase) ? 443 : 80));
}
