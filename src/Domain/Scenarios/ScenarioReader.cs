using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text.Json;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>
/// One pass over a scenario document: the schema's structural rules, then the references the schema
/// leaves to the runner (hosts, NATs, links, aliases, step times, sysctl values as the kernel checks
/// them). Collects every error; never throws on any input — only <see cref="OperationCanceledException"/> once the
/// caller's <c>interruption</c> is cancelled, checked at each item of an array.
/// </summary>
internal sealed partial class ScenarioReader(bool stored = false, CancellationToken interruption = default)
{
    /// <summary>The last instant a step or the run's end may have: the clock's maximum, or (a stored document) none.</summary>
    long ClockEnd => stored ? long.MaxValue : SimTime.MaxClock.Ns;

    static readonly FrozenSet<string> TopFields = Set("name", "description", "kernel", "seed", "hosts", "nats", "links", "steps", "expect", "runUntil", "engineRules");
    static readonly FrozenSet<string> HostFields = Set("address", "addresses", "sysctls", "behindNat", "kind");
    static readonly FrozenSet<string> NatFields = Set("address");
    static readonly FrozenSet<string> LinkFields = Set("between", "delay", "loss", "lossBySegment");

    /// <summary>Null while the kernel field is invalid: then sysctls are checked only structurally.</summary>
    KernelProfile? _profile;
    readonly Dictionary<string, ScenarioHostKind> _hostKinds = new(StringComparer.Ordinal);
    readonly HashSet<string> _natNames = new(StringComparer.Ordinal);
    readonly Dictionary<uint, string> _addressOwners = [];
    readonly Dictionary<string, SysctlTable> _sysctlTables = new(StringComparer.Ordinal);
    readonly List<ScenarioLink> _links = [];
    /// <summary>The pairs <see cref="_links"/> joins (<see cref="ScenarioLink.Pair"/>): a link or a link step finds its pair in O(1),
    /// where a scan of the links read so far made a document of many links quadratic (40,000 links: 94 s of CPU).</summary>
    readonly HashSet<(string, string)> _joined = [];

    public ScenarioParseResult Read(JsonElement root)
    {
        var top = Object(new JsonMember(root, JsonPath.Root), TopFields);
        if (top is null) return ScenarioParseResult.Invalid(Listed());

        var nameMember = Required(top, "name");
        var name = Matching(nameMember, ScenarioSyntax.ScenarioName(), "a scenario name ([a-z0-9-]+)");
        // The simulation's name, as POST /simulations takes it (it was cut to the length silently); a stored one rebuilds as run.
        if (!stored && name is { Length: > ScenarioSyntax.MaxNameLength })
        {
            Error(nameMember!.Value.Path, $"a scenario name is at most {ScenarioSyntax.MaxNameLength} characters (it names the simulation); this one has {name.Length}");
            name = null;
        }
        var description = String(top["description"]);
        _profile = top["kernel"] is { } k ? Kernel(k) : KernelProfile.Linux6;
        // As POST /simulations: a seed is zero or positive (a stored document keeps the seed it was run with).
        long? seed = top["seed"] is { } s ? Integer(s, stored ? long.MinValue : 0, long.MaxValue) : 1;
        var nats = Nats(top["nats"]);
        var hosts = Hosts(Required(top, "hosts"));
        var links = Links(top["links"]);
        var steps = Steps(Required(top, "steps"));
        var expect = top["expect"] is { } e ? FinalExpect(e) : null;
        var runUntil = top["runUntil"] is { } r ? RunUntil(r, steps) : null;
        // The rules the simulation follows (Commands.EngineRules): what an export carries; absent, the current ones.
        int? engineRules = top["engineRules"] is { } rules ? Int32(rules, Commands.EngineRules.Original, Commands.EngineRules.Current) : null;

        if (ErrorCount > 0) return ScenarioParseResult.Invalid(Listed());
        return ScenarioParseResult.Valid(new ScenarioDocument(
            name!, description, _profile!.Value, seed!.Value, hosts, nats, links, steps, expect, runUntil, engineRules));
    }

    /// <summary>
    /// runUntil: the run's end after the last step, which (as an advance to a time past it) may not pass
    /// <see cref="SimTime.MaxClock"/>.
    /// </summary>
    SimDuration? RunUntil(JsonMember member, ImmutableArray<ScenarioStep> steps)
    {
        if (Duration(member) is not { } runFor) return null;
        var last = steps.IsEmpty ? SimTime.Zero : steps[^1].At;
        if (stored || runFor.Ns <= ClockEnd - last.Ns) return runFor;
        Error(member.Path, $"{last} + {runFor} is past the clock's maximum, {SimTime.MaxClock.Ns} ns (100 years of virtual time)");
        return null;
    }

    KernelProfile? Kernel(JsonMember member)
    {
        var text = String(member);
        if (text is null) return null;
        if (KernelProfiles.TryParse(text, out var profile)) return profile;
        Error(member.Path, $"unknown kernel profile \"{text}\"; expected \"linux-6\" or \"linux-4.4\"");
        return null;
    }

    ImmutableArray<ScenarioNat> Nats(JsonMember? member)
    {
        var nats = ImmutableArray.CreateBuilder<ScenarioNat>();
        foreach (var (name, entry) in Map(member, nonEmpty: false)?.Members ?? [])
        {
            if (name.Length == 0) Error(entry.Path, "a NAT name must not be empty");
            else _natNames.Add(name);
            var fields = Object(entry, NatFields);
            if (Address(Required(fields, "address")) is { } address && name.Length > 0)
                nats.Add(new ScenarioNat(name, address));
        }
        return nats.ToImmutable();
    }

    ImmutableArray<ScenarioHost> Hosts(JsonMember? member)
    {
        var map = Map(member, nonEmpty: true);
        if (map is null) return [];
        // Names first, so that a host's errors do not also show up as "unknown host" wherever it is named.
        foreach (var (name, entry) in map.Members)
            if (ScenarioSyntax.HostName().IsMatch(name)) _hostKinds[name] = ScenarioHostKind.Linux;
            else Error(entry.Path, $"\"{name}\" is not a host name ([a-z][a-z0-9-]*)");

        var hosts = ImmutableArray.CreateBuilder<ScenarioHost>();
        foreach (var (name, entry) in map.Members)
        {
            var fields = Object(entry, HostFields);
            if (fields is null) continue;
            var address = Address(Required(fields, "address"));
            ImmutableArray<uint>? more = null;
            // A new document meets the request's bound (CommandApplier.ArrivalProblem), checked before any address is.
            if (fields["addresses"] is { } extra && !stored && extra.Value.ValueKind == JsonValueKind.Array
                && Commands.AddHostCommand.TooManyAddresses(extra.Value.GetArrayLength()) is { } tooMany)
                Error(extra.Path, tooMany);
            else if (fields["addresses"] is { } listed)
            {
                var list = ImmutableArray.CreateBuilder<uint>();
                foreach (var item in Items(listed, nonEmpty: true))
                    if (Address(item) is { } a2)
                    {
                        if ((a2 >> 24) == 127) Error(item.Path, "127.0.0.0/8 is every host's loopback, not an address to add");
                        else list.Add(a2);
                    }
                more = list.ToImmutable();
            }
            var kind = fields["kind"] is { } k ? Enum(k, ScenarioWireNames.HostKinds) : ScenarioHostKind.Linux;
            var nat = NonEmptyString(fields["behindNat"]);
            if (nat is not null && !_natNames.Contains(nat)) Error(fields["behindNat"]!.Value.Path, $"unknown NAT \"{nat}\"");
            if (kind is { } known && _hostKinds.ContainsKey(name)) _hostKinds[name] = known;

            var sysctls = ImmutableArray<SysctlSetting>.Empty;
            if (kind == ScenarioHostKind.Linux && _profile is { } profile && _hostKinds.ContainsKey(name))
                _sysctlTables[name] = new SysctlTable(profile);
            if (fields["sysctls"] is { } s)
            {
                if (kind == ScenarioHostKind.Scripted) Error(s.Path, "a scripted host has no kernel, so no sysctls");
                else sysctls = Sysctls(s, name, nonEmpty: false);
            }
            if (address is { } a && kind is { } hostKind)
                hosts.Add(new ScenarioHost(name, a, sysctls, nat, hostKind, more));
        }
        return hosts.ToImmutable();
    }

    /// <summary>An IPv4 address, unique among hosts and NATs.</summary>
    uint? Address(JsonMember? member)
    {
        var text = String(member);
        if (text is null) return null;
        var path = member!.Value.Path;
        if (!Ipv4Text.TryParse(text, out var address))
        {
            Error(path, $"\"{text}\" is not an IPv4 address (dotted quad, no leading zeros)");
            return null;
        }
        // A new document meets the rules a request does (CommandApplier.ArrivalProblem); a stored one rebuilds as accepted.
        if (!stored && new Network.IPv4(address).NotAHostAddress() is { } notHost)
        {
            Error(path, notHost);
            return null;
        }
        if (_addressOwners.TryGetValue(address, out var owner))
        {
            Error(path, $"address {text} is already used at {owner}");
            return null;
        }
        _addressOwners[address] = path;
        return address;
    }

    ImmutableArray<ScenarioLink> Links(JsonMember? member)
    {
        foreach (var item in Items(member))
        {
            var fields = Object(item, LinkFields);
            var between = Between(Required(fields, "between"));
            var delay = fields?["delay"] is { } d ? Duration(d) : ScenarioLink.DefaultDelay;
            var loss = fields?["loss"] is { } l ? Number(l, 0, 1) : 0;
            var bySegment = fields?["lossBySegment"] is { } bs ? Bool(bs) : false;
            if (between is not var (a, b)) continue;
            if (_joined.Contains(ScenarioLink.Pair(a, b)))
                Error(item.Path, $"{a} and {b} are already joined by another link");
            else if (delay is { } dl && loss is { } ls && bySegment is { } keyed)
            {
                _links.Add(new ScenarioLink(a, b, dl, ls, keyed));
                _joined.Add(ScenarioLink.Pair(a, b));
            }
        }
        return [.. _links];
    }

    /// <summary>The schema's "between": two different host names; both must be hosts.</summary>
    (string A, string B)? Between(JsonMember? member)
    {
        if (member is not { } m) return null;
        // Counted before any item is read: a 4 MB "between" of two million items built a member and a path for each, to
        // peak at 367 MB only to say this (review40a S-2).
        if (m.Value.ValueKind == JsonValueKind.Array && m.Value.GetArrayLength() != 2)
        {
            Error(m.Path, "must name exactly two hosts");
            return null;
        }
        var items = Items(m).ToList(); // two, or it is no array
        if (items.Count != 2) return null;
        var a = HostName(items[0]);
        var b = HostName(items[1]);
        if (a is null || b is null) return null;
        if (a != b) return (a, b);
        Error(items[1].Path, "a link joins two different hosts");
        return null;
    }

    /// <summary>A host name that names a host of this document.</summary>
    string? HostName(JsonMember? member)
    {
        var name = Matching(member, ScenarioSyntax.HostName(), "a host name ([a-z][a-z0-9-]*)");
        return name is not null && KnownHost(name, member!.Value.Path) ? name : null;
    }

    bool KnownHost(string name, string path)
    {
        if (_hostKinds.ContainsKey(name)) return true;
        Error(path, $"unknown host \"{name}\"");
        return false;
    }

    /// <summary>A host that runs a kernel: calls, kills and sysctl writes need one.</summary>
    string? LinuxHost(JsonMember? member)
    {
        var name = HostName(member);
        if (name is null || _hostKinds[name] == ScenarioHostKind.Linux) return name;
        Error(member!.Value.Path, $"host \"{name}\" is scripted: it has no kernel, processes or sysctls");
        return null;
    }

    /// <summary>
    /// A sysctl map, written in document order to the host's table, so that every value is checked as
    /// the kernel's proc handler checks it, including the checks across sysctls.
    /// </summary>
    ImmutableArray<SysctlSetting> Sysctls(JsonMember member, string host, bool nonEmpty)
    {
        var settings = ImmutableArray.CreateBuilder<SysctlSetting>();
        foreach (var (name, entry) in Map(member, nonEmpty)?.Members ?? [])
        {
            if (SysctlText(name, entry) is not { } text) continue;
            if (_sysctlTables.TryGetValue(host, out var table) && !Write(table, name, text, out var error))
                Error(entry.Path, error);
            else
                settings.Add(new SysctlSetting(name, text));
        }
        return settings.ToImmutable();
    }

    /// <summary>The value's text as written to /proc/sys (a JSON integer as its decimal text), after the schema's checks of name and JSON type.</summary>
    string? SysctlText(string name, JsonMember entry)
    {
        if (SysctlCatalog.NotSimulated(name, _profile) is { } unknown)
        {
            Error(entry.Path, unknown);
            return null;
        }
        if (_profile is null) return null;
        if (SysctlJson.Text(entry.Value, out var problem) is { } text) return text;
        Error(entry.Path, problem);
        return null;
    }

    /// <summary>
    /// SysctlTable.TrySet, plus ipv4_privileged_ports() (net/ipv4/sysctl_net_ipv4.c): raising
    /// ip_unprivileged_port_start above the low end of ip_local_port_range is refused with EINVAL.
    /// </summary>
    bool Write(SysctlTable table, string name, string text, out string error)
    {
        if (name == "net.ipv4.ip_unprivileged_port_start"
            && (stored ? SysctlCatalog.TryParseStored(name, table.Profile, text, out var values, out _)
                : SysctlCatalog.TryParse(name, table.Profile, text, out values, out _))
            && values[0] > table.PortRangeLow)
        {
            error = $"{name}: {values[0]} is above the low end {table.PortRangeLow} of net.ipv4.ip_local_port_range (ipv4_privileged_ports)";
            return false;
        }
        return table.TrySet(name, text, out error, stored);
    }

    static FrozenSet<string> Set(params string[] names) => names.ToFrozenSet(StringComparer.Ordinal);
}
