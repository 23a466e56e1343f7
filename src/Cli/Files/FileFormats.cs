namespace SimService.Cli.Files;

/// <summary>
/// The formats this build runs, by extension: scenario documents (*.json) and packetdrill scripts (*.pkt). A new
/// format is one class implementing <see cref="IFileFormat"/> and one line here; folders are then searched for its
/// extension too.
/// </summary>
public static class FileFormats
{
    public static IReadOnlyList<IFileFormat> All { get; } = [new ScenarioJsonFormat(), new PacketdrillFormat()];

    public static IFileFormat? ForPath(string path) =>
        All.FirstOrDefault(f => path.EndsWith(f.Extension, StringComparison.OrdinalIgnoreCase));

    /// <summary>"*.json" (and the others), for messages.</summary>
    public static string Patterns => string.Join(", ", All.Select(f => "*" + f.Extension));
}
