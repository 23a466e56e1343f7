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

/// <summary>Logs each message the mediator handles and how long its handler took.</summary>
public sealed partial class LoggingBehavior<TMessage, TResponse>(ILogger<LoggingBehavior<TMessage, TResponse>> logger)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    public async ValueTask<TResponse> Handle(
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
