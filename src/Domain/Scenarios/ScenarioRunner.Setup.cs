using SimService.Domain.Commands;
using SimService.Domain.Network;

namespace SimService.Domain.Scenarios;

/// <summary>Setup: hosts with their sysctls in document order, then links.</summary>
public sealed partial class ScenarioRunner
{
    /// <summary>Builds the world; false (with errors) when something cannot be built, and then nothing runs.</summary>
    bool SetUp()
    {
        if (_doc.Hosts.Length > _maxHosts) return HostsPastLimit("$.hosts", _doc.Hosts.Length);
        foreach (var nat in _doc.Nats)
            Report(JsonPath.Member("$.nats", nat.Name), Apply(new AddNatCommand(nat.Name, new IPv4(nat.Address).ToString())).Error);
        foreach (var host in _doc.Hosts) AddHost(host);
        for (int i = 0; i < _doc.Links.Length; i++)
        {
            var link = _doc.Links[i];
            Report(JsonPath.Item("$.links", i), Apply(new AddLinkCommand(link.A, link.B, link.Delay, link.Loss, link.LossBySegment)).Error);
        }
        return _errors.Count == 0;
    }

    void AddHost(ScenarioHost host)
    {
        var kind = host.Kind == ScenarioHostKind.Scripted ? HostKind.Scripted : HostKind.Linux;
        var added = Apply(new AddHostCommand(host.Name, new IPv4(host.Address).ToString(), kind, [], host.BehindNat,
            host.Addresses is { } more ? [.. more.Select(a => new IPv4(a).ToString())] : null));
        if (!added.IsOk)
        {
            Error(HostPath(host.Name), added.Error!.Message);
            return;
        }
        var sysctls = JsonPath.Member(HostPath(host.Name), "sysctls");
        foreach (var setting in host.Sysctls)
            Report(JsonPath.Member(sysctls, setting.Name), Apply(new SetSysctlCommand(host.Name, setting.Name, setting.Text)).Error);
    }

    /// <summary>The run would make <paramref name="hosts"/> hosts, past <see cref="ScenarioRunOptions.MaxHosts"/>: it stops at <paramref name="path"/>.</summary>
    bool HostsPastLimit(string path, long hosts)
    {
        Error(path, $"A run may have {_maxHosts} hosts; this would make {hosts}: the run stopped there, before it made them");
        return false;
    }

    static string HostPath(string name) => JsonPath.Member("$.hosts", name);
}
