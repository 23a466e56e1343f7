using Microsoft.AspNetCore.Mvc;
using SimService.Domain.Text;

namespace SimService.Api.Infrastructure;

/// <summary>
/// What a problem quotes of the request, bounded, for every problem the service writes (<see cref="QuotedText"/>, the rule the
/// command-line tool's problem lines follow too): a message or an <c>errors</c> key. A 500's detail (the exception, in
/// Development) is left whole.
/// </summary>
internal static class ProblemText
{
    public static void Apply(ProblemDetails problem)
    {
        if (problem.Type == ProblemTypes.Internal) return;
        if (problem.Detail is { } detail) problem.Detail = QuotedText.Bounded(detail);
        if (problem is HttpValidationProblemDetails validation) validation.Errors = Bounded(validation.Errors);
        else if (problem.Extensions.TryGetValue(ProblemFields.Member, out var member) && member is IDictionary<string, string[]> errors)
            problem.Extensions[ProblemFields.Member] = Bounded(errors);
    }

    /// <summary>Keys and messages bounded; two keys cut to the same text keep both keys' messages.</summary>
    private static Dictionary<string, string[]> Bounded(IDictionary<string, string[]> errors)
    {
        var bounded = new Dictionary<string, string[]>(errors.Count, StringComparer.Ordinal);
        foreach (var (key, messages) in errors)
        {
            var name = QuotedText.Bounded(key);
            var texts = Array.ConvertAll(messages, QuotedText.Bounded);
            bounded[name] = bounded.TryGetValue(name, out var earlier) ? [.. earlier, .. texts] : texts;
        }
        return bounded;
    }
}
