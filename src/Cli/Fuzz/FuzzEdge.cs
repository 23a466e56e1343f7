using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SimService.Cli.Files;
using SimService.Cli.Kernel;
using SimService.Cli.Running;

namespace SimService.Cli.Fuzz;

/// <summary>
/// The EDGE verdict of <c>simservice fuzz</c>: a difference that the engine itself shows when its links are a fraction of
/// a millisecond slower, as the kernel runner's user-space link emulator is (each hop through the TUN devices and the
/// emulator adds ~0.1–0.4 ms, so the kernel's RTT over a "1 ms" link is ~2.1–2.5 ms, not 2.000). Where the engine's
/// exact times sit just under an edge of a kernel rule — a jiffy boundary (a delayed-ACK timer "about to expire" in
/// <c>tcp_send_delayed_ack()</c>), the <c>tcp_min_rtt() &gt;&gt; tcp_tso_rtt_log</c> step of <c>tcp_tso_autosize()</c>
/// at 2048 µs — the kernel's slightly later segments fall on the other side in every run. The runner's steps begin
/// late too (a connect() 0.4–0.9 ms after its time), which moves everything they start against the jiffy grid: a
/// handshake completed at 24.9 ms, not 23 ms, arms a 1 s keepalive timer one jiffy later, and the timer wheel's
/// level-1 rounding (8 jiffies) puts it 32 ms later. Such a case is re-judged against the engine run with each
/// <see cref="Shifts"/> applied (links longer, then steps later as well); when for every run a shift makes every
/// persistent difference go away, the difference is the runner's latency, not a rule: listed, not believed.
/// </summary>
internal static partial class FuzzEdge
{
    /// <summary>
    /// The one-way delays added to the engine's links (the runner's per-hop latency on this machine, smallest first), then
    /// those with every step begun later as well (the runner's late steps).
    /// </summary>
    public static readonly (double LinkMs, double StepMs)[] Shifts = [(0.1, 0), (0.2, 0), (0.3, 0), (0.4, 0), (0.2, 0.5), (0.2, 1.0)];

    /// <summary>
    /// For each of <paramref name="runs"/> (the kernel's outcome and checks of each run), the smallest shift (ms) with which
    /// none of <paramref name="persistent"/> is left in it, compared with the engine run on the case with longer links; or
    /// null: no shift explains some run, or the case has no link delay to lengthen. Each run has a shift of its own: the
    /// emulator's latency is the run's (timers seed 58, case 0: the TSO chunks of a 1 ms link, whose kernel min_rtt was
    /// just past 2048 µs, were the engine's with links 0.1 ms longer in one run and not with one shift for all three).
    /// A failed call-result or sockstat check is the calibrated document's and stays, so a case with one is never EDGE.
    /// What a shift leaves may be a late timer chain (<see cref="FuzzRun.LateOnly"/>): a case can have both — fuzz case
    /// 28-8, two connections' TSO chunks at the RTT edge (the engine's with links 0.3 ms longer) and a third's FIN
    /// retransmissions a wheel bucket later.
    /// </summary>
    public static IReadOnlyList<(double LinkMs, double StepMs)>? Explaining(string caseJson, IReadOnlyList<(RunOutcome Kernel, FileResult Result)> runs,
        IReadOnlySet<string> persistent, Func<string, string> describeStep)
    {
        if (runs.Count == 0 || persistent.Count == 0) return null;
        var engines = new RunOutcome?[Shifts.Length];
        var found = new List<(double LinkMs, double StepMs)>();
        foreach (var (kernel, result) in runs)
        {
            int i = 0;
            for (; i < Shifts.Length; i++)
            {
                if (engines[i] is null)
                {
                    if (Lengthened(caseJson, Shifts[i].LinkMs, Shifts[i].StepMs) is not { } json) return null;
                    ScenarioJsonFormat.Parse(json, out var document);
                    if (document is null) return null;
                    engines[i] = RunOutcome.OfEngine(document);
                }
                var left = FuzzRun.Of(OutcomeDiff.Compare(engines[i]!, kernel, KernelScenarioRunner.Tolerance.Ns), result, describeStep).Keys
                    .Where(persistent.Contains).ToHashSet(StringComparer.Ordinal);
                if (left.Count == 0 || FuzzRun.LateOnly(left)) break;
            }
            if (i == Shifts.Length) return null;
            found.Add(Shifts[i]);
        }
        return found;
    }

    /// <summary>
    /// The case with every link's one-way delay (and every delay a link step sets) <paramref name="shiftMs"/> longer and
    /// every step <paramref name="stepMs"/> later; null when no link has a delay written in ms or µs.
    /// </summary>
    public static string? Lengthened(string caseJson, double shiftMs, double stepMs = 0)
    {
        var doc = JsonNode.Parse(caseJson)!.AsObject();
        bool any = false;
        foreach (var link in doc["links"]?.AsArray().OfType<JsonObject>() ?? [])
            any |= Add(link, "delay", shiftMs);
        foreach (var step in doc["steps"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            if (step["link"] is JsonObject change) Add(change, "delay", shiftMs); // a direction's own delay (--profile loss)
            if (stepMs > 0) Add(step, "at", stepMs);
        }
        return any ? FuzzCase.Text(doc) : null;
    }

    /// <summary><paramref name="node"/>'s duration <paramref name="name"/> (written in ms or µs) made <paramref name="ms"/> longer.</summary>
    static bool Add(JsonObject node, string name, double ms)
    {
        if (node[name]?.GetValue<string>() is not { } text || DelayText().Match(text) is not { Success: true } m) return false;
        double us = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * (m.Groups[2].Value == "ms" ? 1000 : 1);
        node[name] = $"{Math.Round(us + ms * 1000).ToString(CultureInfo.InvariantCulture)}us";
        return true;
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|us)$")]
    private static partial Regex DelayText();
}
