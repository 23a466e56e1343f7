namespace SimService.Api.Infrastructure;

/// <summary>
/// Routes constrain their ids (<c>{id:guid}</c>, <c>{socketId:int}</c>, <c>{workloadId:int}</c>, <c>{callId:long}</c>),
/// so an id of the wrong form matches no route and the framework answers its plain RFC 9110 404. Under
/// <c>/api/v1/simulations/</c> that 404 is the project's own instead: <c>simulation-not-found</c> naming (in its detail) a
/// simulation id that is not a UUID, or <c>not-found</c> naming the field of a socket, workload or call id that is not a number.
/// Any other path no endpoint has is an <c>unknown-path</c> 404, and a method the path does not take a
/// <c>method-not-allowed</c> 405 (both were the framework's RFC 9110 problems until 2026-12-06).
/// </summary>
internal static class UnmatchedIdProblems
{
    private const string Prefix = "/api/v1/simulations/";

    /// <summary>
    /// The item ids under a simulation that routes constrain to numbers: path segment → JSON field, and whether the route's
    /// constraint is <c>long</c> (else <c>int</c>): a number the constraint takes and the path still matched no route is an
    /// unknown path; one past it (a socket id of 2^31) is an id of no item, as "abc" is.
    /// </summary>
    private static readonly Dictionary<string, (string Field, bool Long)> NumericIds = new(StringComparer.Ordinal)
    {
        ["sockets"] = ("socketId", false),
        ["workloads"] = ("workloadId", false),
        ["calls"] = ("callId", true),
    };

    public static void Apply(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Type?.StartsWith("urn:simservice:", StringComparison.Ordinal) == true) return;
        var request = context.HttpContext.Request;
        if (problem.Status == StatusCodes.Status405MethodNotAllowed)
        {
            problem.Type = ProblemTypes.MethodNotAllowed;
            problem.Title = "Method not allowed.";
            problem.Detail = $"{request.Method} is not a method of {request.Path}: it takes {context.HttpContext.Response.Headers.Allow} (the Allow header).";
            return;
        }
        if (problem.Status != StatusCodes.Status404NotFound || context.HttpContext.GetEndpoint() is not null) return;
        problem.Type = ProblemTypes.UnknownPath;
        problem.Title = "Not found.";
        // Kestrel resolves dot segments (RFC 3986 §5.2.4) before routing: the path named is the one no endpoint has.
        problem.Detail = $"No endpoint has the path {request.Path}.";
        string path = request.Path.Value ?? "";
        if (!path.StartsWith(Prefix, StringComparison.Ordinal)) return;
        var segments = path[Prefix.Length..].Split('/');
        string id = Uri.UnescapeDataString(segments[0]);
        if (id.Length == 0 && segments.Length == 1) return; // the collection itself; an empty id ("simulations//hosts") is not one
        if (!Guid.TryParse(id, out var simulationId))
        {
            problem.Type = ProblemTypes.SimulationNotFound;
            problem.Title = "Simulation not found.";
            // Named in the detail only: the documented simulationId member is a UUID.
            problem.Detail = $"There is no simulation with id '{id}'.";
            return;
        }
        if (segments.Length < 3 || !NumericIds.TryGetValue(segments[1], out var route) || segments[2].Length == 0
            || FitsConstraint(segments[2], route.Long)) return;
        var field = route.Field;
        string item = Uri.UnescapeDataString(segments[2]);
        string message = $"There is no {segments[1][..^1]} '{item}' in the simulation.";
        problem.Type = ProblemTypes.NotFound;
        problem.Title = "Not found.";
        problem.Detail = message;
        problem.Extensions["simulationId"] = simulationId;
        problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [message] };
    }

    private static bool FitsConstraint(string segment, bool isLong) => isLong
        ? long.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)
        : int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);
}
