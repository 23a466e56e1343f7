using System.Globalization;
using SimService.Domain.Observability;
using SimService.Domain.Packetdrill;

namespace SimService.Cli.Kernel;

/// <summary>
/// <c>simservice kernel --counters</c>: for a script that passed on the kernel, the same script run on the engine and the
/// two changes of the Ip, Tcp, TcpExt and IpExt counters compared (<see cref="MibDelta"/>) — per file the counters that
/// differ, those the engine does not keep apart, and a summary over all files at the end. It reports; it does not fail a file.
/// </summary>
internal sealed class CounterComparison
{
    readonly SortedDictionary<string, (int Files, bool Modelled)> _differing = new(StringComparer.Ordinal);
    /// <summary>Per counter, the files in which it moved on the kernel and the engine moved it the same.</summary>
    readonly SortedDictionary<string, int> _agreedMoving = new(StringComparer.Ordinal);
    int _compared, _agreed;
    readonly List<string> _notCompared = [];

    /// <summary>The engine's counter changes over the script (its local host from boot to the last event); null when it did not pass.</summary>
    public static IReadOnlyDictionary<string, long>? EngineDelta(string text, string fileName)
    {
        var run = PacketdrillRunner.Run(text, new PacketdrillOptions { ScriptName = fileName });
        if (!run.Passed || run.Simulation?.FindHost(PacketdrillRunner.LocalHost) is not { } host) return null;
        return MibDelta.SinceBoot(host);
    }

    /// <summary>The lines for one file: each counter that differs (engine, kernel), the ones the engine keeps first.</summary>
    public static IReadOnlyList<string> Lines(IReadOnlyList<CounterDifference> differences)
    {
        if (differences.Count == 0) return ["counters: engine and kernel agree"];
        var lines = new List<string>();
        foreach (var d in differences.Where(d => d.Modelled)) lines.Add($"counter {d.Name}: engine {d.Engine}, kernel {d.Kernel}");
        var unkept = differences.Where(d => !d.Modelled).Select(d => $"{d.Name} {d.Kernel}").ToList();
        if (unkept.Count > 0) lines.Add($"counters the engine does not keep (kernel): {string.Join(", ", unkept)}");
        return lines;
    }

    /// <summary>Compares one file's changes (when both sides ran it through) and returns its report lines.</summary>
    public IReadOnlyList<string> Check(string displayPath, IReadOnlyDictionary<string, long>? engine, IReadOnlyDictionary<string, long>? kernel, string? whyNot)
    {
        if (engine is null || kernel is null)
        {
            var why = whyNot ?? (kernel is null ? "it did not pass on the kernel" : "it did not pass on the engine");
            _notCompared.Add($"{displayPath} ({why})");
            return [$"counters: not compared ({why})"];
        }
        var differences = MibDelta.Compare(engine, kernel);
        _compared++;
        if (differences.Count == 0) _agreed++;
        foreach (var d in differences)
            _differing[d.Name] = (_differing.GetValueOrDefault(d.Name).Files + 1, d.Modelled);
        foreach (var (name, value) in kernel)
            if (value != 0 && engine.GetValueOrDefault(name) == value) _agreedMoving[name] = _agreedMoving.GetValueOrDefault(name) + 1;
        return Lines(differences);
    }

    /// <summary>
    /// The summary: how many files were compared and agreed, per counter the number of files it differed in, and the
    /// counters that moved on the kernel and agreed (with their number of files: what the comparison covered).
    /// </summary>
    public IEnumerable<string> Summary()
    {
        yield return string.Create(CultureInfo.InvariantCulture,
            $"counters: {_compared} files compared, {_agreed} agree; {_notCompared.Count} not compared");
        foreach (var file in _notCompared) yield return $"  not compared: {file}";
        foreach (var modelled in new[] { true, false })
        {
            var rows = _differing.Where(kv => kv.Value.Modelled == modelled).ToList();
            if (rows.Count == 0) continue;
            yield return modelled ? "  kept by the engine, differing (files):" : "  not kept by the engine, moved on the kernel (files):";
            foreach (var (name, (files, _)) in rows) yield return string.Create(CultureInfo.InvariantCulture, $"    {name,-34} {files}");
        }
        if (_agreedMoving.Count == 0) yield break;
        yield return "  moved on the kernel, the same on the engine (files):";
        foreach (var row in _agreedMoving.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value}")).Chunk(6))
            yield return "    " + string.Join(", ", row);
    }
}
