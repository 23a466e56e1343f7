namespace SimService.Api.Infrastructure;

/// <summary>
/// Every Location header is an absolute URI (scheme, host, path base and path), whichever endpoint set it
/// and however: clients that follow it need not know where the request went.
/// </summary>
public static class AbsoluteLocations
{
    public static WebApplication UseAbsoluteLocations(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var location = context.Response.Headers.Location.ToString();
                if (location.StartsWith('/') && !location.StartsWith("//", StringComparison.Ordinal))
                {
                    var request = context.Request;
                    context.Response.Headers.Location = $"{request.Scheme}://{request.Host}{request.PathBase}{location}";
                }
                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }
}
