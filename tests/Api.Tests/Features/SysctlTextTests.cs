using System.Net;
using System.Text.Json;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// `PATCH …/hosts/{host}/sysctls` reads a value as the kernel reads the text `sysctl -w` writes (proc_get_long(): hex,
/// octal, leading white space, what follows a vector's last number not read) and answers with what the kernel then holds;
/// the unsigned long sysctls take JSON integers up to 2^64 − 1. A text the kernel refuses is a 400 naming the value, and
/// nothing of the request is written.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class SysctlTextTests(ApiHosts hosts)
{
    [Fact]
    public async Task Patch_KernelText_StoredAsTheKernelStoresIt()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "sysctl text");

        var written = await sim.ReadAsync<JsonElement>(await sim.PatchAsync("hosts/client/sysctls",
            """{"net.ipv4.tcp_fin_timeout":"0x10","net.ipv4.tcp_max_tw_buckets":" -010","net.ipv4.ip_local_port_range":"0x9c40 0x9c49 5","net.ipv4.tcp_rmem":"8192","net.ipv4.tcp_comp_sack_delay_ns":18446744073709551615}"""),
            HttpStatusCode.OK);
        var values = written.GetProperty("values");
        Assert.Equal(("16", "-8", "40000\t40009", "8192\t131072\t33554432", "18446744073709551615"),
            (values.GetProperty("net.ipv4.tcp_fin_timeout").GetString(), values.GetProperty("net.ipv4.tcp_max_tw_buckets").GetString(),
             values.GetProperty("net.ipv4.ip_local_port_range").GetString(), values.GetProperty("net.ipv4.tcp_rmem").GetString(),
             values.GetProperty("net.ipv4.tcp_comp_sack_delay_ns").GetString()));
        long version = await sim.VersionAsync();

        var plus = await (await sim.PatchAsync("hosts/client/sysctls", """{"net.ipv4.tcp_tw_reuse":1,"net.ipv4.tcp_fin_timeout":"+30"}"""))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["net.ipv4.tcp_fin_timeout: '+30' is not an integer"],
            plus.GetProperty("errors").GetProperty("net.ipv4.tcp_fin_timeout").EnumerateArray().Select(e => e.GetString()));
        var octal = await (await sim.PatchAsync("hosts/client/sysctls", """{"net.ipv4.tcp_fin_timeout":"08"}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["net.ipv4.tcp_fin_timeout: '08' is not an integer"],
            octal.GetProperty("errors").GetProperty("net.ipv4.tcp_fin_timeout").EnumerateArray().Select(e => e.GetString()));
        var past = await (await sim.PatchAsync("hosts/client/sysctls", """{"net.ipv4.tcp_comp_sack_slack_ns":18446744073709551616}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(past.GetProperty("errors").TryGetProperty("net.ipv4.tcp_comp_sack_slack_ns", out _), past.ToString());

        Assert.Equal(version, await sim.VersionAsync());
        var host = await sim.GetJsonAsync("hosts/client");
        Assert.Equal(("16", "2"), (host.GetProperty("sysctls").GetProperty("net.ipv4.tcp_fin_timeout").GetString(),
            host.GetProperty("sysctls").GetProperty("net.ipv4.tcp_tw_reuse").GetString()));
    }
}
