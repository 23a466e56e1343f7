using Mediator;
using SimService.Api.Features.Hosts;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Outputs;
using SimService.Domain.Time;

namespace SimService.Api.Features.Outputs;

/// <summary>A file made from a simulation: its bytes, media type and a download name.</summary>
public sealed record OutputFile(byte[] Data, string ContentType, string FileName);

/// <summary>A packet capture: of one host (classic pcap) or of the whole simulation (pcapng, lost segments on their own interface).</summary>
public sealed record GetCapture(Guid SimulationId, string? Host, long? FromNs, long? ToNs) : IQuery<Outcome<OutputFile>>;

public sealed class GetCaptureHandler(LiveSimulations simulations) : IQueryHandler<GetCapture, Outcome<OutputFile>>
{
    public async ValueTask<Outcome<OutputFile>> Handle(GetCapture query, CancellationToken cancellationToken)
    {
        if (TimeRange.Validate(query.SimulationId, query.FromNs, query.ToNs) is { } invalid) return invalid;
        var window = TimeRange.Window(query.FromNs, query.ToNs);
        return await simulations.ReadAsync(query.SimulationId, (engine, _) =>
            TimeRange.PastClock(query.SimulationId, query.FromNs, engine.Now) is { } future ? future
            : query.Host is { } name
            ? HostLookup.Find(engine, query.SimulationId, name).Map(host => new OutputFile(
                PacketCapture.ForHost(engine.Journal, host.Name, window), "application/vnd.tcpdump.pcap", $"{host.Name}.pcap"))
            : new OutputFile(PacketCapture.Wire(engine.Journal, window), "application/x-pcapng", "simulation.pcapng"), cancellationToken);
    }
}

/// <summary>The virtual-time range of an output (fromNs and toNs, both included).</summary>
public static class TimeRange
{
    public static RequestInvalid? Validate(Guid simulationId, long? fromNs, long? toNs)
    {
        var errors = new Dictionary<string, string[]>();
        if (fromNs is < 0) errors["fromNs"] = ["fromNs is a virtual time: zero or positive."];
        if (toNs is < 0) errors["toNs"] = ["toNs is a virtual time: zero or positive."];
        if (fromNs is { } from && toNs is { } to && to < from) errors["toNs"] = ["toNs is before fromNs."];
        return errors.Count > 0 ? new RequestInvalid(errors, simulationId) : null;
    }

    /// <summary>
    /// A start past the simulation's clock, a 400 naming fromNs: a future the simulation has not run (the time series, the
    /// diagram and the capture alike; the diagram was a 200 with an empty ladder and the capture one of 24 bytes).
    /// </summary>
    public static RequestInvalid? PastClock(Guid simulationId, long? fromNs, SimTime now) =>
        fromNs is { } f && f > now.Ns
            ? new RequestInvalid("fromNs", $"fromNs {new SimTime(f)} is after the simulation's current time {now} ({now.Ns} ns); advance the clock first.", simulationId)
            : null;

    public static TimeWindow Window(long? fromNs, long? toNs) =>
        new(fromNs is { } f ? new SimTime(f) : null, toNs is { } t ? new SimTime(t) : null);
}
