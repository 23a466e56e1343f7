using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Network;

namespace SimService.Api.Features.Hosts;

public sealed record AddHostRequest
{
    /// <summary>The host's name, unique in the simulation: a lower-case letter, then letters, digits and '-'.</summary>
    /// <example>client</example>
    [Required, StringLength(63, MinimumLength = 1), RegularExpression("^[a-z][a-z0-9-]*$", ErrorMessage = "A host name is a lower-case letter followed by lower-case letters, digits and '-'.")]
    public string? Name { get; init; }

    /// <summary>IPv4 address, unique in the simulation.</summary>
    /// <example>10.0.0.1</example>
    [Required]
    public string? Address { get; init; }

    /// <summary>Further IPv4 addresses of the host's own (like <c>ip addr add</c>), each unique in the simulation; every host also has 127.0.0.1 on lo.</summary>
    /// <example>["10.0.0.11"]</example>
    public string[]? Addresses { get; init; }

    /// <summary>"linux" (default): a simulated kernel; "scripted": no kernel, it only sends injected segments.</summary>
    [OneOf("linux", "scripted", null)]
    public string? Kind { get; init; }

    /// <summary>Sysctls written in order at creation (real names, kernel validation); integers or text.</summary>
    public Dictionary<string, JsonElement>? Sysctls { get; init; }
}

public sealed record AddHost(Guid SimulationId, IfMatch? ExpectedVersion, AddHostRequest Request) : ICommand<Outcome<HostResponse>>;

public sealed class AddHostHandler(LiveSimulations simulations) : ICommandHandler<AddHost, Outcome<HostResponse>>
{
    public ValueTask<Outcome<HostResponse>> Handle(AddHost command, CancellationToken cancellationToken)
    {
        var request = command.Request;
        var errors = new Dictionary<string, string[]>();
        var sysctls = SysctlValues.ToText(request.Sysctls, "sysctls.", errors);
        if (errors.Count > 0) return ValueTask.FromResult<Outcome<HostResponse>>(new RequestInvalid(errors, command.SimulationId));
        var add = new AddHostCommand(request.Name!, request.Address!, request.Kind == "scripted" ? HostKind.Scripted : HostKind.Linux, sysctls,
            Addresses: request.Addresses is { Length: > 0 } more ? more : null);
        return simulations.WriteAsync<HostResponse>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            var outcome = batch.Apply(add);
            if (!outcome.IsOk) return CommandRefused.From(command.SimulationId, outcome.Error!);
            return HostResponse.From(batch.Engine.FindHost(add.Name)!, batch.Version);
        }, cancellationToken);
    }
}
