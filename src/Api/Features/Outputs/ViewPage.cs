using System.Globalization;
using System.Net;
using System.Text;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Outputs;

namespace SimService.Api.Features.Outputs;

/// <summary>
/// The page of one simulation: plain HTML with a little script and no build step. The ladder
/// diagram inline, the socket table of every host at a chosen virtual time (a slider and a time
/// field; the server replays to that time, GET …/socket-table?atNs=), the time series chart, the
/// counters and the journal.
/// </summary>
public static class ViewPage
{
    const int JournalRows = 2000;

    public static string Render(Guid id, Simulation engine, string diagramSvg)
    {
        string api = $"/api/v1/simulations/{id}";
        var sb = new StringBuilder();
        sb.Append($$"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Simulation {{id}} — SimService</title>
<style>
body { font-family: sans-serif; margin: 16px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; font-family: monospace; font-size: 12px; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
.diagram { overflow: auto; max-height: 720px; border: 1px solid #ccc; }
.journal { overflow: auto; max-height: 420px; border: 1px solid #ccc; }
.controls { display: flex; gap: 12px; align-items: center; }
#at { width: 640px; }
.host-ss h3 { font-size: 14px; margin: 12px 0 4px; }
nav a { margin-right: 12px; }
</style>
</head>
<body>
<h1>Simulation {{id}}</h1>
<p>{{Esc($"Kernel profile {engine.Profile}, seed {engine.Seed}; virtual time now {engine.Now} ({engine.Now.Ns} ns); {engine.Hosts.Count} hosts; {engine.Journal.Count} journal events.")}}</p>
<nav>
<a href="{{api}}">resource (JSON)</a>
<a href="{{api}}/diagram.svg">diagram.svg</a>
<a href="{{api}}/timeseries">timeseries (JSON)</a>
<a href="{{api}}/timeseries.svg">timeseries.svg</a>
<a href="{{api}}/pcap">pcapng (all)</a>
{{string.Concat(engine.Hosts.Select(h => $"""<a href="{api}/pcap?host={Uri.EscapeDataString(h.Name)}">{Esc(h.Name)}.pcap</a> <a href="{api}/hosts/{Uri.EscapeDataString(h.Name)}/procfs.tar">{Esc(h.Name)} procfs.tar</a> """))}}
<a href="{{api}}/journal">journal (JSON)</a>
<a href="/swagger">API</a>
</nav>

<h2>Ladder diagram</h2>
<div class="diagram" id="diagram">
{{diagramSvg}}
</div>

<h2>Sockets at a virtual time</h2>
<div class="controls">
<input type="range" id="at" min="0" max="{{engine.Now.Ns}}" step="{{Math.Max(1, engine.Now.Ns / 1000)}}" value="{{engine.Now.Ns}}">
<label>at <input type="number" id="atNs" min="0" max="{{engine.Now.Ns}}" value="{{engine.Now.Ns}}"> ns</label>
<span id="at-label"></span>
</div>
<div id="socket-tables"></div>

<h2>Time series</h2>
<img id="timeseries" src="{{api}}/timeseries.svg" alt="sockets over virtual time per host">

<h2>Counters (now)</h2>
""");
        foreach (var host in engine.Hosts)
        {
            sb.Append(CultureInfo.InvariantCulture, $"""<h3>{Esc(host.Name)}</h3><table class="counters" data-host="{Esc(host.Name)}"><tr><th>counter</th><th>value</th></tr>""");
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>sockstat TCP</td><td>inuse {host.InUse} orphan {host.OrphanCount} tw {host.TimeWaitCount} alloc {host.Allocated} mem {host.TcpMemPages}</td></tr>");
            foreach (var c in Enum.GetValues<MibCounter>().Where(c => host.Mib[c] != 0))
                sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{Mib.Group(c)}.{Mib.Name(c)}</td><td>{host.Mib[c]}</td></tr>");
            sb.Append("</table>\n");
        }

        sb.Append("<h2>Journal</h2>\n<div class=\"journal\"><table id=\"journal\"><tr><th>seq</th><th>time</th><th>event</th></tr>\n");
        foreach (var e in engine.Journal.Take(JournalRows))
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{e.Seq}</td><td>{LadderDiagram.Seconds(e.At.Ns)}</td><td>{Esc(e.ToString())}</td></tr>\n");
        sb.Append("</table></div>\n");
        if (engine.Journal.Count > JournalRows)
            sb.Append(CultureInfo.InvariantCulture, $"""<p>First {JournalRows} of {engine.Journal.Count} events; the rest: <a href="{api}/journal">journal (JSON, paged)</a>.</p>""");

        sb.Append($$"""
<script>
const api = "{{api}}";
const slider = document.getElementById("at"), field = document.getElementById("atNs");
const tables = document.getElementById("socket-tables"), label = document.getElementById("at-label");
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
async function show(atNs) {
  const response = await fetch(`${api}/socket-table?atNs=${atNs}`);
  const table = await response.json();
  label.textContent = `${(table.atNs / 1e9).toFixed(6)} s`;
  tables.replaceChildren(...table.hosts.map(h => {
    const div = document.createElement("div"); div.className = "host-ss"; div.dataset.host = h.host;
    const title = document.createElement("h3"); title.textContent = `${h.host} — ss -tan at ${(table.atNs / 1e9).toFixed(6)} s`;
    const t = document.createElement("table"); t.className = "ss"; t.dataset.host = h.host; t.dataset.atNs = table.atNs;
    const head = document.createElement("tr");
    ["State", "Recv-Q", "Send-Q", "Local", "Peer", "Timer", "Orphan"].forEach(n => { const th = document.createElement("th"); th.textContent = n; head.append(th); });
    t.append(head);
    for (const r of h.items) {
      const tr = document.createElement("tr"); tr.className = "socket"; tr.dataset.state = r.state;
      tr.append(cell(r.state), cell(r.recvQ), cell(r.sendQ), cell(r.local), cell(r.remote),
        cell(r.timer ? `${r.timer.name},${(r.timer.leftNs / 1e9).toFixed(3)}s,${r.timer.count}` : ""), cell(r.orphan ? "orphan" : ""));
      t.append(tr);
    }
    div.append(title, t);
    return div;
  }));
  tables.dataset.atNs = table.atNs;
}
slider.addEventListener("input", () => { field.value = slider.value; show(slider.value); });
field.addEventListener("change", () => { slider.value = field.value; show(field.value); });
show(slider.value);
</script>
</body>
</html>
""");
        return sb.ToString();
    }

    static string Esc(string text) => WebUtility.HtmlEncode(text);
}
