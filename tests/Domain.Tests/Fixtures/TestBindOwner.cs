using SimService.Domain.Network;

namespace SimService.Domain.Tests.Fixtures;

/// <summary>A bind bucket owner for unit tests of <see cref="BindBucket"/>: a wildcard, non-reusing, non-listening owner of port 80, hashed by its id.</summary>
internal sealed class TestBindOwner(int id) : IBindOwner
{
    public Endpoint Local => new(IPv4.Any, 80);
    public bool ReuseAddr => false;
    public bool ReusePort => false;
    public bool IsListener => false;
    public IPv4 RcvSaddr => IPv4.Any;
    public int BindHash => id;
    public bool ConnectBind => false;
    public override string ToString() => $"o{id}";
}
