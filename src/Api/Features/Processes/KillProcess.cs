using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Scenarios;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Processes;

public sealed record KillProcessRequest
{
    /// <summary>The signal (default SIGKILL); whatever it is, the process exits and the kernel closes its descriptors as at exit.</summary>
    /// <example>SIGKILL</example>
    [SignalName]
    public string? Signal { get; init; }
}

/// <summary>setrlimit(resource, {rlim_cur, rlim_max}) by the process: only RLIMIT_NOFILE, the descriptor limit.</summary>
public sealed record SetrlimitRequest
{
    /// <summary>The resource: RLIMIT_NOFILE (the only one the engine limits).</summary>
    /// <example>RLIMIT_NOFILE</example>
    [Required, AllowedValues("RLIMIT_NOFILE", ErrorMessage = "The only resource the engine limits is RLIMIT_NOFILE.")]
    public string? Resource { get; init; }

    /// <summary>rlim_cur, the soft limit alloc_fd() and dup2() test (rlim_t: not negative).</summary>
    /// <example>1024</example>
    [Required, Int64Range(0, long.MaxValue)]
    public long? Soft { get; init; }

    /// <summary>rlim_max, the hard limit; default soft (as `ulimit -n N` sets both).</summary>
    /// <example>4096</example>
    [Int64Range(0, long.MaxValue)]
    public long? Hard { get; init; }
}

/// <param name="EventCount">Journal events the kill produced (closes, FINs or RSTs, lost bytes).</param>
public sealed record ProcessKilled(string Host, string Process, string Signal, int EventCount, long NowNs, long Version) : LeftModelAnswer, IVersioned;

public sealed record KillProcess(Guid SimulationId, IfMatch? ExpectedVersion, string Host, string Process, string Signal)
    : ICommand<Outcome<ProcessKilled>>;

public sealed class KillProcessHandler(LiveSimulations simulations) : ICommandHandler<KillProcess, Outcome<ProcessKilled>>
{
    public ValueTask<Outcome<ProcessKilled>> Handle(KillProcess command, CancellationToken cancellationToken) =>
        simulations.WriteAsync<ProcessKilled>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            var outcome = batch.Apply(new KillCommand(command.Host, command.Process, command.Signal));
            return outcome.IsOk
                ? new ProcessKilled(command.Host, command.Process, command.Signal, batch.EventCount, batch.Engine.Now.Ns, batch.Version)
                : CommandRefused.From(command.SimulationId, outcome.Error!);
        }, cancellationToken);
}

/// <summary>The signal names the scenario format knows (SIGKILL, SIGTERM, ...), so that a kill exports as a kill step.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SignalNameAttribute : AllowedValuesAttribute
{
    public static readonly object?[] Names = [.. Enum.GetValues<KillSignal>().Select(s => s.ToWireName())];

    public SignalNameAttribute() : base(Names) => ErrorMessage = $"Unknown signal; expected one of {string.Join(", ", Names)}.";

    public override bool IsValid(object? value) => value is null || base.IsValid(value);
}
