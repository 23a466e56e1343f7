using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios;

public class CheckedDurationTests
{
    [Theory]
    [InlineData("~2s", "1.9s", true)]
    [InlineData("~2s", "2.1s", true)]
    [InlineData("~2s", "2.2s", false)]
    [InlineData("~2s", "1.899999999s", false)]
    [InlineData("~10ms", "8ms", true)]    // 5% is 0.5 ms: the 2 ms floor applies
    [InlineData("~10ms", "12ms", true)]
    [InlineData("~10ms", "12.000001ms", false)]
    [InlineData("~10ms", "7.9ms", false)]
    [InlineData("~0s", "2ms", true)]
    [InlineData("1.9s..2.3s", "1.9s", true)] // inclusive
    [InlineData("1.9s..2.3s", "2.3s", true)]
    [InlineData("1.9s..2.3s", "2.300000001s", false)]
    [InlineData("1.9s..2.3s", "1.899999999s", false)]
    [InlineData("2s", "2000ms", true)]
    [InlineData("2s", "2.000000001s", false)]
    public void Matches_Duration_FollowsTheFormat(string check, string actual, bool expected)
    {
        Assert.True(CheckedDuration.TryParse(check, out var value));
        Assert.True(SimDuration.TryParse(actual, out var d));
        Assert.Equal(expected, value.Matches(d));
    }

    /// <summary>The real kernel's run widens a checked time by its 4 ms tolerance; a negative slack (noPackets) narrows it.</summary>
    [Theory]
    [InlineData("200ms", "203.9ms", 4, true)]
    [InlineData("200ms", "204.1ms", 4, false)]
    [InlineData("~100ms", "95.9ms", 4, true)]     // 5 ms of "~" plus 4 ms of slack
    [InlineData("~100ms", "108.9ms", 4, true)]
    [InlineData("~100ms", "109.1ms", 4, false)]
    [InlineData("100ms..299ms", "302.9ms", 4, true)]
    [InlineData("100ms..299ms", "300.3ms", -4, false)] // within 4 ms of the window's end: not surely inside it
    [InlineData("100ms..299ms", "295ms", -4, true)]
    [InlineData("100ms..299ms", "103.9ms", -4, false)]
    [InlineData("200ms", "200ms", -4, false)]
    [InlineData("~100ms", "100ms", -4, true)]
    [InlineData("~100ms", "101.1ms", -4, false)]
    public void Matches_WithSlack_WidensOrNarrowsTheCheck(string check, string actual, int slackMs, bool expected)
    {
        Assert.True(CheckedDuration.TryParse(check, out var value));
        Assert.True(SimDuration.TryParse(actual, out var d));
        Assert.Equal(expected, value.Matches(d, SimDuration.FromMilliseconds(slackMs)));
    }

    [Theory]
    [InlineData("~2s", CheckedDurationKind.Approximately)]
    [InlineData("58s..60.5s", CheckedDurationKind.Range)]
    [InlineData("200ms", CheckedDurationKind.Exact)]
    public void TryParse_Text_KeepsKindAndOriginalText(string text, CheckedDurationKind kind)
    {
        Assert.True(CheckedDuration.TryParse(text, out var value));
        Assert.Equal(kind, value.Kind);
        Assert.Equal(text, value.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("~")]
    [InlineData("2")]
    [InlineData("~1s..2s")]
    [InlineData("2s..1s")]
    [InlineData("1.s")]
    [InlineData("2s\n")]
    [InlineData("0.1ns")]
    [InlineData("-2s")]
    [InlineData("99999999999999999999h")]
    [InlineData("1s..99999999999999999999h")]
    public void TryParse_Malformed_IsRefused(string text) =>
        Assert.False(CheckedDuration.TryParse(text, out _));
}
