namespace SimService.Tests.Shared;

/// <summary>
/// Files of tests/TestData, which more than one test project reads: each links this folder in and copies it beside its
/// assembly (the project files' TestData item), so a fixture is written once.
/// </summary>
internal static class SharedTestData
{
    /// <summary>
    /// A listener that accepts one connection, its events at absolute times (0, then 0.100 s): eight lines, so a line
    /// appended to it is line 9. Scripts that test packetdrill's own time rules (time going backward) start from it.
    /// </summary>
    public static string AbsoluteHandshake => Read("packetdrill", "absolute-handshake.pkt");

    /// <summary>A file under tests/TestData as text.</summary>
    public static string Read(params string[] path) => File.ReadAllText(Path.Combine([AppContext.BaseDirectory, "TestData", .. path]));
}
