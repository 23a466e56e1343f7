using System.Collections;
using System.Collections.Immutable;
using System.Reflection;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>
/// Compares scenario model values member by member, ImmutableArrays element by element (records
/// compare their ImmutableArray members by reference), and names the first difference.
/// </summary>
internal static class StructuralEquality
{
    public static void AssertEqual(object? expected, object? actual)
    {
        var difference = Difference(expected, actual, "doc");
        Assert.True(difference is null, $"documents differ at {difference}");
    }

    static string? Difference(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
            return expected is null && actual is null ? null : $"{path}: {expected ?? "null"} vs {actual ?? "null"}";
        var type = expected.GetType();
        if (type != actual.GetType()) return $"{path}: {type.Name} vs {actual.GetType().Name}";
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>))
        {
            var left = ((IEnumerable)expected).Cast<object?>().ToList();
            var right = ((IEnumerable)actual).Cast<object?>().ToList();
            if (left.Count != right.Count) return $"{path}: {left.Count} vs {right.Count} items";
            return left.Zip(right).Select((pair, i) => Difference(pair.First, pair.Second, $"{path}[{i}]")).FirstOrDefault(d => d is not null);
        }
        if (type.IsValueType || type == typeof(string))
            return expected.Equals(actual) ? null : $"{path}: {expected} vs {actual}";
        return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .Select(p => Difference(p.GetValue(expected), p.GetValue(actual), $"{path}.{p.Name}"))
            .FirstOrDefault(d => d is not null);
    }
}
