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
