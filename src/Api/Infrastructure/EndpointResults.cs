using Microsoft.AspNetCore.Http.HttpResults;

namespace SimService.Api.Infrastructure;

/// <summary>A response that carries the simulation's version after the request (sent as the ETag too).</summary>
public interface IVersioned
{
    long Version { get; }
}

/// <summary>Turns an outcome into the endpoint's typed result: the value, or the failure's problem.</summary>
public static class EndpointResults
{
    public static Results<Ok<T>, ProblemHttpResult> ToOk<T>(this Outcome<T> outcome, HttpResponse? response = null) =>
        outcome.Match<Results<Ok<T>, ProblemHttpResult>>(value =>
        {
            if (response is not null && value is IVersioned versioned) Versioning.SetETag(response, versioned.Version);
            return TypedResults.Ok(value);
        }, failure => ErrorMapping.ToProblem(failure));

    public static Results<Created<T>, ProblemHttpResult> ToCreated<T>(this Outcome<T> outcome, HttpResponse response, Func<T, string> location) =>
        outcome.Match<Results<Created<T>, ProblemHttpResult>>(value =>
        {
            if (value is IVersioned versioned) Versioning.SetETag(response, versioned.Version);
            return TypedResults.Created(location(value), value);
        }, failure => ErrorMapping.ToProblem(failure));

    /// <summary>
    /// 201 with the Location <paramref name="location"/> gives, or 200 when it gives none: a call that can fail before it
    /// makes anything (socket() failing EMFILE) created no resource to point at, and answers as any other call's errno does.
    /// </summary>
    public static Results<Created<T>, Ok<T>, ProblemHttpResult> ToCreatedOrOk<T>(this Outcome<T> outcome, HttpResponse response, Func<T, string?> location) =>
        outcome.Match<Results<Created<T>, Ok<T>, ProblemHttpResult>>(value =>
        {
            if (value is IVersioned versioned) Versioning.SetETag(response, versioned.Version);
            return location(value) is { } created ? TypedResults.Created(created, value) : TypedResults.Ok(value);
        }, failure => ErrorMapping.ToProblem(failure));

    public static Results<ContentHttpResult, ProblemHttpResult> ToText(this Outcome<string> outcome) =>
        outcome.Match<Results<ContentHttpResult, ProblemHttpResult>>(
            text => TypedResults.Text(text, "text/plain; charset=utf-8"), failure => ErrorMapping.ToProblem(failure));
}
