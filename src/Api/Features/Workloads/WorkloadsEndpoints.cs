using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;
using SimService.Domain.Workloads;

namespace SimService.Api.Features.Workloads;

public static class WorkloadsEndpoints
{
    public static IEndpointRouteBuilder MapWorkloads(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/simulations/{id:guid}/workloads").WithTags("Workloads");
        group.MapPost("", RunWorkload).WithName(nameof(RunWorkload)).AsCommand().ProducesValidationProblem().WithWorkField("eventBudget", "Use fewer connections (count, rate, durationNs) or a smaller event budget.")
            .WithSummary("Run a connection workload to its end in one request (logged as one command; level counters journals nothing); ?series=false leaves out the per-host series")
            .WithDescription("`closeFirst`, `closeStyle` and `level` take their enum names in any case (`ShutdownThenClose`, `counters`) or as the " +
                "scenario format spells them (`shutdown-then-close`, `linger-zero`). Give `count` or `durationNs`, not both (a 400 naming `durationNs`). " +
                "Past its wall-time limit the 422 names the field that sized the work as the request sent it: `eventBudget`, else `count` or `durationNs`. " +
                "`completed` is true once every connection finished; a workload its drain limit ended with connections open says `completed: false`, " +
                "`stoppedBy: \"drainLimit\"` and `unfinished` (the client and server sides still open at its end). Without `resolutionNs` the series' " +
                "resolution is 1 s, doubled until the arrivals fit in 10,000 samples per host; a `resolutionNs` given that needs more is a 400.")
            .WithExamples("""{"clients":["client"],"server":"server","port":80,"rate":1000,"count":10000,"requestBytes":1024,"responseBytes":1024,"closeFirst":"Client","closeStyle":"Close","level":"Counters"}""")
            .WithRequestTimeout(Infrastructure.Hardening.HardeningSetup.WorkloadPolicy);
        group.MapGet("/{workloadId:int}", GetWorkload).WithName(nameof(GetWorkload)).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A workload's outcome: once it ended, as it stood at its end — what the POST that ran it to its end answered, whatever the simulation did since, after a restart too — and so far while it runs; ?series=false leaves out the per-host series")
            .WithExamples(response: """{"id":1,"completed":true,"truncated":false,"connections":2,"started":2,"finished":2,"unfinished":0,"startedAtNs":0,"endedAtNs":10008000,"events":61,"connectResults":{"0":2},"series":[{"host":"client","samples":[{"atNs":0,"established":0,"timeWait":0,"finWait2":0,"closeWait":0,"orphans":0,"memPages":0,"inUse":0,"tw":0,"alloc":0}]}],"hosts":[{"host":"client","counters":{"Tcp.ActiveOpens":2},"kernelLog":[]}]}""");
        return app;
    }

    // A work limit names the field that sized the work as the request sent it: eventBudget, else count or durationNs (it
    // named eventBudget, a field the request never sent), else none ($).
    // ?series=false leaves the per-host series out of the answer (the run and what it stores are the same): at 1 ms resolution
    // with 62 generated clients it is 63 hosts × 9,907 samples, 80 MB of the answer's 80 MB.
    private static async Task<Results<Ok<WorkloadResponse>, ProblemHttpResult>> RunWorkload(
        Guid id, WorkloadRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken, bool series = true)
    {
        if (request.EventBudget is null)
            WorkFieldExtensions.NameWorkField(http.HttpContext, request.Count is not null ? "count" : request.DurationNs is not null ? "durationNs" : "$");
        return (await sender.Send(new RunWorkload(id, Versioning.ExpectedVersion(http), request), cancellationToken))
            .Map(response => series ? response : response with { Result = WithoutSeries(response.Result) }).ToOk(http.HttpContext.Response);
    }

    private static async Task<Results<Ok<WorkloadResult>, ProblemHttpResult>> GetWorkload(Guid id, int workloadId, ISender sender,
        CancellationToken cancellationToken, bool series = true) =>
        (await sender.Send(new GetWorkload(id, workloadId), cancellationToken)).Map(result => series ? result : WithoutSeries(result)).ToOk();

    private static WorkloadResult WithoutSeries(WorkloadResult result) => result with { Series = [] };
}
