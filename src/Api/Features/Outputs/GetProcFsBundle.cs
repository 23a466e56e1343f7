using Mediator;
using SimService.Api.Features.Hosts;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Observability;

namespace SimService.Api.Features.Outputs;

/// <summary>A host's /proc/net files at the simulation's current time, as a tar.</summary>
public sealed record GetProcFsBundle(Guid SimulationId, string Host) : IQuery<Outcome<OutputFile>>;

public sealed class GetProcFsBundleHandler(LiveSimulations simulations) : IQueryHandler<GetProcFsBundle, Outcome<OutputFile>>
{
    public ValueTask<Outcome<OutputFile>> Handle(GetProcFsBundle query, CancellationToken cancellationToken) =>
        simulations.ReadAsync(query.SimulationId, (engine, _) => HostLookup.Find(engine, query.SimulationId, query.Host)
            .Map(host => new OutputFile(ProcFs.Tar(host), "application/x-tar", $"{host.Name}-procfs.tar")), cancellationToken);
}
