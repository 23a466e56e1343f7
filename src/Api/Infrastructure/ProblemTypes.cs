namespace SimService.Api.Infrastructure;

/// <summary>
/// The <c>type</c> member of every problem this service writes itself (RFC 9457 §3.1.1). They are
/// absolute URNs: stable identifiers that do not pretend to be documentation pages we do not host.
/// The framework's own answers to plain HTTP failures (an unknown path, a method the path does not take, a body over the
/// size limit) get one of these too (<see cref="UnmatchedIdProblems"/>, <see cref="ErrorMapping"/>); they had its
/// RFC 9110 section URIs until 2026-12-06.
/// </summary>
public static class ProblemTypes
{
    /// <summary>400: one or more fields are unknown, missing or out of range; <c>errors</c> names them.</summary>
    public const string Validation = "urn:simservice:problem:validation";

    /// <summary>400: the body is not JSON at all (a syntax error).</summary>
    public const string MalformedJson = "urn:simservice:problem:malformed-json";

    /// <summary>400: the request could not be bound (missing body, a route or query value of the wrong type).</summary>
    public const string BadRequest = "urn:simservice:problem:bad-request";

    /// <summary>415: the request body is not sent as application/json.</summary>
    public const string UnsupportedMediaType = "urn:simservice:problem:unsupported-media-type";

    /// <summary>404: the simulation named in the path does not exist (an id that is not a UUID included: named in <c>detail</c>, without <c>simulationId</c>).</summary>
    public const string SimulationNotFound = "urn:simservice:problem:simulation-not-found";

    /// <summary>404: a host, socket, process, link or call named in the request does not exist in the simulation.</summary>
    public const string NotFound = "urn:simservice:problem:not-found";

    /// <summary>409: the command conflicts with the simulation's state (a host name or address taken, a link that exists).</summary>
    public const string Conflict = "urn:simservice:problem:conflict";

    /// <summary>412: If-Match names a version other than the simulation's current one.</summary>
    public const string VersionMismatch = "urn:simservice:problem:version-mismatch";

    /// <summary>409: another API process kept appending to the simulation's log; retry the request.</summary>
    public const string WriteConflict = "urn:simservice:problem:write-conflict";

    /// <summary>409: the simulation cannot be exported as a scenario that reproduces its journal.</summary>
    public const string NotExportable = "urn:simservice:problem:not-exportable";

    /// <summary>400: the scenario document is invalid; <c>errors</c> is keyed by JSON path ("$.steps[3].at").</summary>
    public const string InvalidScenario = "urn:simservice:problem:invalid-scenario";

    /// <summary>400: a packetdrill script that does not parse or uses what the simulator does not run; <c>errors</c> is keyed "line L, column C".</summary>
    public const string InvalidScript = "urn:simservice:problem:invalid-script";

    /// <summary>404: no endpoint has the request's path (dot segments resolved first: <c>processes/%2e%2e/kill</c> is <c>…/kill</c>).</summary>
    public const string UnknownPath = "urn:simservice:problem:unknown-path";

    /// <summary>405: the path's endpoints take other methods; the <c>Allow</c> header lists them.</summary>
    public const string MethodNotAllowed = "urn:simservice:problem:method-not-allowed";

    /// <summary>408, 413, 414, 431: Kestrel refused the request before it reached the API (too long, too large, too slow).</summary>
    public const string RejectedRequest = "urn:simservice:problem:rejected-request";

    /// <summary>422: the request needs more work than one request may do (wall time, events, journal); nothing was applied.</summary>
    public const string WorkLimit = "urn:simservice:problem:work-limit";

    /// <summary>503: the service is stopping; the request's heavy work was not run or was cancelled, nothing was applied; <c>Retry-After</c> says when to retry.</summary>
    public const string ServiceStopping = "urn:simservice:problem:service-stopping";
    /// <summary>
    /// 503: the request waited its whole wall-time limit and did not start (its simulation was being rebuilt from its log,
    /// the tenant's heavy slots stayed taken, or the simulation's earlier requests ran on); nothing ran. <c>Retry-After</c>.
    /// </summary>
    public const string Busy = "urn:simservice:problem:busy";

    /// <summary>401: no API key while keys are on, or an unknown or revoked key.</summary>
    public const string Unauthorized = "urn:simservice:problem:unauthorized";

    /// <summary>429: the tenant's rate limit is used up; <c>Retry-After</c> says when to retry.</summary>
    public const string RateLimited = "urn:simservice:problem:rate-limited";

    /// <summary>403: the request would take the tenant past a quota (simulations, hosts, sockets, journal bytes); <c>quota</c> names it.</summary>
    public const string QuotaExceeded = "urn:simservice:problem:quota-exceeded";

    /// <summary>403: a POST, PUT, PATCH or DELETE sent by a page of another site (<c>Sec-Fetch-Site: cross-site</c>, or a foreign <c>Origin</c>).</summary>
    public const string CrossSiteRequest = "urn:simservice:problem:cross-site-request";

    /// <summary>500: a bug; the response carries no details outside Development.</summary>
    public const string Internal = "urn:simservice:problem:internal";
}
