namespace SimService.Api.Infrastructure;

/// <summary>
/// Writes every problem body whole. The framework serializes a problem under the request's token (<c>RequestAborted</c>)
/// and stops without a word when it is cancelled, so a problem answered after the request's wall-time limit ran out
/// (<c>Limits:RequestSeconds</c>: work that outlasted it and then answered 400) went out as its first buffer only — 14,774
/// bytes of a 1,000-error list, invalid JSON in a complete HTTP answer (tester39 MEDIUM-3). Its body is now written under a
/// token of its own, bounded by <see cref="Bound"/>; a client that stops reading is Kestrel's to drop (MinResponseDataRate).
/// </summary>
internal sealed class WholeProblemBodies(IProblemDetailsService problems) : IProblemDetailsService
{
    /// <summary>The longest a problem body's writing may take.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public async ValueTask WriteAsync(ProblemDetailsContext context) => await TryWriteAsync(context, write: true);

    public ValueTask<bool> TryWriteAsync(ProblemDetailsContext context) => TryWriteAsync(context, write: false);

    async ValueTask<bool> TryWriteAsync(ProblemDetailsContext context, bool write)
    {
        var http = context.HttpContext;
        var request = http.RequestAborted;
        using var bound = new CancellationTokenSource(Bound);
        http.RequestAborted = bound.Token;
        try
        {
            if (!write) return await problems.TryWriteAsync(context);
            await problems.WriteAsync(context);
            return true;
        }
        finally
        {
            http.RequestAborted = request;
        }
    }

    /// <summary>Puts this writer in front of the service <c>AddProblemDetails</c> registered.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.Last(d => d.ServiceType == typeof(IProblemDetailsService));
        services.Remove(registered);
        services.AddSingleton<IProblemDetailsService>(provider => new WholeProblemBodies(
            (IProblemDetailsService)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!)));
    }
}
