using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// A host's address must be one a peer can answer: ip_route_input_slow() — net/ipv4/route.c — drops a packet whose source is
/// multicast or the limited broadcast, or in 0.0.0.0/8, as a martian source (a host at 255.255.255.255 was taken, and its
/// peer answered its SYN with a RST).
/// </summary>
public sealed class HostAddressTests
{
    [Theory]
    [InlineData("224.0.0.1", "224.0.0.1 is a multicast address (224.0.0.0/4): the kernel drops a packet from it as a martian source (ip_route_input_slow())")]
    [InlineData("239.255.255.255", "239.255.255.255 is a multicast address (224.0.0.0/4): the kernel drops a packet from it as a martian source (ip_route_input_slow())")]
    [InlineData("255.255.255.255", "255.255.255.255 is the limited broadcast address: the kernel drops a packet from it as a martian source (ip_route_input_slow())")]
    [InlineData("0.0.0.0", "0.0.0.0 is in 0.0.0.0/8: the kernel drops a packet from it as a martian source (ip_route_input_slow())")]
    [InlineData("0.255.1.2", "0.255.1.2 is in 0.0.0.0/8: the kernel drops a packet from it as a martian source (ip_route_input_slow())")]
    [InlineData("127.0.0.5", "127.0.0.5 is not a host address (127.0.0.0/8 is every host's loopback)")]
    public void AddHost_MartianSourceAddress_RefusedOnArrivalNamingAddress(string address, string message)
    {
        Assert.Equal(DomainError.Invalid(message, "address"), CommandApplier.ArrivalProblem(new AddHostCommand("h", address, HostKind.Linux, [])));
        Assert.Equal(DomainError.Invalid(message, "addresses[1]"),
            CommandApplier.ArrivalProblem(new AddHostCommand("h", "10.0.0.1", HostKind.Linux, [], Addresses: ["10.0.0.2", address])));
        Assert.Equal(DomainError.Invalid(message, "address"), CommandApplier.ArrivalProblem(new AddNatCommand("n", address)));
    }

    /// <summary>
    /// tester41 HIGH-1: 120,000 further addresses were checked in O(n²) (Array.IndexOf per address) and held a core for 74 s
    /// before a 503 blaming the service. A new host takes at most <see cref="AddHostCommand.MaxAddresses"/>, refused as it
    /// arrives naming <c>addresses</c> (a request's command and a new scenario alike); a stored document rebuilds as accepted.
    /// </summary>
    [Fact]
    public void AddHost_MoreAddressesThanTheBound_RefusedOnArrivalAndInANewScenarioNamingAddresses()
    {
        static string[] Addresses(int count) => [.. Enumerable.Range(0, count).Select(i => $"10.1.{i / 256}.{i % 256}")];
        static string Document(int count) =>
            """{"name":"m","hosts":{"h":{"address":"10.0.0.1","addresses":[""" + string.Join(",", Addresses(count).Select(a => $"\"{a}\""))
            + """]}},"steps":[],"runUntil":"1s"}""";

        Assert.Equal(DomainError.Invalid("a host takes at most 1,024 further addresses (got 1,025)", "addresses"),
            CommandApplier.ArrivalProblem(new AddHostCommand("h", "10.0.0.1", HostKind.Linux, [], Addresses: Addresses(1025))));
        Assert.Null(CommandApplier.ArrivalProblem(new AddHostCommand("h", "10.0.0.1", HostKind.Linux, [], Addresses: Addresses(1024))));
        var refused = Assert.Single(SimService.Domain.Scenarios.ScenarioParser.Parse(Document(1025)).Errors);
        Assert.Equal(("$.hosts.h.addresses", "a host takes at most 1,024 further addresses (got 1,025)"), (refused.Path, refused.Message));
        Assert.Empty(SimService.Domain.Scenarios.ScenarioParser.Parse(Document(1024)).Errors);
        Assert.Equal(1025, Assert.Single(SimService.Domain.Scenarios.ScenarioParser.ParseStored(Document(1025)).Document!.Hosts).Addresses!.Value.Length);
    }

    /// <summary>
    /// The martian rule came after logs were stored: a stored command with such an address is applied as it was accepted
    /// (a rebuild would otherwise stop at it), and so is a stored scenario document; a new document is refused.
    /// </summary>
    [Fact]
    public void StoredLogWithAMulticastHost_AppliesAsAccepted_NewScenarioRefused()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);

        Assert.True(CommandApplier.Apply(sim, new AddHostCommand("h", "224.0.0.1", HostKind.Linux, [])).IsOk);
        Assert.Equal(IPv4.Parse("224.0.0.1"), Assert.Single(sim.Hosts).Address);
        const string document = """{"name":"m","hosts":{"h":{"address":"224.0.0.1"}},"steps":[],"runUntil":"1s"}""";
        Assert.Equal("$.hosts.h.address", Assert.Single(SimService.Domain.Scenarios.ScenarioParser.Parse(document).Errors).Path);
        Assert.NotNull(SimService.Domain.Scenarios.ScenarioParser.ParseStored(document).Document);
    }

    [Fact]
    public void AddHost_Loopback_RefusedByTheEngineToo()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);

        Assert.Equal(DomainError.Invalid("127.0.0.5 is not a host address (127.0.0.0/8 is every host's loopback)", "address"),
            sim.AddHost("h", IPv4.Parse("127.0.0.5")).Error);
        Assert.Empty(sim.Hosts);
    }

    [Theory]
    [InlineData("1.0.0.0")]
    [InlineData("223.255.255.255")]
    [InlineData("240.0.0.1")] // class E is no martian source in ip_route_input_slow()
    [InlineData("255.255.255.254")]
    public void AddHost_AddressNextToTheMartianRanges_Taken(string address)
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);

        Assert.Null(CommandApplier.ArrivalProblem(new AddHostCommand("h", address, HostKind.Linux, [])));
        Assert.Null(sim.AddHost("h", IPv4.Parse(address)).Error);
    }
}
