using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// The one rule for query parameters, on every endpoint: a parameter the endpoint does not declare is a 400 naming it (as an
/// unknown JSON field is: <c>?bogus=1</c> and a misspelt <c>?hots=client</c> were ignored, and the request ran unfiltered),
/// and a parameter given more than once that takes one value is a 400 naming it (<c>?host=a&amp;host=b</c> reached a
/// <c>string</c> parameter joined as "a,b"). Repeatable parameters are the endpoint's array-typed ones (the journal's
/// <c>host</c>, <c>socketId</c> and <c>type</c>, the diagram's <c>host</c> and <c>socket</c>): every value counts. The
/// declared parameters are read from the endpoint's handler method, as the framework binds them and the OpenAPI document
/// lists them; names compare without case, as query binding does.
/// </summary>
public static class QueryParameters
{
    private static readonly ConcurrentDictionary<Endpoint, IReadOnlyDictionary<string, bool>> Declared = new();

    public static Task Check(HttpContext context, RequestDelegate next)
    {
        var query = context.Request.Query;
        if (query.Count == 0 || context.GetEndpoint() is not { } endpoint || endpoint.Metadata.GetMetadata<MethodInfo>() is not { } method)
            return next(context);
        var declared = Declared.GetOrAdd(endpoint, static (e, m) => Of(m, (e as RouteEndpoint)?.RoutePattern), method);
        var errors = new Dictionary<string, string[]>();
        foreach (var (name, values) in query)
        {
            if (!declared.TryGetValue(name, out var repeatable))
                errors[name] = [declared.Count == 0
                    ? "Unknown query parameter: this endpoint takes none."
                    : $"Unknown query parameter; this endpoint takes {string.Join(", ", declared.Keys)}."];
            else if (!repeatable && values.Count > 1)
                errors[name] = [$"{name} takes one value; it was given {values.Count} times."];
        }
        if (errors.Count == 0) return next(context);
        var simulationId = context.GetRouteValue("id") is string id && Guid.TryParse(id, out var parsed) ? parsed : (Guid?)null;
        return ErrorMapping.ToProblem(new RequestInvalid(errors, simulationId)).ExecuteAsync(context);
    }

    /// <summary>The handler's query parameters: name → repeatable (array-typed).</summary>
    private static IReadOnlyDictionary<string, bool> Of(MethodInfo method, RoutePattern? route)
    {
        var result = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in method.GetParameters())
        {
            var fromQuery = p.GetCustomAttribute<FromQueryAttribute>();
            if (fromQuery is null && (p.GetCustomAttributes().Any(a => a is IFromServiceMetadata or FromBodyAttribute or FromRouteAttribute
                    or FromHeaderAttribute or FromFormAttribute) || route?.GetParameter(p.Name!) is not null || !IsSimple(p.ParameterType)))
                continue;
            result[fromQuery?.Name ?? p.Name!] = p.ParameterType.IsArray;
        }
        return result;
    }

    /// <summary>A type the framework binds from one query value (or an array of them); anything else comes from the body or services.</summary>
    private static bool IsSimple(Type type)
    {
        if (type.IsArray) type = type.GetElementType()!;
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(Guid)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(TimeSpan);
    }
}
