using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;
using System.Text.RegularExpressions;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// The one rule for query parameters, on every endpoint: a parameter the endpoint does not declare is a 400 naming it (as an
/// unknown JSON field is: <c>?bogus=1</c> and a misspelt <c>?hots=client</c> were ignored, and the request ran unfiltered),
/// and a parameter given more than once that takes one value is a 400 naming it (<c>?host=a&amp;host=b</c> reached a
/// <c>string</c> parameter joined as "a,b"). Repeatable parameters are the endpoint's array-typed ones (the journal's
/// <c>host</c>, <c>socketId</c> and <c>type</c>, the diagram's <c>host</c> and <c>socket</c>): every value counts. The
/// declared parameters are read from the endpoint's handler method, as the framework binds them and the OpenAPI document
/// lists them; names compare without case, as query binding does. An integer parameter takes a plain number (digits, a
/// minus sign before a negative one): <c>limit=%20%201</c> was taken as 1. A plain number past the parameter's type is
/// answered by the parameter's own range (its <see cref="RangeAttribute"/>'s message, as a value in the type's range
/// outside it is), or as larger (smaller) than any the parameter takes: <c>limit=99999999999</c> was
/// "outside -2147483648..2147483647", a range whose negative half limit refuses.
/// </summary>
public static partial class QueryParameters
{
    /// <summary>A declared query parameter: whether it repeats, the integer type of its values (null: another type), and its range.</summary>
    private sealed record Declaration(bool Repeatable, Type? Integer, RangeAttribute? Range, bool Boolean);

    private static readonly ConcurrentDictionary<Endpoint, IReadOnlyDictionary<string, Declaration>> Declared = new();

    public static Task Check(HttpContext context, RequestDelegate next)
    {
        var query = context.Request.Query;
        if (query.Count == 0 || context.GetEndpoint() is not { } endpoint || endpoint.Metadata.GetMetadata<MethodInfo>() is not { } method)
            return next(context);
        var declared = Declared.GetOrAdd(endpoint, static (e, m) => Of(m, (e as RouteEndpoint)?.RoutePattern), method);
        var errors = new Dictionary<string, string[]>();
        foreach (var (name, values) in query)
        {
            if (!declared.TryGetValue(name, out var declaration))
                errors[name] = [declared.Count == 0
                    ? "Unknown query parameter: this endpoint takes none."
                    : $"Unknown query parameter; this endpoint takes {string.Join(", ", declared.Keys)}."];
            else if (!declaration.Repeatable && values.Count > 1)
                errors[name] = [$"{name} takes one value; it was given {values.Count} times."];
            else if (declaration.Integer is { } integer && values.Select(v => NotAnInteger(name, v ?? "", integer, declaration.Range)).FirstOrDefault(e => e is not null) is { } error)
                errors[name] = [error];
            else if (declaration.Boolean && values.FirstOrDefault(v => !PlainBoolean().IsMatch(v ?? "") && bool.TryParse(v, out _)) is { } loose)
                errors[name] = [$"'{loose}' is not a plain true or false (no spaces or other characters around it)."];
        }
        if (errors.Count == 0) return next(context);
        var simulationId = context.GetRouteValue("id") is string id && Guid.TryParse(id, out var parsed) ? parsed : (Guid?)null;
        return ErrorMapping.ToProblem(new RequestInvalid(errors, simulationId)).ExecuteAsync(context);
    }

    /// <summary>
    /// Why <paramref name="value"/> is no value of an integer parameter the framework would bind as its value: a number with
    /// spaces or a plus sign (the parsers take them), or a plain number past the type (named by the parameter's range). Other
    /// text is the binder's to refuse (ErrorMapping: "not a whole number"); null when the value is a plain number of the type.
    /// </summary>
    private static string? NotAnInteger(string name, string value, Type integer, RangeAttribute? range)
    {
        if (!PlainNumber().IsMatch(value)) // what the parser takes besides: white space around, a sign, trailing NULs (tester37 LOW-5: limit=2%00 was 2)
            return decimal.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                ? $"'{value}' is not a plain whole number: digits, with a minus sign before a negative one (no spaces, no +)." : null;
        decimal Bound(string field) => Convert.ToDecimal(integer.GetField(field)!.GetValue(null), CultureInfo.InvariantCulture);
        if (decimal.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            && number >= Bound("MinValue") && number <= Bound("MaxValue"))
            return null;
        // The range's message only where the range bounds that side: afterSeq's "must be -1 or more" answered 2^63.
        bool below = value.StartsWith('-');
        string side = below ? "MinValue" : "MaxValue";
        object? rangeBound = below ? range?.Minimum : range?.Maximum;
        return rangeBound is not null && Convert.ToDecimal(rangeBound, CultureInfo.InvariantCulture) != Bound(side) ? range!.FormatErrorMessage(name)
            : below ? $"'{value}' is smaller than any {name} takes." : $"'{value}' is larger than any {name} takes.";
    }

    [GeneratedRegex(@"^-?[0-9]+\z")]
    private static partial Regex PlainNumber();

    /// <summary>A boolean as written: bool.TryParse also takes white space and NULs around it (<c>series=%20false%20</c>).</summary>
    [GeneratedRegex(@"^(?i:true|false)\z")]
    private static partial Regex PlainBoolean();

    /// <summary>The handler's query parameters by name.</summary>
    private static IReadOnlyDictionary<string, Declaration> Of(MethodInfo method, RoutePattern? route)
    {
        var result = new Dictionary<string, Declaration>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in method.GetParameters())
        {
            var fromQuery = p.GetCustomAttribute<FromQueryAttribute>();
            if (fromQuery is null && (p.GetCustomAttributes().Any(a => a is IFromServiceMetadata or FromBodyAttribute or FromRouteAttribute
                    or FromHeaderAttribute or FromFormAttribute) || route?.GetParameter(p.Name!) is not null || !IsSimple(p.ParameterType)))
                continue;
            var element = p.ParameterType.IsArray ? p.ParameterType.GetElementType()! : p.ParameterType;
            element = Nullable.GetUnderlyingType(element) ?? element;
            var integer = element == typeof(int) || element == typeof(long) || element == typeof(short) || element == typeof(uint)
                || element == typeof(ulong) ? element : null;
            result[fromQuery?.Name ?? p.Name!] = new Declaration(p.ParameterType.IsArray, integer, p.GetCustomAttribute<RangeAttribute>(), element == typeof(bool));
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
