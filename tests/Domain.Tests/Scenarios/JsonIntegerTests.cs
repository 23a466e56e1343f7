using System.Text;
using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>
/// <see cref="JsonInteger"/>, the integer rule of scenario files and request bodies (JSON Schema's "integer"), decided from
/// the number's text exactly: spellings of one integer, fractions however small, and the edges of the 64-bit range.
/// (The API and the scenario reader are held to one table of inputs in Api.Tests' IntegerRuleTests.)
/// </summary>
public class JsonIntegerTests
{
    const string LongRange = "-9223372036854775808..9223372036854775807";

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("-0.0", 0L)]
    [InlineData("0e999999999999999999999", 0L)]
    [InlineData("0.1e1", 1L)]
    [InlineData("10e-1", 1L)]
    [InlineData("100.000e-2", 1L)]
    [InlineData("1E+2", 100L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("9.223372036854775807e18", long.MaxValue)]
    [InlineData("92233720368547758070e-1", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("-9.223372036854775808E18", long.MinValue)]
    public void Read_IntegralSpellings_TheInteger(string json, long expected)
    {
        Assert.Null(JsonInteger.Read(Encoding.UTF8.GetBytes(json), long.MinValue, long.MaxValue, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("0.5", "0.5 is not an integer")]
    [InlineData("1e-1", "1e-1 is not an integer")]
    [InlineData("1e-400", "1e-400 is not an integer")]
    [InlineData("1.0000000000000000000000000001", "1.0000000000000000000000000001 is not an integer")]
    [InlineData("1e-99999999999999999999", "1e-99999999999999999999 is not an integer")]
    [InlineData("9223372036854775808", "9223372036854775808 is outside " + LongRange)]
    [InlineData("-9223372036854775809", "-9223372036854775809 is outside " + LongRange)]
    [InlineData("1e19", "1e19 is outside " + LongRange)]
    [InlineData("18446744073709551616", "18446744073709551616 is outside " + LongRange)]
    [InlineData("1e99999999999999999999", "1e99999999999999999999 is outside " + LongRange)]
    [InlineData("-1e400", "-1e400 is outside " + LongRange)]
    public void Read_FractionsAndPastTheRange_Refused(string json, string problem) =>
        Assert.Equal(problem, JsonInteger.Read(Encoding.UTF8.GetBytes(json), long.MinValue, long.MaxValue, out _));

    [Theory]
    [InlineData("65535.0", null)]
    [InlineData("6.5536e4", "6.5536e4 is outside 0..65535")]
    [InlineData("-1.0", "-1.0 is outside 0..65535")]
    public void Read_FieldRange_AsWritten(string json, string? problem) =>
        Assert.Equal(problem, JsonInteger.Read(Encoding.UTF8.GetBytes(json), 0, 65535, out _));

    /// <summary>The checker itself: a wrong table row is caught (a fraction that rounds to an integer in double or decimal).</summary>
    [Fact]
    public void Read_FractionThatRoundsToAnInteger_NotTakenAsOne()
    {
        var text = "1.00000000000000000000000000000000001";
        Assert.Equal(1.0, double.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotNull(JsonInteger.Read(Encoding.UTF8.GetBytes(text), long.MinValue, long.MaxValue, out _));
    }
}

/// <summary>An expected call value compares numbers by the integer rule: a linger of 5.0 is the 5 getsockopt wrote; 6.0 and 5.5 are not.</summary>
public class CallValueIntegerTests
{
    [Theory]
    [InlineData("5.0", true)]
    [InlineData("5e0", true)]
    [InlineData("5", true)]
    [InlineData("6.0", false)]
    [InlineData("5.5", false)]
    public void Getsockopt_ExpectedValueSpelledAsAnyIntegralNumber_MatchesTheInteger(string linger, bool passes)
    {
        var result = Runner.RunnerAssert.Run("""
            {"name":"value-rule","hosts":{"a":{"address":"10.0.0.1"}},"steps":[
              {"host":"a","call":"socket","as":"s"},
              {"host":"a","call":"setsockopt","socket":"s","option":"SO_LINGER","value":{"onoff":1,"linger":5}},
              {"host":"a","call":"getsockopt","socket":"s","option":"SO_LINGER","expect":{"value":{"onoff":1.0,"linger":@SECONDS}}}]}
            """.Replace("@SECONDS", linger, StringComparison.Ordinal));

        var check = Runner.RunnerAssert.Check(result, "$.steps[2].expect.value");
        Assert.Equal(passes, check.Passed);
        Assert.Equal("""{"onoff":1,"linger":5}""", check.Actual);
    }
}
