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
    public void AddHost_MartianSourceAddress_RefusedNamingAddress(string address, string message)
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);

        var added = sim.AddHost("h", IPv4.Parse(address));

        Assert.Equal(DomainError.Invalid(message, "address"), added.Error);
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

        Assert.Null(sim.AddHost("h", IPv4.Parse(address)).Error);
    }
}
