using System.Globalization;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Engine;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>Where a request stands, as its wall-time limit sees it: what it was waiting for, or that its work was running.</summary>
public enum WorkPhase
{
    /// <summary>Reading the database, answering: counted as running.</summary>
    Running,
    /// <summary>Waiting for the simulation's earlier requests (one runs at a time per simulation in a process).</summary>
    WaitingForSimulation,
    /// <summary>Waiting for the simulation's engine to be rebuilt from its log (after a restart or an eviction).</summary>
    Rebuilding,
    /// <summary>Waiting for the request's body to arrive from the client (<see cref="BodyReads"/>).</summary>
    ReceivingBody,
    /// <summary>Waiting for one of the tenant's heavy slots (<c>Engines:HeavyParallelism</c>).</summary>
    WaitingForHeavySlot,
}

/// <summary>One wall-time limit: its setting, its value, and the advice for work that outlasts it.</summary>
/// <param name="Setting">The configuration key (<c>Limits:RequestSeconds</c>, …).</param>
/// <param name="Reads">The endpoints under it change nothing, whatever their method (look-backs, replays).</param>
/// <param name="CommandAdvice">What helps a command that ran too long.</param>
/// <param name="ReadAdvice">What helps a read that ran too long.</param>
public sealed record WallTimeLimit(string Setting, int Seconds, bool Reads, string CommandAdvice, string ReadAdvice);

/// <summary>
/// What a request was doing when its wall-time limit ran out, so that the problem says what ran out and advises what
/// fits: the request's engine work running too long is a 422 (less work per request helps); waiting for the simulation,
/// for its rebuild after a restart, or for a heavy slot is a 503 with <c>Retry-After</c> (nothing ran; the same request
/// later succeeds). The handlers' engine calls mark the phases (<see cref="Tracked{T}"/>, <see cref="Enter"/>).
/// </summary>
public sealed class RequestWork
{
    /// <summary>The <c>Retry-After</c> of a request that timed out waiting (seconds).</summary>
    public const int RetryAfterSeconds = 5;

    private static readonly AsyncLocal<RequestWork?> CurrentRequest = new();
    private int _phase;
    private int _engineWorkStarted;
    private int _heavyAhead;

    /// <summary>The request's engine work has begun on an engine thread (until then its time went to the service: startup, the database, the queue of threads).</summary>
    public bool EngineWorkStarted => Volatile.Read(ref _engineWorkStarted) != 0;

    /// <summary>Heavy work of the tenant that held or waited for the slots when this request queued for one.</summary>
    public int HeavyAhead => Volatile.Read(ref _heavyAhead);

    /// <summary>The current request queues for a heavy slot behind <paramref name="ahead"/> pieces of heavy work (<see cref="HeavySlots"/>).</summary>
    public static void QueuedForHeavySlot(int ahead)
    {
        if (Current is not { } request) return;
        Volatile.Write(ref request._heavyAhead, ahead);
        // A rebuild the request waits for queues in the request's context too: the request still waits for the rebuild (a 503).
        if (request.Phase != WorkPhase.Rebuilding) request.Move(WorkPhase.WaitingForHeavySlot);
    }

    /// <summary>The request this code runs for, if any (null in background work and tests that call handlers directly).</summary>
    public static RequestWork? Current => CurrentRequest.Value;

    public WorkPhase Phase => (WorkPhase)Volatile.Read(ref _phase);

    public RequestWork() : this(System.Diagnostics.Stopwatch.GetTimestamp) { }

    /// <param name="clock">Stopwatch ticks now (tests give their own).</param>
    public RequestWork(Func<long> clock)
    {
        _clock = clock;
        _phaseSince = clock();
    }

    private readonly Func<long> _clock;
    /// <summary>Ticks spent in each phase before the current one's, and when the current one began.</summary>
    private readonly long[] _ticksIn = new long[Enum.GetValues<WorkPhase>().Length];
    private long _phaseSince;

    /// <summary>The request moves to <paramref name="phase"/>: the time since the last move counts for the phase it leaves.</summary>
    public void Move(WorkPhase phase)
    {
        lock (_ticksIn)
        {
            long now = _clock();
            _ticksIn[(int)Phase] += now - _phaseSince;
            _phaseSince = now;
            Volatile.Write(ref _phase, (int)phase);
        }
    }

    /// <summary>
    /// What the request's time went to when its limit ran out: the current phase, but a wait when the request is running now
    /// and waited longer than it ran — a GET /clock that waited 9.9 s for the simulation's earlier requests and ran out of
    /// time 0.1 s after it got in did not run too long (it was a 422 "ask for less at a time").
    /// </summary>
    public WorkPhase Blamed()
    {
        lock (_ticksIn)
        {
            var phase = Phase;
            if (phase != WorkPhase.Running) return phase;
            long running = _ticksIn[(int)WorkPhase.Running] + _clock() - _phaseSince;
            var longest = WorkPhase.Running;
            for (int i = 0; i < _ticksIn.Length; i++)
                if (i != (int)WorkPhase.Running && _ticksIn[i] > running && (longest == WorkPhase.Running || _ticksIn[i] > _ticksIn[(int)longest]))
                    longest = (WorkPhase)i;
            return longest;
        }
    }

    /// <summary>Marks the current request's phase (nothing outside a request).</summary>
    public static void Enter(WorkPhase phase)
    {
        Current?.Move(phase);
    }

    /// <summary>
    /// <paramref name="work"/> for <see cref="EngineThreads.RunAsync{T}(Func{EngineTurn?, T}, bool, CancellationToken, string?)"/>: the
    /// request waits for a heavy slot only while <see cref="HeavySlots"/> has queued it (<see cref="QueuedForHeavySlot"/>; a free
    /// slot is no wait), and its engine work runs from the moment the work starts. <paramref name="heavy"/> is kept for the callers' sake.
    /// </summary>
    public static Func<EngineTurn?, T> Tracked<T>(bool heavy, Func<EngineTurn?, T> work)
    {
        _ = heavy;
        if (Current is not { } request) return work;
        request.Move(WorkPhase.Running);
        return turn =>
        {
            request.Move(WorkPhase.Running);
            Volatile.Write(ref request._engineWorkStarted, 1);
            return work(turn);
        };
    }

    /// <summary>Gives every request its <see cref="RequestWork"/> (middleware inside the request timeouts, which read it).</summary>
    public static async Task Track(HttpContext context, RequestDelegate next)
    {
        var work = new RequestWork();
        context.Features.Set(work);
        CurrentRequest.Value = work;
        // The limit bounds the request's work, not the transfer of its answer: once the status line goes out the work is done
        // (every endpoint builds its whole answer before writing it), and a limit running out mid-body cut a 200 short — an
        // 80 MB workload result read at 4 MB/s, or five at once, ended at 10 s as invalid JSON (tester36 MEDIUM-5). A client
        // that stops reading is Kestrel's to drop (Limits.MinResponseDataRate).
        context.Response.OnStarting(static state =>
        {
            ((HttpContext)state).Features.Get<Microsoft.AspNetCore.Http.Timeouts.IHttpRequestTimeoutFeature>()?.DisableTimeout();
            return Task.CompletedTask;
        }, context); // a static callback: no closure allocated per request
        try
        {
            await next(context);
        }
        finally
        {
            work.Ended();
        }
    }

    private Action? _atEnd;
    private bool _ended;

    /// <summary>
    /// Runs <paramref name="action"/> once the current request has ended (its handler and its response written, so that
    /// nothing of its frames refers to what it used); at once outside a request, or when the request has ended already.
    /// </summary>
    public static void AtEnd(Action action)
    {
        if (Current is { } request)
            lock (request)
                if (!request._ended)
                {
                    request._atEnd += action;
                    return;
                }
        action();
    }

    private void Ended()
    {
        Action? atEnd;
        lock (this) (atEnd, _atEnd, _ended) = (_atEnd, null, true);
        atEnd?.Invoke();
    }

    /// <summary>408: the request's body did not arrive within the limit; the rate it needs, by its Content-Length if it gave one.</summary>
    private static Task SlowBody(HttpContext context, string within, string unapplied, Guid? simulationId, int seconds)
    {
        var length = context.Request.ContentLength;
        var detail = $"The request's body had not all arrived when {within} ran out; {unapplied}. The limit counts the time the body " +
            "takes to arrive: " + (length is { } bytes
                ? string.Create(CultureInfo.InvariantCulture, $"its {bytes:N0} bytes need at least {Math.Ceiling((double)bytes / seconds):N0} bytes a second, so ")
                : "") +
            "send it faster or send less (a smaller body, or the work in several requests); the same upload sent again at the same rate runs out the same way.";
        return TypedResults.Problem(statusCode: StatusCodes.Status408RequestTimeout, type: ProblemTypes.RejectedRequest,
            title: "The request body did not arrive in time.", detail: detail,
            extensions: new Dictionary<string, object?>
            {
                ["simulationId"] = simulationId,
                [ProblemFields.Member] = ProblemFields.Errors("$", detail),
            }).ExecuteAsync(context);
    }

    /// <summary>The problem of a request that outlasted <paramref name="limit"/>, by what it was doing then.</summary>
    public static Task WriteTimeout(HttpContext context, WallTimeLimit limit)
    {
        var phase = context.Features.Get<RequestWork>()?.Blamed() ?? WorkPhase.Running;
        var simulationId = context.GetRouteValue("id") is string id && Guid.TryParse(id, out var parsed) ? parsed : (Guid?)null;
        var read = limit.Reads || HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        var what = read ? "read" : "command";
        var within = $"the {limit.Seconds} s limit on one request's wall time ({limit.Setting})";
        var unapplied = read ? "it changed nothing" : "nothing was applied";
        var work = context.Features.Get<RequestWork>();
        var declared = WorkFieldExtensions.Of(context);
        // Its own work ran too long: a read (less at a time helps), or engine work an endpoint sizes by a field (its advice helps).
        if (phase is WorkPhase.Running && (read && declared is null || declared is not null && work?.EngineWorkStarted == true))
        {
            Observability.ServiceMetrics.WorkLimitHits.Add(1);
            return ErrorMapping.WorkLimit(null, $"The {what} ran longer than {within}; {unapplied}. " + (read && declared is null ? limit.ReadAdvice
                : declared?.Advice ?? limit.CommandAdvice), simulationId).ExecuteAsync(context);
        }
        // The client was still sending its body (or sending it took most of the time): a 408 naming the body. It was a 503
        // blaming the service ("… or the machine is loaded. Retry after 5 s"), advice a client that uploads this slowly can never
        // follow (tester36 LOW-5: 3.9 MB at 325 KB/s, and `simservice run --server` re-sent it six times).
        if (phase is WorkPhase.ReceivingBody)
            return SlowBody(context, within, unapplied, simulationId, limit.Seconds);
        var (title, waited) = phase switch
        {
            WorkPhase.Rebuilding => ("The simulation is being rebuilt from its log.",
                $"The {what} waited {within} for simulation {simulationId} to be rebuilt from its stored log (after a restart or an eviction) " +
                "and did not start; " + unapplied + ". The rebuild goes on without it: retry after Retry-After seconds, or until the rebuild has ended."),
            WorkPhase.WaitingForHeavySlot => ("The tenant's heavy slots stayed taken.",
                $"The {what} waited {within} for one of the tenant's " +
                $"{context.RequestServices.GetRequiredService<EngineThreads>().HeavyParallelism} heavy slots (Engines:HeavyParallelism) " +
                $"and did not start; {unapplied}. When it queued, {work?.HeavyAhead ?? 0} other heavy requests of the tenant (replays, " +
                "look-backs, scenario and packetdrill runs, workloads, rebuilds of long logs) held the slots or waited for them: " +
                "retry after Retry-After seconds, or when that work has finished."),
            WorkPhase.Running => ("The service was slow to do the request's work.",
                $"The {what} did not finish within {within}, and its own work is not what took the time: " +
                (declared is not null ? "its engine work had not started" : "this request's work is small and does not grow with its input") +
                $"; {unapplied}. The service was slow — the first requests after a start compile code and open the database, " +
                "or the machine is loaded. Retry after Retry-After seconds."),
            _ => ("The simulation stayed busy.",
                $"The {what} waited {within} for the simulation's earlier requests (one runs at a time per simulation) and did not start; " +
                $"{unapplied}. Retry after Retry-After seconds."),
        };
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        // Waiting behind the simulation's or the tenant's own earlier work is the caller's load: 429 (the fuzz test's rule is
        // no 5xx for anything a client sends); a rebuild after a restart or an eviction, or the service's own slowness, is the service's: 503.
        var status = phase is WorkPhase.Rebuilding or WorkPhase.Running ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status429TooManyRequests;
        return TypedResults.Problem(statusCode: status, type: ProblemTypes.Busy, title: title, detail: waited,
            extensions: new Dictionary<string, object?>
            {
                ["simulationId"] = simulationId,
                ["retryAfterSeconds"] = RetryAfterSeconds,
                [ProblemFields.Member] = ProblemFields.Errors("$", waited),
            }).ExecuteAsync(context);
    }
}
