using SimService.Domain.Engine;
using SimService.Domain.Outputs;

namespace SimService.Cli.Running;

/// <summary>
/// A file saved for a failed run (<c>--pcap DIR</c>, <c>--diagram DIR</c>): made from the engine's simulation in
/// process, or fetched from the server's endpoint for the simulation the run left there.
/// </summary>
public interface IArtefact
{
    /// <summary>The option that asks for it ("pcap").</summary>
    string Option { get; }

    /// <summary>The saved file's extension (".pcapng").</summary>
    string Extension { get; }

    byte[] FromSimulation(Simulation simulation);

    /// <summary>The server path that serves it for a simulation id.</summary>
    string ServerPath(string simulationId);
}

/// <summary>The whole run as pcapng (every segment once; lost ones on the "dropped" interface), for Wireshark or tshark.</summary>
public sealed class PcapArtefact : IArtefact
{
    public string Option => "pcap";

    public string Extension => ".pcapng";

    public byte[] FromSimulation(Simulation simulation) => PacketCapture.Wire(simulation.Journal, TimeWindow.All);

    public string ServerPath(string simulationId) => $"api/v1/simulations/{simulationId}/pcap";
}

/// <summary>The run as a ladder diagram (SVG): a lane per host, an arrow per segment, state changes and timers.</summary>
public sealed class DiagramArtefact : IArtefact
{
    public string Option => "diagram";

    public string Extension => ".svg";

    public byte[] FromSimulation(Simulation simulation) => System.Text.Encoding.UTF8.GetBytes(LadderDiagram.Svg(simulation, DiagramFilter.All));

    public string ServerPath(string simulationId) => $"api/v1/simulations/{simulationId}/diagram.svg";
}

/// <summary>The artefacts this build saves for failed runs: packet captures and ladder diagrams.</summary>
public static class Artefacts
{
    public static IReadOnlyList<IArtefact> All { get; } = [new PcapArtefact(), new DiagramArtefact()];

    public static IArtefact? Find(string option) => All.FirstOrDefault(a => a.Option == option);
}

/// <summary>
/// The names of one run's artefacts: the file's path with separators as '_', then the artefact's extension; a name an
/// earlier failed file of the run already took gets "-2", "-3", … — <c>x/y_z.json</c> and <c>x_y/z.json</c>, <c>a.json</c>
/// and <c>a.pkt</c>, <c>../a.json</c> and <c>a.json</c> flatten alike, and the second overwrote the first's capture and
/// diagram while both lines said "saved". A file's artefacts all share its one stem.
/// </summary>
public sealed class ArtefactNames
{
    // Ignoring case: two names a case-insensitive file system holds as one are one name.
    readonly HashSet<string> _taken = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, string> _stems = new(StringComparer.Ordinal);

    /// <summary>The saved file's name for <paramref name="displayPath"/>'s <paramref name="artefact"/>.</summary>
    public string FileName(string displayPath, IArtefact artefact)
    {
        if (!_stems.TryGetValue(displayPath, out var stem))
        {
            var flat = Path.ChangeExtension(displayPath, null).Replace('\\', '/').TrimStart('/').Replace("../", "", StringComparison.Ordinal).Replace('/', '_');
            stem = flat;
            for (int n = 2; !_taken.Add(stem); n++) stem = $"{flat}-{n}";
            _stems[displayPath] = stem;
        }
        return stem + artefact.Extension;
    }
}
