using System.Globalization;
using System.Net;
using System.Text;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Outputs;
using SimService.Persistence.Serialization;

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
<p>{{Esc($"Kernel profile {engine.Profile.ToWireName()}, seed {engine.Seed}; virtual time now {engine.Now} ({engine.Now.Ns} ns); {engine.Hosts.Count} hosts; {engine.Journal.Count} journal events.")}}</p>
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
<img id="timeseries" data-src="{{api}}/timeseries.svg" alt="sockets over virtual time per host">

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

        // Each event in the journal's own words (JournalText: kernel state names, tcpdump flags and options), typed as the API types it.
        sb.Append("<h2>Journal</h2>\n<div class=\"journal\"><table id=\"journal\"><tr><th>seq</th><th>time</th><th>type</th><th>event</th></tr>\n");
        foreach (var e in engine.Journal.Take(JournalRows))
            sb.Append(CultureInfo.InvariantCulture, $"""<tr class="event" data-seq="{e.Seq}"><td>{e.Seq}</td><td>{LadderDiagram.Seconds(e.At.Ns)}</td><td>{EventTypeMap.DiscriminatorOf(e)}</td><td>{Esc(JournalText.Describe(e))}</td></tr>""").Append('\n');
        sb.Append("</table></div>\n");
        if (engine.Journal.Count > JournalRows)
            sb.Append(CultureInfo.InvariantCulture, $"""<p>First {JournalRows} of {engine.Journal.Count} events; the rest: <a href="{api}/journal">journal (JSON, paged)</a>.</p>""");

        sb.Append($$"""
<script>
const api = "{{api}}";
// With API keys on, the key the prompt page took (KeyPrompt) is in this tab's sessionStorage: every request of the
// page sends it as a header; images and links are fetched with it and shown from blob URLs.
const key = sessionStorage.getItem("{{KeyStorageName}}");
const auth = key ? { "X-Api-Key": key } : {};
async function blobUrl(url) { const r = await fetch(url, { headers: auth }); return URL.createObjectURL(await r.blob()); }
const chart = document.getElementById("timeseries");
if (key) blobUrl(chart.dataset.src).then(u => { chart.src = u; }); else chart.src = chart.dataset.src;
if (key) for (const link of document.querySelectorAll(`nav a[href^="${api}"]`)) link.addEventListener("click", async e => {
  e.preventDefault();
  const a = document.createElement("a"); a.href = await blobUrl(link.getAttribute("href")); a.download = link.textContent.replaceAll(" ", "-");
  a.click();
});
const slider = document.getElementById("at"), field = document.getElementById("atNs");
const tables = document.getElementById("socket-tables"), label = document.getElementById("at-label");
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
async function show(atNs) {
  const response = await fetch(`${api}/socket-table?atNs=${atNs}`, { headers: auth });
  const table = await response.json();
  if (!response.ok) { label.textContent = table.detail ?? `${response.status}`; return; }
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

    /// <summary>Where the page keeps the API key a user typed (the browser tab's sessionStorage).</summary>
    public const string KeyStorageName = "simservice-api-key";

    /// <summary>
    /// What a browser gets for the page while API keys are on and it sent none (with the 401): a form that takes the key
    /// once, keeps it in the tab's sessionStorage (gone when the tab closes, never in a cookie, so no other site's
    /// form or link can use it), and loads the page again sending it as the <c>X-Api-Key</c> header. It holds nothing of
    /// any simulation, not even whether it exists: the key decides, as for every other request.
    /// </summary>
    public static string KeyPrompt() => $$"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>API key needed — SimService</title>
<style>body { font-family: sans-serif; margin: 16px; color: #222; } input { font-family: monospace; }</style>
</head>
<body>
<h1>This page needs an API key</h1>
<p>API keys are on for this service. Enter yours once: this browser tab keeps it (sessionStorage, until the tab is closed) and sends it
as the <code>X-Api-Key</code> header with the page's requests.</p>
<form id="key-form"><input type="password" id="key" name="key" autocomplete="off" size="72" placeholder="ssk_…"> <button type="submit">Open</button></form>
<p id="message" role="alert"></p>
<script>
const storageName = "{{KeyStorageName}}";
async function openWith(key) {
  const response = await fetch(location.href, { headers: { "X-Api-Key": key, "Accept": "text/html" } });
  if (!response.ok) {
    sessionStorage.removeItem(storageName);
    document.getElementById("message").textContent = response.status === 401
      ? "This key was refused (unknown or revoked)." : `The page could not be opened (${response.status}).`;
    return;
  }
  sessionStorage.setItem(storageName, key);
  const html = await response.text();
  document.open(); document.write(html); document.close();
}
document.getElementById("key-form").addEventListener("submit", e => { e.preventDefault(); openWith(document.getElementById("key").value.trim()); });
const saved = sessionStorage.getItem(storageName);
if (saved) openWith(saved);
</script>
</body>
</html>
""";

    static string Esc(string text) => WebUtility.HtmlEncode(text);
}
