using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json.Serialization;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Time;
using SimService.Domain.Workloads;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Workloads;

/// <summary>
/// A connection workload, run to its end (or its event budget) in this one request and logged as one
/// command: clients (existing hosts, or <c>generatedClients</c> made for it) open connections to
/// <c>server:port</c> at <c>rate</c> per virtual second, send <c>requestBytes</c>, the server thinks for
/// <c>thinkTimeNs</c> and answers <c>responseBytes</c>, and <c>closeFirst</c> closes in <c>closeStyle</c>.
/// At level <c>counters</c> (the default) nothing is journaled: a million connections persist as one row.
/// </summary>
public sealed record WorkloadRequest
{
    /// <example>["client"]</example>
    public IReadOnlyList<string>? Clients { get; init; }
    /// <summary>Hosts made for the workload as its clients (1 to 200,000, as a scenario's; leave it out with <c>clients</c>; a 0 was taken until session 35).</summary>
    [Range(1, WorkloadSpec.MaxGeneratedClients)] public int? GeneratedClients { get; init; }
    [Int64Range(0, long.MaxValue), JsonConverter(typeof(DurationNsConverter))] public long? ClientLinkDelayNs { get; init; }
    /// <example>server</example>
    [Required] public string? Server { get; init; }
    /// <example>80</example>
    [Range(1, 65535)] public int? Port { get; init; }
    /// <summary>New connections per virtual second.</summary>
    /// <example>1000</example>
    [Range(1e-6, 1e9, ErrorMessage = "The field {0} must be between 0.000001 and 1000000000.")] public double? Rate { get; init; }
    /// <summary>How many connections, 1 to 100,000,000, as the scenario format's <c>count</c> (or <c>durationNs</c>; a count of 0 is not "none").</summary>
    /// <example>10000</example>
    [Int64Range(1, WorkloadSpec.MaxCount)] public long? Count { get; init; }
    /// <summary>For how long connections start (durationNs × rate of them), instead of a count: 1 ns or more (a duration of 0 is not "none").</summary>
    [Int64Range(1, long.MaxValue), JsonConverter(typeof(DurationNsConverter))] public long? DurationNs { get; init; }
    [Int64Range(0, long.MaxValue)] public long? RequestBytes { get; init; }
    [Int64Range(0, long.MaxValue)] public long? ResponseBytes { get; init; }
    [Int64Range(0, long.MaxValue), JsonConverter(typeof(DurationNsConverter))] public long? ThinkTimeNs { get; init; }
    /// <summary>Client, Server or Both (both ends close at one instant once the client has read the response: the FINs cross, TIME-WAIT on both); any case, and as the scenario format spells it (client, server, both).</summary>
    public CloseFirst? CloseFirst { get; init; }
    /// <summary>Close, ShutdownThenClose, LingerZero, Linger or Kill; any case, and as the scenario format spells it (close, shutdown-then-close, linger-zero, linger, kill).</summary>
    public CloseStyle? CloseStyle { get; init; }
    [Range(0, 3600)] public int? LingerSeconds { get; init; }
    public bool? ReuseAddr { get; init; }
    public int? Linger2 { get; init; }
    public bool? KeepAlive { get; init; }
    [Range(0, int.MaxValue)] public int? UserTimeoutMs { get; init; }
    /// <summary>listen()'s backlog: any int, as __sys_listen_socket() takes it (one above net.core.somaxconn, or a negative one, is somaxconn).</summary>
    public int? Backlog { get; init; }
    /// <summary>
    /// The time series' sampling interval (default 1 s, doubled until the arrivals fit in 10,000 samples per host: 2 s for
    /// arrivals 10,000 s long); one given that needs more is a 400.
    /// </summary>
    [Int64Range(1_000_000, long.MaxValue), JsonConverter(typeof(DurationNsConverter))] public long? ResolutionNs { get; init; }
    [Int64Range(1, long.MaxValue), JsonConverter(typeof(DurationNsConverter))] public long? DrainLimitNs { get; init; }
    /// <summary>Full, States or Counters (the default); any case (full, states, counters as the scenario format spells them).</summary>
    public JournalLevel? Level { get; init; }
    /// <summary>The most queue items to process (default 100,000,000; at most 1,000,000,000).</summary>
    [Range(1, MaxEventBudget)] public long? EventBudget { get; init; }

    /// <summary>A field of <see cref="WorkloadSpec"/> as this request spells it: its durations are …Ns fields here.</summary>
    public static string FieldName(string specField) =>
        specField is "clientLinkDelay" or "duration" or "thinkTime" or "resolution" or "drainLimit" ? specField + "Ns" : specField;

    public const long DefaultEventBudget = 100_000_000;
    public const long MaxEventBudget = 1_000_000_000;

    public WorkloadCommand ToCommand()
    {
        var defaults = new WorkloadSpec();
        return new WorkloadCommand(new WorkloadSpec
        {
            Clients = Clients ?? [],
            GeneratedClients = GeneratedClients ?? 0,
            ClientLinkDelay = ClientLinkDelayNs is { } d ? new SimDuration(d) : defaults.ClientLinkDelay,
            Server = Server ?? "",
            Port = (ushort)(Port ?? defaults.Port),
            Rate = Rate ?? defaults.Rate,
            Count = Count ?? 0,
            Duration = new SimDuration(DurationNs ?? 0),
            RequestBytes = RequestBytes ?? defaults.RequestBytes,
            ResponseBytes = ResponseBytes ?? defaults.ResponseBytes,
            ThinkTime = new SimDuration(ThinkTimeNs ?? 0),
            CloseFirst = CloseFirst ?? defaults.CloseFirst,
            CloseStyle = CloseStyle ?? defaults.CloseStyle,
            LingerSeconds = LingerSeconds ?? 0,
            ReuseAddr = ReuseAddr ?? false,
            Linger2 = Linger2,
            KeepAlive = KeepAlive ?? false,
            UserTimeoutMs = UserTimeoutMs ?? 0,
            Backlog = Backlog ?? defaults.Backlog,
            Resolution = ResolutionNs is { } r ? new SimDuration(r) : defaults.Resolution,
            DrainLimit = DrainLimitNs is { } dl ? new SimDuration(dl) : defaults.DrainLimit,
            Level = Level ?? defaults.Level,
        }, RunToEnd: true, EventBudget ?? DefaultEventBudget);
    }
}

/// <param name="Result">What the workload did (completed — every connection finished —, truncated, or ended by its drain limit with
/// connections open: completed false, stoppedBy "drainLimit"; connect results, series, counters, log lines).</param>
/// <param name="WallMs">Wall-clock milliseconds the engine took (not part of the simulation: it differs between runs).</param>
/// <param name="JournalEvents">Journal events the workload added (0 at level counters).</param>
public sealed record WorkloadResponse(WorkloadResult Result, long WallMs, int JournalEvents, long NowNs, long Version) : LeftModelAnswer, IVersioned;

public sealed record RunWorkload(Guid SimulationId, IfMatch? ExpectedVersion, WorkloadRequest Request) : ICommand<Outcome<WorkloadResponse>>;

public sealed class RunWorkloadHandler(LiveSimulations simulations, Infrastructure.Tenancy.TenantQuotas quotas) : ICommandHandler<RunWorkload, Outcome<WorkloadResponse>>
{
    public ValueTask<Outcome<WorkloadResponse>> Handle(RunWorkload command, CancellationToken cancellationToken)
    {
        var workload = command.Request.ToCommand();
        if (command.Request.ResolutionNs is null) workload = workload with { Spec = workload.Spec.WithDefaultResolution() };
        if (workload.Spec.RequestRefusal("durationNs", command.Request.LingerSeconds is not null) is { } refused)
            return ValueTask.FromResult<Outcome<WorkloadResponse>>(new RequestInvalid(refused.Field!, refused.Message, command.SimulationId));
        // The series' bound is the domain's (WorkloadSpec.MaxSamples); refused here, before the simulation is touched.
        if (workload.Spec.SeriesTooFine() is { } tooFine)
            return ValueTask.FromResult<Outcome<WorkloadResponse>>(new RequestInvalid("resolutionNs", tooFine, command.SimulationId));
        // So is a size whose segments alone need more events than the request's budget (EventBudgetBound): it ran to the budget
        // or to the 300 s wall-time limit.
        if (workload.Spec.BeyondEventBudget(workload.EventBudget) is { } beyond)
            return ValueTask.FromResult<Outcome<WorkloadResponse>>(BeyondEventBudget(command, workload.Spec, beyond));
        return simulations.WriteAsync<WorkloadResponse>(command.SimulationId, command.ExpectedVersion, batch =>
        {
            // Each generated client is a host: more than the simulation may have is refused before one is made (100,000 of
            // them ran past the request's time limit making hosts, only to be refused by the host quota afterwards).
            if (quotas.CheckHostsToAdd(command.SimulationId, batch.Engine.Hosts.Count, workload.Spec.GeneratedClients, "generatedClients") is { } quota) return quota;
            var clock = Stopwatch.StartNew();
            // The sockets quota stops the run once it is passed (its connections held open, a workload piled them up for minutes).
            return quotas.BoundSockets<WorkloadResponse>(command.SimulationId, batch.Engine, "count", () =>
            {
                var outcome = batch.Apply(workload);
                if (!outcome.IsOk) return CommandRefused.From(command.SimulationId, outcome.Error!, WorkloadRequest.FieldName);
                return new WorkloadResponse(outcome.Workload!, clock.ElapsedMilliseconds, batch.EventCount, batch.Engine.Now.Ns, batch.Version);
            });
        }, cancellationToken, heavy: true);
    }

    /// <summary>
    /// The fields the request sent that set the refused bound: the larger size, with the most it may be, if the request gave
    /// it; its eventBudget, with the least that delivers the sizes, if it gave one (up to <see cref="WorkloadRequest.MaxEventBudget"/>).
    /// </summary>
    private static RequestInvalid BeyondEventBudget(RunWorkload command, WorkloadSpec spec, Domain.Engine.DomainError bySize)
    {
        var request = command.Request;
        var errors = new Dictionary<string, string[]>();
        if ((bySize.Field == "requestBytes" ? request.RequestBytes : request.ResponseBytes) is not null) errors[bySize.Field!] = [bySize.Message];
        if (request.EventBudget is { } budget && spec.LeastEventBudget <= WorkloadRequest.MaxEventBudget
            && spec.EventBudgetTooSmall(budget, "eventBudget") is { } byBudget)
            errors["eventBudget"] = [byBudget.Message];
        if (errors.Count == 0) errors[bySize.Field!] = [bySize.Message];
        return new RequestInvalid(errors, command.SimulationId);
    }
}

public sealed record GetWorkload(Guid SimulationId, int WorkloadId) : IQuery<Outcome<WorkloadResult>>;

public sealed class GetWorkloadHandler(LiveSimulations simulations) : IQueryHandler<GetWorkload, Outcome<WorkloadResult>>
{
    public ValueTask<Outcome<WorkloadResult>> Handle(GetWorkload query, CancellationToken cancellationToken) =>
        simulations.ReadAsync<WorkloadResult>(query.SimulationId, (engine, _) =>
            engine.FindWorkload(query.WorkloadId) is { } w
                ? w.Result()
                : new ResourceNotFound(query.SimulationId, "workloadId", $"There is no workload {query.WorkloadId} in the simulation."),
            cancellationToken);
}
