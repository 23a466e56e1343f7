using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SimService.Domain.Time;

namespace SimService.Cli.Fuzz;

/// <summary>
/// What <see cref="FuzzCase.Calibrate"/> writes into a case beyond call results and sockstats, from the engine's run: the
/// value a getsockopt read, how long a timed call blocked (as a range), and for an expect step's
/// <c>"sockets": [{ "socket": alias }, …]</c> each alias's rows — state, <c>timer</c> and <c>timerLeft</c> — as the
/// <see cref="ObserveFuzzCase"/> profile draws them. The ranges are wide enough for the runner (a step a few ms late, an
/// RTT a little longer over the user-space link, its backoffs) and narrow enough for a rule: a timer of another length.
/// </summary>
static partial class FuzzLooks
{
    /// <summary>TCP_INFO's fields compared: its state, counts and negotiated sizes — not the RTT estimator's, nor times, nor the TUN device's windows.</summary>
    public static readonly string[] TcpInfoFields =
    [
        "state", "ca_state", "retransmits", "probes", "backoff", "options", "snd_wscale", "rcv_wscale", "snd_mss", "rcv_mss",
        "unacked", "sacked", "lost", "retrans", "total_retrans", "notsent_bytes",
    ];

    /// <summary>
    /// SO_MEMINFO's fields compared (since session 32): what the sender queues, the option memory, the backlog,
    /// <c>sk_drops</c> and (since session 37, the engine's receive skbs the TUN device's since D125) the receive queues'
    /// memory <c>rmem_alloc</c> — not <c>fwd_alloc</c> (the per-socket reserve, kept by <c>sk_mem_reclaim()</c>'s rounding),
    /// nor the buffers' sizes (<c>rcvbuf</c>, which autotuning grows at the reader's RTT, and <c>sndbuf</c>, read as
    /// SO_SNDBUF), nor <c>wmem_alloc</c> (0 on both: lo and TUN orphan each skb).
    /// </summary>
    public static readonly string[] MeminfoFields = ["rmem_alloc", "wmem_queued", "optmem", "backlog", "drops"];

    /// <summary>The slack of a written time: 16 ms (four jiffies) and 3 % of it.</summary>
    static long Slack(long ns) => 16_000_000 + ns * 3 / 100;

    /// <summary>Each look's entry made a check the engine's run describes (its rows are in the check's actual text).</summary>
    public static void Probe(JsonArray looks)
    {
        foreach (var look in looks.OfType<JsonObject>()) look["state"] = "CLOSED";
    }

    /// <summary>
    /// The checks written for the looks: per alias one entry per state its rows are in (with <c>count</c> when the alias has
    /// several rows — an open descriptor's CLOSED socket beside its TIME-WAIT entry), the timer and, for a lone row, the
    /// time left. An alias the engine could not resolve is left out.
    /// </summary>
    public static JsonArray Written(JsonArray looks, Func<int, string?> actualOf)
    {
        var written = new JsonArray();
        for (int i = 0; i < looks.Count; i++)
        {
            string alias = looks[i]!["socket"]!.GetValue<string>();
            if (actualOf(i) is not { } actual) continue;
            if (actual == "no socket (CLOSED)")
            {
                written.Add(new JsonObject { ["socket"] = alias, ["state"] = "CLOSED" });
                continue;
            }
            var rows = RowText().Matches(actual).Select(m => (State: m.Groups[1].Value, Timer: m.Groups[2].Value, Left: m.Groups[3].Value)).ToList();
            if (rows.Count == 0 || actual.Contains(" more", StringComparison.Ordinal)) continue;
            foreach (var group in rows.GroupBy(r => r.State))
            {
                var check = new JsonObject { ["socket"] = alias, ["state"] = group.Key };
                if (rows.Count > 1) check["count"] = group.Count();
                if (group.Select(r => r.Timer).Distinct().Count() == 1) check["timer"] = group.First().Timer;
                if (group.Count() == 1 && group.First().Timer != "off" && SimDuration.TryParse(group.First().Left, out var left))
                    check["timerLeft"] = Range(left.Ns);
                written.Add(check);
            }
        }
        return written;
    }

    /// <summary>
    /// A getsockopt's value as the engine read it (TCP_INFO cut to <see cref="TcpInfoFields"/>, SO_MEMINFO to
    /// <see cref="MeminfoFields"/>); null when there is none.
    /// </summary>
    public static JsonNode? Value(JsonObject step, string read)
    {
        JsonNode? value;
        try { value = JsonNode.Parse(read); }
        catch (System.Text.Json.JsonException) { return null; }
        if (value is not JsonObject info) return value;
        string[]? fields = step["option"]?.GetValue<string>() switch
        {
            "TCP_INFO" => TcpInfoFields,
            "SO_MEMINFO" => MeminfoFields,
            _ => null,
        };
        return fields is null ? value
            : new JsonObject(fields.Where(info.ContainsKey).Select(f => KeyValuePair.Create<string, JsonNode?>(f, info[f]?.DeepClone())));
    }

    /// <summary>"returned after 1.2s" as a range of its slack; null for a call that did not return.</summary>
    public static string? ReturnsAfter(string actual) =>
        actual.StartsWith("returned after ", StringComparison.Ordinal) && SimDuration.TryParse(actual["returned after ".Length..], out var d) ? Range(d.Ns) : null;

    static string Range(long ns) => $"{Ms(Math.Max(0, ns - Slack(ns)))}..{Ms(ns + Slack(ns))}";

    static string Ms(long ns) => $"{(ns / 1_000_000).ToString(CultureInfo.InvariantCulture)}ms";

    /// <summary>One row as the engine's socket check describes it: "FIN-WAIT-2 10.0.0.1:40000->10.0.0.2:80 timer=on left=1.2s".</summary>
    [GeneratedRegex(@"(?:^|, )(\S+) \S+->\S+ timer=(\S+?)(?: left=(\S+?))?(?=, |$)")]
    private static partial Regex RowText();
}
