using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// The reader's memory bound (review40a S-2, N-10): every array of a document is read one item at a time, or refused by its
/// length, so a 3.9 MB document of a million tiny items is read within a heap a small multiple of the document. Each had
/// a member and a path built for every item before the first was read: 540–570 MB at peak (<c>/usr/bin/time -v</c>), where
/// this test's heap limit ends the tool with an out-of-memory crash.
/// </summary>
public sealed class ValidateMemoryTests
{
    const string Hosts = "\"hosts\":{\"a\":{\"address\":\"10.0.0.1\"},\"b\":{\"address\":\"10.0.0.2\"},\"p\":{\"address\":\"10.0.0.3\",\"kind\":\"scripted\"}}";

    /// <summary>The managed heap the tool may use: the document's text, its UTF-8 bytes and its parsed tokens (12 bytes each, 2,600,000 for a million <c>{}</c>) fit in it.</summary>
    const string HeapLimit = "0x8000000"; // 128 MB: the tool reads these in 96 MB, not in 64

    [Theory]
    [InlineData("links", "{},", "{\"name\":\"x\"," + Hosts + ",\"links\":[#],\"steps\":[]}", "$.links[0].between: required field is missing")]
    [InlineData("sockets", "{},", "{\"name\":\"x\"," + Hosts + ",\"steps\":[{\"at\":\"0ms\",\"expect\":{\"sockets\":[#]}}]}", "$.steps[0].expect.sockets[0].host: required field is missing")]
    [InlineData("packets", "{},", "{\"name\":\"x\"," + Hosts + ",\"steps\":[],\"expect\":{\"packets\":[#]}}", "$.expect.packets[0].flags: required field is missing")]
    [InlineData("dmesg", "0,", "{\"name\":\"x\"," + Hosts + ",\"steps\":[{\"at\":\"0ms\",\"expect\":{\"dmesg\":{\"a\":[#]}}}]}", "$.steps[0].expect.dmesg.a[0]: expected a string, found a number")]
    [InlineData("clients", "0,", "{\"name\":\"x\"," + Hosts + ",\"steps\":[{\"at\":\"0ms\",\"workload\":{\"clients\":[#],\"server\":\"b\",\"count\":1}}]}", "$.steps[0].workload.clients[0]: expected a string, found a number")]
    [InlineData("addresses", "0,", "{\"name\":\"x\",\"hosts\":{\"a\":{\"address\":\"10.0.0.1\",\"addresses\":[#]}},\"steps\":[]}", "$.hosts.a.addresses: a host takes at most 1,024 further addresses (got 1,950,000)")]
    [InlineData("sack", "0,", "{\"name\":\"x\"," + Hosts + ",\"steps\":[{\"at\":\"0ms\",\"inject\":{\"from\":\"p:1\",\"to\":\"a:80\",\"flags\":\"S\",\"seq\":1,\"options\":{\"sack\":[#]}}}]}", "$.steps[0].inject.options.sack: at most 4 SACK blocks fit in the 40 bytes of options")]
    public async Task MillionItemArray_Validate_RefusedWithinABoundedHeap(string name, string item, string shape, string firstProblem)
    {
        var file = Tool.TempFile(name + ".json");
        int items = 3_900_000 / item.Length;
        File.WriteAllText(file, shape.Replace("#", string.Concat(Enumerable.Repeat(item, items)).TrimEnd(',')));

        var run = await Tool.RunWithAsync(Tool.RepoRoot, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = HeapLimit }, "validate", file);

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Error[..Math.Min(run.Error.Length, 400)]}");
        Assert.StartsWith($"INVALID  {file}", run.OutputLines[0]);
        Assert.Equal("         " + firstProblem, run.OutputLines[1]);
    }
}
