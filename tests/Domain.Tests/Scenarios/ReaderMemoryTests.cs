using System.Text.Json;
using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>
/// A huge array the reader refuses for its length is refused before any item is read (review40a S-2: a 3.9 MB
/// <c>between</c> of 1,950,000 items built a member and a path for each and peaked at 367 MB to say "must name exactly
/// two hosts").
/// </summary>
public sealed class ReaderMemoryTests
{
    [Fact]
    public void HugeBetween_RefusedWithoutReadingItsItems()
    {
        using var document = JsonDocument.Parse("{\"name\":\"x\",\"hosts\":{\"a\":{\"address\":\"10.0.0.1\"},\"b\":{\"address\":\"10.0.0.2\"}}," +
            "\"links\":[{\"between\":[" + string.Join(',', Enumerable.Repeat("0", 200_000)) + "]}],\"steps\":[]}");
        ScenarioParser.Parse(document); // warm up: the reader's own first-use allocations are not counted
        long before = GC.GetAllocatedBytesForCurrentThread();

        var result = ScenarioParser.Parse(document);

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(result.Errors, e => e.Path == "$.links[0].between" && e.Message == "must name exactly two hosts");
        // A member and a "$.links[0].between[N]" path per item is over 60 bytes each: 200,000 items, over 12 MB.
        Assert.True(allocated < 1_000_000, $"{allocated:N0} bytes allocated");
    }
}
