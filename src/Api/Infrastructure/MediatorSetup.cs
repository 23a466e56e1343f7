using System.Diagnostics;
using Mediator;

namespace SimService.Api.Infrastructure;

public static class MediatorSetup
{
    public static IServiceCollection AddApiMediator(this IServiceCollection services) =>
        services.AddMediator((MediatorOptions options) =>
        {
            // Handlers take the request's SimDbContext: the Singleton default would capture one for ever.
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.Assemblies = [typeof(Program)];
            options.PipelineBehaviors = [typeof(LoggingBehavior<,>)];
        });
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
