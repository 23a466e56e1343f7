using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Time;

namespace SimService.Domain.Workloads;

/// <summary>Which side closes once the response is through.</summary>
public enum CloseFirst
{
    Client,
    Server,
    /// <summary>Both at once: once the server has sent the response and the client has read it, both close at that instant (the FINs cross).</summary>
    Both,
}

/// <summary>How the side that closes first closes (the other side always plain close()s on EOF).</summary>
public enum CloseStyle
{
    Close,
    /// <summary>shutdown(SHUT_WR), read until EOF, then close().</summary>
    ShutdownThenClose,
    /// <summary>SO_LINGER {1,0} then close(): an abortive RST.</summary>
    LingerZero,
    /// <summary>SO_LINGER {1,N} then close(): blocks up to N s while the FIN is unacknowledged.</summary>
    Linger,
    /// <summary>The client process holding the connection is killed (each client connection has its own process).</summary>
    Kill,
}

/// <summary>
/// A connection workload: clients open connections to one server port at a fixed rate, send a
/// request, the server thinks and answers, one side closes first in a given style. Everything is
/// driven by ordinary socket calls in virtual time, so it is as deterministic as any command.
/// </summary>
public sealed record WorkloadSpec
{
    /// <summary>Existing client hosts, used round robin; or leave empty and give <see cref="GeneratedClients"/>.</summary>
    public IReadOnlyList<string> Clients { get; init; } = [];
    /// <summary>How many client hosts to create (named wN-cK, addresses in 100.64.0.0/10), each linked to the server.</summary>
    public int GeneratedClients { get; init; }

    /// <summary>The most <see cref="GeneratedClients"/> one workload makes; at least 1 when given (0 is "none", the API's absent field).</summary>
    public const int MaxGeneratedClients = 200_000;
    /// <summary>One-way delay of the links of generated clients.</summary>
    public SimDuration ClientLinkDelay { get; init; } = SimDuration.FromMilliseconds(1);
    public string Server { get; init; } = "";
    public ushort Port { get; init; } = 80;
    /// <summary>New connections per virtual second: connection i starts at i / rate after the workload starts.</summary>
    public double Rate { get; init; } = 100;
    /// <summary>How many connections; 0 means as many as <see cref="Duration"/> × rate.</summary>
    public long Count { get; init; }
    public SimDuration Duration { get; init; }
    public long RequestBytes { get; init; } = 1024;
    public long ResponseBytes { get; init; } = 1024;
    /// <summary>Between the server reading the request and sending the response.</summary>
    public SimDuration ThinkTime { get; init; }
    public CloseFirst CloseFirst { get; init; }
    public CloseStyle CloseStyle { get; init; }
    /// <summary>N of SO_LINGER {1,N} (<see cref="CloseStyle.Linger"/>).</summary>
    public int LingerSeconds { get; init; }
    /// <summary>SO_REUSEADDR on every socket (client sockets before connect, the listener before bind).</summary>
    public bool ReuseAddr { get; init; }
    /// <summary>TCP_LINGER2 in seconds on every socket (null: not set).</summary>
    public int? Linger2 { get; init; }
    /// <summary>SO_KEEPALIVE on every socket.</summary>
    public bool KeepAlive { get; init; }
    /// <summary>TCP_USER_TIMEOUT in ms on every socket (0: not set).</summary>
    public int UserTimeoutMs { get; init; }
    /// <summary>
    /// listen()'s backlog for the workload's listener: any int, as __sys_listen_socket() takes it (one above
    /// net.core.somaxconn, or a negative one, is somaxconn; 0 queues one child, sk_acceptq_is_full() being 1 &gt; 0).
    /// </summary>
    public int Backlog { get; init; } = 4096;
    /// <summary>The time series' sampling interval.</summary>
    public SimDuration Resolution { get; init; } = SimDuration.FromSeconds(1);
    /// <summary>After the last arrival, how long connections may take to finish before the workload ends without them.</summary>
    public SimDuration DrainLimit { get; init; } = SimDuration.FromSeconds(300);
    /// <summary>The finest journal events kept while the workload runs (counters: none).</summary>
    public JournalLevel Level { get; init; } = JournalLevel.Counters;

    /// <summary>How many connections the workload opens.</summary>
    public long Connections => Count > 0 ? Count : (long)Math.Floor(Duration.Ns / 1e9 * Rate);

    /// <summary>
    /// The most samples a workload's time series keeps per host. A spec whose arrivals alone would take more at its
    /// <see cref="Resolution"/> is refused when it is asked for (<see cref="SeriesTooFine"/>: the API's workload request, a new
    /// scenario's workload step — not <see cref="Validate"/>, which a rebuild runs on commands logged before the bound); a run
    /// that goes on longer (connections draining), or such a logged one, coarsens its series instead — the resolution doubles
    /// and every other sample goes — so it never holds more.
    /// </summary>
    public const int MaxSamples = 10_000;

    /// <summary>
    /// The spec with the default resolution for a request that gave none: 1 s (<see cref="Resolution"/>'s default), doubled
    /// until the arrivals fit in <see cref="MaxSamples"/> samples per host — the resolution the series' own coarsening would
    /// reach (it doubles too), so a long workload that never set one runs where the 1 s default was refused
    /// (<see cref="SeriesTooFine"/>; tester37b LOW-4). A resolution the request gave is kept, and refused when too fine.
    /// </summary>
    public WorkloadSpec WithDefaultResolution()
    {
        var resolution = new WorkloadSpec().Resolution;
        while (!Fits(resolution)) resolution = new SimDuration(resolution.Ns * 2);
        return this with { Resolution = resolution };
    }

    /// <summary>Whether the arrivals fit in <see cref="MaxSamples"/> samples per host at <paramref name="resolution"/>.</summary>
    bool Fits(SimDuration resolution) =>
        resolution.Ns <= 0 || !(Rate > 0) || Connections <= 1 || ArrivalSpanNs / resolution.Ns + 1 <= MaxSamples;

    double ArrivalSpanNs => (Connections - 1) * (1e9 / Rate);

    /// <summary>
    /// Why the time series would be too fine (more than <see cref="MaxSamples"/> samples per host over the span of the
    /// arrivals, at <see cref="Resolution"/>), or null. Two connections 5,000 s apart at 1 ms were 5 million samples a host.
    /// </summary>
    public string? SeriesTooFine()
    {
        if (Fits(Resolution)) return null;
        double spanNs = ArrivalSpanNs;
        double least = Math.Ceiling(spanNs / (MaxSamples - 1));
        return $"the arrivals span {spanNs / 1e9:0.###} s: at this resolution the time series would take more than {MaxSamples:N0} samples per host; "
            + $"use a resolution of at least {least:0} ns ({SimDuration.Format((long)least)})";
    }

    /// <summary>
    /// Why one connection's request and response cannot be delivered within <paramref name="eventBudget"/> events
    /// (<see cref="EventBudgetBound"/>: the budget, less the segments of the smaller size, bounds the larger), naming the larger
    /// size's field and the most it may be; or null. No connection of such a workload could ever finish: it ran to its budget
    /// or its wall-time limit. (Many connections whose sizes fit one are not refused: the budget truncates them, as it does a
    /// workload of more connections than it has events.) Refused when it is asked for (the API's workload request, a new
    /// scenario's workload step), not by <see cref="Validate"/>: a logged workload rebuilds as it ran.
    /// </summary>
    public DomainError? BeyondEventBudget(long eventBudget)
    {
        var (field, bytes, otherField, other) = RequestBytes >= ResponseBytes
            ? ("requestBytes", RequestBytes, "responseBytes", ResponseBytes)
            : ("responseBytes", ResponseBytes, "requestBytes", RequestBytes);
        long otherSegments = EventBudgetBound.SegmentsFor(other);
        return EventBudgetBound.Bytes(bytes, eventBudget - otherSegments, field,
            $"the event budget of {eventBudget:N0} events, {otherSegments:N0} of them for the {otherField} ({other:N0} bytes)");
    }

    /// <summary>
    /// The least event budget that can deliver one connection's request and response (<see cref="EventBudgetBound"/>: the
    /// segments of both sizes, each at least one event); <see cref="BeyondEventBudget"/> refuses a smaller one.
    /// </summary>
    public long LeastEventBudget => EventBudgetBound.SegmentsFor(RequestBytes) + EventBudgetBound.SegmentsFor(ResponseBytes);

    /// <summary>
    /// <see cref="BeyondEventBudget"/> told by the budget, for a request that set it in <paramref name="budgetField"/>: the
    /// least budget the sizes need (an eventBudget of 1 named the default requestBytes, which the request never sent); null
    /// when the budget is enough.
    /// </summary>
    public DomainError? EventBudgetTooSmall(long eventBudget, string budgetField) =>
        LeastEventBudget <= eventBudget ? null
        : DomainError.Invalid($"{budgetField} {eventBudget:N0} cannot deliver one connection's request ({RequestBytes:N0} bytes) and response "
            + $"({ResponseBytes:N0} bytes): they take at least {LeastEventBudget:N0} segments, each at least one event and at most "
            + $"{EventBudgetBound.MaxSegmentPayload:N0} bytes. Give {budgetField} {LeastEventBudget:N0} or more (the handshake and close of "
            + "a connection take events too).", budgetField);

    /// <summary>
    /// Why a count and a duration given together are refused (the format says one of them; the count won, the duration was
    /// silently dropped), naming <paramref name="durationField"/> as the request spells it; or null. Refused when it is asked
    /// for (the API's workload request, a scenario's workload step), not by <see cref="Validate"/>: a logged workload
    /// rebuilds as it ran.
    /// </summary>
    public DomainError? CountAndDuration(string durationField) =>
        Count > 0 && Duration.Ns > 0
            ? DomainError.Invalid($"give count or {durationField}, not both (count connections, or {durationField} × rate)", durationField)
            : null;

    /// <summary>
    /// What a request (the API's workload, a scenario's workload step) is refused for beyond <see cref="Validate"/>, naming the
    /// field as the request spells it; or null. Not in <see cref="Validate"/>: a logged workload rebuilds as it ran (one cut by
    /// its event budget may have been logged with more connections, or a linger left at 0).
    /// <list type="bullet">
    /// <item>count and a duration together (<see cref="CountAndDuration"/>);</item>
    /// <item>a duration × rate past the count's bound (10⁹ connections ran 300 s before a 422; now refused at once);</item>
    /// <item>closeStyle linger without lingerSeconds (SO_LINGER {1,0}: an RST close, the same as linger-zero, silently), and
    /// lingerSeconds with any other closeStyle (accepted and ignored).</item>
    /// </list>
    /// </summary>
    public DomainError? RequestRefusal(string durationField, bool lingerSecondsGiven)
    {
        if (CountAndDuration(durationField) is { } both) return both;
        if (Count == 0 && Duration.Ns / 1e9 * Rate > MaxCount)
            return DomainError.Invalid($"{durationField} × rate opens {Math.Floor(Duration.Ns / 1e9 * Rate):N0} connections: at most {MaxCount:N0}, as count", durationField);
        if (CloseStyle == CloseStyle.Linger && !lingerSecondsGiven)
            return DomainError.Invalid("closeStyle linger needs lingerSeconds (0–3600): SO_LINGER {1, lingerSeconds}; for an RST close give closeStyle linger-zero", "lingerSeconds");
        if (CloseStyle != CloseStyle.Linger && lingerSecondsGiven)
            return DomainError.Invalid("lingerSeconds is for closeStyle linger only", "lingerSeconds");
        return null;
    }

    /// <summary>The most connections a workload opens: its count's bound, and a duration × rate's.</summary>
    public const long MaxCount = 100_000_000;

    /// <summary>Connection i's start, in ns after the workload's start (exact: floor(i · 10⁹ / rate)).</summary>
    public long ArrivalOffsetNs(long i) => (long)Math.Floor(i * (1e9 / Rate));

    /// <summary>What is wrong with the spec, or null (references to hosts are checked when it starts).</summary>
    public DomainError? Validate()
    {
        if (Clients.Count == 0 && GeneratedClients <= 0) return DomainError.Invalid("give client hosts or a count of generated clients", "clients");
        if (Clients.Count > 0 && GeneratedClients > 0) return DomainError.Invalid("give client hosts or a count of generated clients, not both", "generatedClients");
        for (int i = 0; i < Clients.Count; i++)
            if (string.IsNullOrEmpty(Clients[i])) return DomainError.Invalid("a client is the name of a host", $"clients[{i}]");
        if (GeneratedClients > MaxGeneratedClients) return DomainError.Invalid($"at most {MaxGeneratedClients:N0} generated clients", "generatedClients");
        if (string.IsNullOrEmpty(Server)) return DomainError.Invalid("the server host is required", "server");
        if (Port == 0) return DomainError.Invalid("the port is 1–65535", "port");
        if (!(Rate > 0) || double.IsInfinity(Rate)) return DomainError.Invalid("the rate is a positive number of connections per second", "rate");
        if (Count < 0) return DomainError.Invalid("the count must not be negative", "count");
        if (Count == 0 && Duration.Ns <= 0) return DomainError.Invalid("give a count or a positive duration", "count");
        // Only a duration opens none (a count is at least 1): named, as the request sent it.
        if (Connections <= 0) return DomainError.Invalid("the workload opens no connection: duration × rate is less than one", "duration");
        if (RequestBytes < 0 || ResponseBytes < 0) return DomainError.Invalid("sizes must not be negative", "requestBytes");
        if (ThinkTime.Ns < 0 || ClientLinkDelay.Ns < 0) return DomainError.Invalid("times must not be negative", "thinkTime");
        if (Resolution.Ns < 1_000_000) return DomainError.Invalid("the resolution is at least 1 ms", "resolution");
        if (DrainLimit.Ns <= 0) return DomainError.Invalid("the drain limit must be positive", "drainLimit");
        if (LingerSeconds < 0) return DomainError.Invalid("linger seconds must not be negative", "lingerSeconds");
        if (UserTimeoutMs < 0) return DomainError.Invalid("TCP_USER_TIMEOUT must not be negative", "userTimeoutMs");
        if (CloseStyle == CloseStyle.Kill && CloseFirst != CloseFirst.Client)
            return DomainError.Invalid("kill closes client processes: the server's one process holds every accepted connection", "closeStyle");
        return null;
    }
}
