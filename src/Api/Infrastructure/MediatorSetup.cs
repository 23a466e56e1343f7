using System.Diagnostics;
using Mediator;

namespace SimService.Api.Infrastructure;

public static class MediatorSetup
{
    public static IServiceCollection AddApiMediator(this IServiceCollection services)
    {
        services.AddMediator((MediatorOptions options) =>
        {
            // Handlers take the request's SimDbContext: the Singleton default would capture one for ever.
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.Assemblies = [typeof(Program)];
            options.PipelineBehaviors = [typeof(LoggingBehavior<,>)];
        });
        return SingleBehaviours(services);
    }

    /// <summary>
    /// The logging behaviour holds nothing of a request (only its logger), so there is one per message type for the
    /// process instead of one per request: the generator registers pipeline behaviours with the handlers' lifetime
    /// (Scoped), and every request then made one, and the array of the message's behaviours, and grew its scope's table
    /// of resolved services by both. As singletons the array is resolved once for the process.
    /// </summary>
    private static IServiceCollection SingleBehaviours(IServiceCollection services)
    {
        for (int i = 0; i < services.Count; i++)
        {
            var d = services[i];
            if (d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(IPipelineBehavior<,>)
                && d.ImplementationType is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(LoggingBehavior<,>))
                services[i] = ServiceDescriptor.Singleton(d.ServiceType, type);
        }
        return services;
    }
}

/// <summary>
/// Logs each message the mediator handles and how long its handler took (at debug level). While debug is off for it,
/// the handler is called directly: no timing and no asynchronous step of its own per message.
/// </summary>
public sealed partial class LoggingBehavior<TMessage, TResponse>(ILogger<LoggingBehavior<TMessage, TResponse>> logger)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    public ValueTask<TResponse> Handle(
        TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken) =>
        logger.IsEnabled(LogLevel.Debug) ? Logged(message, next, cancellationToken) : next(message, cancellationToken);

    private async ValueTask<TResponse> Logged(
        TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await next(message, cancellationToken);
        LogHandled(typeof(TMessage).Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return response;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Message} handled in {ElapsedMs:F1} ms")]
    private partial void LogHandled(string message, double elapsedMs);
}
