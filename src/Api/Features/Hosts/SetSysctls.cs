using System.Text.Json;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Hosts;

/// <param name="Values">The sysctls written, with the value the kernel now holds for each (as /proc/sys prints it).</param>
public sealed record SysctlsChanged(string Host, IReadOnlyDictionary<string, string> Values, long NowNs, long Version) : LeftModelAnswer, IVersioned;

/// <summary>`sysctl -w` at run time: each name → value in order, all or nothing.</summary>
public sealed record SetSysctls(Guid SimulationId, IfMatch? ExpectedVersion, string Host, Dictionary<string, JsonElement> Values)
    : ICommand<Outcome<SysctlsChanged>>;

public sealed class SetSysctlsHandler(LiveSimulations simulations) : ICommandHandler<SetSysctls, Outcome<SysctlsChanged>>
{
    public ValueTask<Outcome<SysctlsChanged>> Handle(SetSysctls command, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var values = SysctlValues.ToText(command.Values, "", errors);
        if (values.Count == 0 && errors.Count == 0) errors["$"] = ["Name at least one sysctl to write, e.g. {\"net.ipv4.tcp_fin_timeout\": 30}."];
        if (errors.Count > 0) return ValueTask.FromResult<Outcome<SysctlsChanged>>(new RequestInvalid(errors, command.SimulationId));
        return simulations.WriteAsync<SysctlsChanged>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            if (HostLookup.Find(batch.Engine, command.SimulationId, command.Host).IsFailure)
                return new ResourceNotFound(command.SimulationId, "host", $"There is no host '{command.Host}' in the simulation.");
            foreach (var (name, value) in values)
            {
                var outcome = batch.Apply(new SetSysctlCommand(command.Host, name, value));
                if (!outcome.IsOk) return CommandRefused.From(command.SimulationId, outcome.Error!, field => field == "host" ? "host" : name);
            }
            var host = batch.Engine.FindHost(command.Host)!;
            return new SysctlsChanged(command.Host, values.Select(v => v.Key).Distinct().ToDictionary(n => n, host.Sysctls.Format),
                batch.Engine.Now.Ns, batch.Version);
        }, cancellationToken);
    }
}
