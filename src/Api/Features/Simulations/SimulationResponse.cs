using SimService.Api.Infrastructure;
using SimService.Persistence.Entities;

namespace SimService.Api.Features.Simulations;

/// <param name="Profile">Kernel profile: "linux-6" or "linux-4.4".</param>
/// <param name="CreatedAt">Wall-clock creation time (UTC); the simulation's own clock is virtual.</param>
/// <param name="Version">The number of commands in the simulation's log; also its ETag, for If-Match.</param>
/// <param name="FromScenario">The simulation was made by running a scenario (POST /api/v1/scenarios/run).</param>
/// <param name="EngineRules">The version of the rules by which its commands meet the engine, fixed when it was made, so its log
/// rebuilds as it was recorded: 4 (every simulation made since session 38) as 3, and a workload on an adopted listener ends its
/// accept() when it ends (EINTR; under 3 it took the owner's next connection); 3 (simulations made in sessions 32 to 37) as 2, and a blocking accept holds the descriptor it
/// took before its sleep in every process (a socket() meanwhile skips that number, dup2() onto it is EBUSY); 2 (simulations made
/// in sessions 27 to 31: the accept holds it only in a process that set an RLIMIT_NOFILE limit) runs the events a socket call, kill or inject leaves
/// due at its own instant before it answers, as the kernel's softirq does inside the system call (a loopback send is received at
/// once, a blocking loopback connect returns 0), and a call woken from a softirq after it; 1 (simulations made in session 25
/// and 26) the same, but a woken send, connect, accept or poll runs inside the softirq that woke it; 0 (simulations stored
/// before) leaves those events to the next advance and runs every woken call inside the softirq.</param>
/// <param name="Links">Where to look at it: "view" (an HTML page: ladder diagram, sockets at any virtual time, charts, journal),
/// "diagram", "timeseries", "pcap".</param>
public sealed record SimulationResponse(Guid Id, string Name, string Profile, long Seed, DateTimeOffset CreatedAt, long Version, bool FromScenario,
    int EngineRules, SimulationLinks Links)
    : IVersioned
{
    public static SimulationResponse From(SimulationRun run) =>
        new(run.Id, run.Name, run.Profile, run.Seed, run.CreatedAt, run.Version, run.ScenarioJson is not null, run.EngineRules, LinksOf(run.Id));

    public static SimulationLinks LinksOf(Guid id) => new(
        $"/api/v1/simulations/{id}/view", $"/api/v1/simulations/{id}/diagram.svg",
        $"/api/v1/simulations/{id}/timeseries.svg", $"/api/v1/simulations/{id}/pcap");
}

/// <summary>Where to look at a simulation (a record, so that responses compare by value).</summary>
public sealed record SimulationLinks(string View, string Diagram, string Timeseries, string Pcap);
