using SimService.Domain.Engine;

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

/// <summary>
/// The artefacts this build can save. Packet captures and sequence diagrams are being added to the engine by
/// another change; until they are on main this list is empty and asking for one is a usage error that says so.
/// </summary>
public static class Artefacts
{
    public static IReadOnlyList<IArtefact> All { get; } = [];

    /// <summary>Options the tool knows of but this build cannot honour yet, with the reason.</summary>
    public static IReadOnlyDictionary<string, string> NotYet { get; } = new Dictionary<string, string>
    {
        ["pcap"] = "this build has no packet-capture writer yet (the engine's pcap output has not landed)",
        ["diagram"] = "this build has no sequence-diagram writer yet (the engine's diagram output has not landed)",
    };

    public static IArtefact? Find(string option) => All.FirstOrDefault(a => a.Option == option);
}
