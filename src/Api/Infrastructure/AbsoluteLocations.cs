using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace SimService.Api.Infrastructure;

/// <summary>
/// Every Location header is an absolute URI (scheme, host, path base and path), whichever endpoint set it
/// and however: clients that follow it need not know where the request went. The host is never taken
/// blindly from the request: it is <c>Api:PublicBaseUrl</c> when configured, otherwise the request's host
/// only when it is one the server answers on (its own listening addresses, or an <c>AllowedHosts</c> entry
/// other than <c>*</c>). A request with a foreign Host header gets a relative Location instead.
/// </summary>
public static class AbsoluteLocations
{
    public static WebApplication UseAbsoluteLocations(this WebApplication app)
    {
        var origins = Origins(app.Configuration);
        // One callback for the process, the request's context as its state: no closure per request.
        Func<object, Task> absolute = state =>
        {
            var context = (HttpContext)state;
            var location = context.Response.Headers.Location.ToString();
            if (location.StartsWith('/') && !location.StartsWith("//", StringComparison.Ordinal)
                && origins(context) is { } origin)
                context.Response.Headers.Location = origin + location;
            return Task.CompletedTask;
        };
        app.Use((context, next) =>
        {
            context.Response.OnStarting(absolute, context);
            return next(context);
        });
        return app;
    }

    /// <summary>
    /// The origin (scheme, host and path base) that this service's absolute URIs start with for a request:
    /// <c>Api:PublicBaseUrl</c> when configured, else the request's own when its Host is one the server answers on,
    /// else null (a foreign Host header: the caller uses a relative URI).
    /// </summary>
    public static Func<HttpContext, string?> Origins(IConfiguration configuration)
    {
        var publicBase = configuration["Api:PublicBaseUrl"]?.TrimEnd('/');
        var allowedHosts = (configuration["AllowedHosts"] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(h => h != "*").ToArray();
        return context => publicBase ?? (IsOwnHost(context, context.Request.Host, allowedHosts)
            ? $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}" : null);
    }

    private static bool IsOwnHost(HttpContext context, HostString host, string[] allowedHosts)
    {
        if (!host.HasValue) return false;
        if (allowedHosts.Any(h => string.Equals(h, host.Host, StringComparison.OrdinalIgnoreCase))) return true;
        var addresses = context.RequestServices.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            if (!Uri.TryCreate(address.Replace("://+", "://wildcard").Replace("://*", "://wildcard"), UriKind.Absolute, out var uri)) continue;
            var portMatches = (host.Port ?? (context.Request.IsHttps ? 443 : 80)) == uri.Port;
            if (portMatches && string.Equals(uri.Host, host.Host, StringComparison.OrdinalIgnoreCase)) return true;
        }
        // TestServer and in-memory hosts listen on no address; they answer on localhost only.
        return addresses.Count == 0 && string.Equals(host.Host, "localhost", StringComparison.OrdinalIgnoreCase);
    }
}
