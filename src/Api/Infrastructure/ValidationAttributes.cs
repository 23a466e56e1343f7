using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace SimService.Api.Infrastructure;

/// <summary>
/// A range of a 64-bit integer field, with integer bounds: <c>[Int64Range(0, long.MaxValue)]</c> binds the double overload and
/// its message printed "between 0 and 9.223372036854776E+18". An open upper end (<see cref="long.MaxValue"/>) reads
/// "must be 0 or more".
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter | AttributeTargets.Field)]
public sealed class Int64RangeAttribute : RangeAttribute
{
    public Int64RangeAttribute(long minimum, long maximum)
        : base(typeof(long), minimum.ToString(CultureInfo.InvariantCulture), maximum.ToString(CultureInfo.InvariantCulture))
    {
        ParseLimitsInInvariantCulture = true;
        ConvertValueInInvariantCulture = true;
        ErrorMessage = maximum == long.MaxValue
            ? $"The field {{0}} must be {minimum.ToString(CultureInfo.InvariantCulture)} or more."
            : $"The field {{0}} must be between {minimum.ToString(CultureInfo.InvariantCulture)} and {maximum.ToString(CultureInfo.InvariantCulture)}.";
    }
}

/// <summary>
/// An <see cref="AllowedValuesAttribute"/> whose message lists the values (the framework's says "does not equal any of the
/// values specified in AllowedValuesAttribute"); a null among them means the field may be left out.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter | AttributeTargets.Field)]
public class OneOfAttribute : AllowedValuesAttribute
{
    public OneOfAttribute(params object?[] values) : base(values) => ErrorMessage = MessageFor(values);

    /// <summary>"The field {0} is one of a, b (or left out)." — {0} is the field's name.</summary>
    public static string MessageFor(IEnumerable<object?> values)
    {
        var named = values.Where(v => v is not null).Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)).ToList();
        bool optional = values.Any(v => v is null);
        return $"The field {{0}} is {(named.Count == 1 ? named[0] : "one of " + string.Join(", ", named))}{(optional ? " (or left out)" : "")}.";
    }
}
