using SimService.Domain.Network;
using SimService.Domain.Text;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// Names are limited in characters: Unicode scalar values, not UTF-16 code units (150 "😀" were 300 "characters", past a
/// 200 limit). A text element of several scalar values (a family joined by U+200D) counts each of them, as JSON Schema's
/// maxLength and a PostgreSQL varchar do.
/// </summary>
public sealed class TextLengthTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("abc", 3)]
    [InlineData("é", 1)]
    [InlineData("😀", 1)]
    [InlineData("a😀b😀", 4)]
    [InlineData("👨\u200D👩\u200D👧", 5)]
    public void Characters_CountsScalarValues(string text, int characters) => Assert.Equal(characters, TextLength.Characters(text));

    /// <summary>A lone surrogate counts one (made in code: an attribute's string would carry U+FFFD instead).</summary>
    [Fact]
    public void Characters_OfALoneSurrogate_CountsIt() =>
        Assert.Equal((1, 2), (TextLength.Characters(new string('\uD800', 1)), TextLength.Characters(new string(['\uD800', '\uD800', '\uDC00']))));

    [Fact]
    public void ProcessName_OfTwoHundredEmoji_IsOneAndOfTwoHundredAndOneIsNot()
    {
        string emoji = string.Concat(Enumerable.Repeat("😀", SimProcess.NameMaxLength));

        Assert.Null(SimProcess.NameProblem(emoji));
        Assert.Equal("A process name is at most 200 characters.", SimProcess.NameProblem(emoji + "😀"));
        Assert.Equal("A process name is at most 200 characters.", SimProcess.NameProblem(new string('p', 201)));
    }
}
