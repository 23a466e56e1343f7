using SimService.Domain.Network;

namespace SimService.Domain.Scenarios;

/// <summary>Setup: hosts with their sysctls in document order, then links.</summary>
public sealed partial class ScenarioRunner
{
    /// <summary>Builds the world; false (with errors) when something cannot be built, and then nothing runs.</summary>
    bool SetUp()
    {
        foreach (var nat in _doc.Nats)
        {
            var added = _sim.AddNat(nat.Name, new IPv4(nat.Address));
            if (!added.IsOk) Error(JsonPath.Member("$.nats", nat.Name), added.Error!.Message);
        }
        foreach (var host in _doc.Hosts) AddHost(host);
        for (int i = 0; i < _doc.Links.Length; i++)
        {
            var link = _doc.Links[i];
            var added = _sim.AddLink(link.A, link.B, link.Delay, link.Loss);
            if (!added.IsOk) Error(JsonPath.Item("$.links", i), added.Error!.Message);
        }
        return _errors.Count == 0;
    }

    void AddHost(ScenarioHost host)
    {
        var kind = host.Kind == ScenarioHostKind.Scripted ? HostKind.Scripted : HostKind.Linux;
        var added = _sim.AddHost(host.Name, new IPv4(host.Address), kind);
        if (!added.IsOk)
        {
            Error(HostPath(host.Name), added.Error!.Message);
            return;
        }
        var sysctls = JsonPath.Member(HostPath(host.Name), "sysctls");
        foreach (var setting in host.Sysctls)
            Report(JsonPath.Member(sysctls, setting.Name), _sim.SetSysctl(host.Name, setting.Name, setting.Text));
        if (host.BehindNat is not null)
            Report(JsonPath.Member(HostPath(host.Name), "behindNat"), _sim.PlaceBehindNat(host.Name, host.BehindNat));
    }

    static string HostPath(string name) => JsonPath.Member("$.hosts", name);
}
