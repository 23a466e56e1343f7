using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>The view page in a real browser: Debian's chromium (installed by .ci/run) driven by Playwright, against the API on a real port.</summary>
public sealed class ViewPageBrowserTests
{
    [Fact]
    public async Task OrderlyClose_ViewInChromium_ArrowPerSegmentLanePerHostAndTheTimeControlMovesTheSocketTable()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database);
        factory.UseKestrel(0);
        factory.StartServer();
        using var client = factory.CreateClient();
        var sim = await Stories.OrderlyCloseAsync(client);
        var segments = (await sim.JournalAsync("&type=segment-sent")).Count;
        var view = (await client.GetFromJsonAsync<JsonElement>(sim.Base)).GetProperty("links").GetProperty("view").GetString()!;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        await page.GotoAsync(new Uri(client.BaseAddress!, view).ToString());
        await page.WaitForSelectorAsync("table.ss[data-host=client]");

        Assert.Equal(segments, await page.Locator("svg.ladder g.segment").CountAsync());
        Assert.Equal(["client", "server"], await page.Locator("svg.ladder g.lane").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.host)"));
        var shot = await page.ScreenshotAsync();
        Assert.True(shot.Length > 30_000, $"screenshot of {shot.Length} bytes");
        var area = await page.EvaluateAsync<int>("() => { const b = document.querySelector('svg.ladder').getBoundingClientRect(); return Math.round(b.width * b.height); }");
        Assert.True(area > 100_000, $"the diagram covers {area} px²");
        Assert.True(await page.EvaluateAsync<bool>("() => document.querySelector('#timeseries').naturalWidth > 0"), "the chart image loaded");

        // The journal table in the API's words (JournalText): kernel state names, tcpdump flags and options, kebab timer names —
        // each row checked against the same event of GET …/journal, never the record's C# text.
        var journal = (await client.GetFromJsonAsync<JsonElement>($"{sim.Base}/journal?limit=5000")).GetProperty("items").EnumerateArray().ToList();
        async Task<string> RowText(JsonElement e) =>
            await page.Locator($"table#journal tr.event[data-seq='{e.GetProperty("seq").GetInt64()}'] td").Last.InnerTextAsync();
        async Task<string> RowType(JsonElement e) =>
            await page.Locator($"table#journal tr.event[data-seq='{e.GetProperty("seq").GetInt64()}'] td").Nth(2).InnerTextAsync();
        var listen = journal.First(e => e.GetProperty("type").GetString() == "state-changed").GetProperty("data");
        Assert.Equal("CLOSED", listen.GetProperty("from").GetString());
        Assert.Equal($"server socket {listen.GetProperty("socketId").GetInt32()}: CLOSED → LISTEN ({listen.GetProperty("cause").GetString()})",
            await RowText(journal.First(e => e.GetProperty("type").GetString() == "state-changed")));
        var synAckEvent = journal.First(e => e.GetProperty("type").GetString() == "segment-sent" && e.GetProperty("data").GetProperty("flags").GetString() == "S.");
        var synAck = synAckEvent.GetProperty("data");
        var o = synAck.GetProperty("options");
        Assert.Equal($"server 10.0.0.2.80 > {synAck.GetProperty("tuple").GetProperty("remote").GetString()!.Replace(':', '.')}: Flags [S.], "
            + $"seq {synAck.GetProperty("seqNo").GetUInt32()}, ack {synAck.GetProperty("ackNo").GetUInt32()}, length 0, win {synAck.GetProperty("win").GetInt32()}, "
            + $"options [mss 1460,sackOK,TS val {o.GetProperty("tsVal").GetUInt32()} ecr {o.GetProperty("tsEcr").GetUInt32()},wscale {o.GetProperty("windowScale").GetInt32()}] (tcp_conn_request) → client",
            await RowText(synAckEvent));
        Assert.Equal("segment-sent", await RowType(synAckEvent));
        var timeWait = journal.Last(e => e.GetProperty("type").GetString() == "timer-armed" && e.GetProperty("data").GetProperty("timer").GetString() == "time-wait");
        Assert.Equal($"client socket {pair(timeWait)}: timer time-wait armed, runs at 62.432s", await RowText(timeWait));
        static int pair(JsonElement e) => e.GetProperty("data").GetProperty("socketId").GetInt32();
        var texts = await page.Locator("table#journal tr.event td:last-child").AllInnerTextsAsync();
        Assert.Equal(journal.Count, texts.Count);
        Assert.DoesNotContain(texts, t => t.Contains("{ At =", StringComparison.Ordinal) || t.Contains("TcpOptions", StringComparison.Ordinal));

        async Task<string[]> ClientStatesAfter(Func<Task> move, string expectedAtNs)
        {
            await move();
            await page.WaitForFunctionAsync($"document.getElementById('socket-tables').dataset.atNs === '{expectedAtNs}'");
            return await page.Locator("table.ss[data-host=client] tr.socket").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.state)");
        }

        Assert.Equal(["FIN-WAIT-2"], await ClientStatesAfter(async () =>
        {
            await page.Locator("#atNs").FillAsync("399000000");
            await page.Locator("#atNs").DispatchEventAsync("change");
        }, "399000000"));
        var step = await page.Locator("#at").GetAttributeAsync("step");
        var oneSecond = (1_000_000_000 / long.Parse(step!) * long.Parse(step!)).ToString();
        Assert.Equal(["TIME-WAIT"], await ClientStatesAfter(() => page.Locator("#at").EvaluateAsync(
            $"el => {{ el.value = '{oneSecond}'; el.dispatchEvent(new Event('input')); }}"), oneSecond));
        Assert.Empty(await ClientStatesAfter(() => page.Locator("#at").EvaluateAsync(
            "el => { el.value = el.max; el.dispatchEvent(new Event('input')); }"), "63000000000"));
    }

    [Fact]
    public async Task KeysOn_ViewInChromium_PromptTakesTheKeyOnceThenThePageAndItsRequestsSendIt()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database);
        factory.UseKestrel(0);
        factory.StartServer();
        var (_, key) = await factory.CreateKeyAsync("acme");
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        var sim = await Stories.OrderlyCloseAsync(client);
        var view = new Uri(client.BaseAddress!, (await client.GetFromJsonAsync<JsonElement>(sim.Base)).GetProperty("links").GetProperty("view").GetString()!);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync();
        var prompt = await page.GotoAsync(view.ToString());
        Assert.Equal(401, prompt!.Status);
        await page.Locator("#key").FillAsync("ssk_0000000000000000_wrong");
        await page.Locator("#key-form button").ClickAsync();
        await page.WaitForFunctionAsync("document.getElementById('message').textContent.includes('refused')");

        await page.Locator("#key").FillAsync(key);
        await page.Locator("#key-form button").ClickAsync();
        await page.WaitForSelectorAsync("table.ss[data-host=client]"); // the page, and its socket-table request with the key
        await page.WaitForFunctionAsync("document.querySelector('#timeseries').naturalWidth > 0"); // the chart, fetched with the key
        await page.Locator("#atNs").FillAsync("399000000");
        await page.Locator("#atNs").DispatchEventAsync("change");
        await page.WaitForFunctionAsync("document.getElementById('socket-tables').dataset.atNs === '399000000'");
        Assert.Equal(["FIN-WAIT-2"], await page.Locator("table.ss[data-host=client] tr.socket").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.state)"));

        await page.ReloadAsync(); // the tab kept the key: no second prompt
        await page.WaitForSelectorAsync("table.ss[data-host=client]");
        var other = await browser.NewPageAsync(); // another browser context keeps nothing
        await other.GotoAsync(view.ToString());
        await other.WaitForSelectorAsync("#key-form");
    }

    /// <summary>Debian's chromium, headless, quiet (no background traffic).</summary>
    private static Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic"],
    });
}
