using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Mediator;
using SimService.Api.Features.Clock;
using SimService.Api.Features.Sockets;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Persistence.Serialization;

namespace SimService.Api.Features.Commands;

public sealed record ApplyCommandsRequest
{
    public const int MaxCommands = 1000;

    /// <summary>The commands, applied in order, all or nothing (at most 1000). An advance that the request's journal limit stops is applied truncated, as alone, only as the last: a command after it refuses the batch (422 work-limit).</summary>
    [Required]
    public List<CommandInput?>? Commands { get; init; }
}

/// <param name="Seq">The command's sequence number in the log (the simulation's version after it).</param>
/// <param name="Type">The logged command's type: add-host, add-link, change-link, set-sysctl, socket-call, kill, advance.</param>
/// <param name="AtNs">Virtual time the command was applied at.</param>
/// <param name="JournalEvents">Journal events it produced.</param>
/// <param name="Call">For a socket call: what it did.</param>
/// <param name="Advance">For an advance: where it stopped.</param>
public sealed record AppliedCommand(long Seq, string Type, long AtNs, int JournalEvents, CallResponse? Call, AdvanceResponse? Advance);

public sealed record CommandsApplied(IReadOnlyList<AppliedCommand> Results, long NowNs, long Version) : LeftModelAnswer, IVersioned;

/// <summary>A batch of commands applied atomically in order: if one is refused, none is kept.</summary>
public sealed record ApplyCommands(Guid SimulationId, IfMatch? ExpectedVersion, ApplyCommandsRequest Request) : ICommand<Outcome<CommandsApplied>>;

public sealed class ApplyCommandsHandler(LiveSimulations simulations) : ICommandHandler<ApplyCommands, Outcome<CommandsApplied>>
{
    public ValueTask<Outcome<CommandsApplied>> Handle(ApplyCommands command, CancellationToken cancellationToken)
    {
        var id = command.SimulationId;
        var inputs = command.Request.Commands ?? [];
        var errors = new Dictionary<string, string[]>();
        if (inputs.Count == 0) errors["commands"] = ["Send at least one command."];
        if (inputs.Count > ApplyCommandsRequest.MaxCommands)
            errors["commands"] = [$"A batch holds at most {ApplyCommandsRequest.MaxCommands} commands; this one has {inputs.Count}."];
        var reader = new CommandInputReader(errors);
        if (errors.Count == 0)
            for (int i = 0; i < inputs.Count; i++) reader.Check(inputs[i], $"commands[{i}].");
        long budgets = errors.Count > 0 ? 0 : inputs.OfType<AdvanceInput>().Sum(a => a.EventBudget ?? AdvanceRequest.DefaultEventBudget);
        if (errors.Count == 0 && budgets > AdvanceRequest.MaxEventBudget)
            errors["commands"] = [$"The advances of one batch may process at most {AdvanceRequest.MaxEventBudget} events together; "
                + $"their event budgets (an advance without one counts {AdvanceRequest.DefaultEventBudget}) add up to {budgets}."];
        if (errors.Count > 0) return ValueTask.FromResult<Outcome<CommandsApplied>>(new RequestInvalid(errors, id));

        return simulations.WriteAsync<CommandsApplied>(id, command.ExpectedVersion, batch =>
        {
            var results = new List<AppliedCommand>();
            for (int i = 0; i < inputs.Count; i++)
            {
                var prefix = $"commands[{i}].";
                IReadOnlyList<SimCommand> commands;
                if (inputs[i] is CallInput call)
                {
                    if (CommandInputReader.Call(call, batch.Engine) is not { } request)
                        return new ResourceNotFound(id, prefix + "socketId", $"There is no socket {call.SocketId} in the simulation.");
                    commands = [new SocketCallCommand(request)];
                }
                else commands = CommandInputReader.Commands(inputs[i]!);
                foreach (var c in commands)
                {
                    var (at, events) = (batch.Engine.Now.Ns, batch.EventCount);
                    var outcome = batch.Apply(c);
                    // A refusal of the command as a whole ("$": a journal limit, a field-less engine error) names the command.
                    if (!outcome.IsOk) return CommandRefused.From(id, outcome.Error!, field => field == "$" ? prefix[..^1] : prefix + FieldName(c, field));
                    results.Add(new AppliedCommand(batch.Version, CommandTypeMap.DiscriminatorOf(c), at, batch.EventCount - events,
                        c is SocketCallCommand s ? CallResponse.From(outcome.Call!.Value, s.Request, at, batch.Version) : null,
                        c is AdvanceCommand advance && outcome.Advance is { } a
                            ? AdvanceResponse.Logged(batch, advance, a, batch.EventCount - events)
                            : null));
                }
            }
            return new CommandsApplied(results, batch.Engine.Now.Ns, batch.Version);
        }, cancellationToken);
    }

    private static string FieldName(SimCommand command, string field) => command switch
    {
        AdvanceCommand a => AdvanceRequest.FieldName(a.Mode, field),
        SetSysctlCommand s when field != "host" => $"values.{s.Name}",
        SocketCallCommand => IssueSocketCallHandler.FieldName(field),
        AddLinkCommand or ChangeLinkCommand => Links.LinkFields.Name(field),
        _ => field,
    };
}
