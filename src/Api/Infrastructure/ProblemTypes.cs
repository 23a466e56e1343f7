namespace SimService.Api.Infrastructure;

/// <summary>
/// The <c>type</c> member of every problem this service writes itself (RFC 9457 §3.1.1). They are
/// absolute URNs: stable identifiers that do not pretend to be documentation pages we do not host.
/// Problems written by the framework for plain HTTP failures (405, 415, an unknown route) keep its
/// RFC 9110 section URIs.
/// </summary>
public static class ProblemTypes
{
    /// <summary>400: one or more fields are unknown, missing or out of range; <c>errors</c> names them.</summary>
    public const string Validation = "urn:simservice:problem:validation";

    /// <summary>400: the body is not JSON at all (a syntax error).</summary>
    public const string MalformedJson = "urn:simservice:problem:malformed-json";

    /// <summary>400: the request could not be bound (missing body, a route or query value of the wrong type).</summary>
    public const string BadRequest = "urn:simservice:problem:bad-request";

    /// <summary>404: the simulation named in the path does not exist.</summary>
    public const string SimulationNotFound = "urn:simservice:problem:simulation-not-found";

    /// <summary>500: a bug; the response carries no details outside Development.</summary>
    public const string Internal = "urn:simservice:problem:internal";
}
