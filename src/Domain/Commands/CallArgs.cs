using SimService.Domain.Network;
using SimService.Domain.Tcp;

namespace SimService.Domain.Commands;

/// <summary>
/// A <see cref="SocketCallRequest"/>'s fields as a value passed by reference inside the engine, so that a
/// caller issuing millions of calls (a workload) allocates no request object per call; with the host (and,
/// for connect, the remote endpoint) already resolved, the call skips the name lookups too.
/// </summary>
internal struct CallArgs
{
    public string Host;
    public string Process;
    public SocketCallKind Call;
    public int SocketId;
    public ushort Port;
    public string? Address;
    public int Backlog;
    public bool ReuseAddr;
    public string? ToHost;
    public ushort ToPort;
    public ushort? BindPort;
    public bool BindReuseAddr;
    public long Bytes;
    public ShutdownHow How;
    public SocketOption Option;
    public int Value;
    public int LingerOnOff;
    public long TvSec;
    public long TvUsec;
    public bool NonBlock;
    public int Events;
    public int TimeoutMs;
    /// <summary>The descriptor the call names; -1: the socket's own (<see cref="SocketCallRequest.Fd"/>).</summary>
    public int Fd;
    public int NewFd;
    public bool Unspec;
    public MsgFlags Flags;
    public string? Text;
    public long RlimCur;
    public long RlimMax;
    /// <summary>The host named by <see cref="Host"/>, when the caller already holds it (else looked up by name).</summary>
    public Host? HostRef;
    /// <summary>connect()'s destination, when the caller already resolved <see cref="ToHost"/> (else resolved by name).</summary>
    public Endpoint? Remote;

    public CallArgs(string host, string process, SocketCallKind call)
    {
        Host = host;
        Process = process;
        Call = call;
        Backlog = 128;
        Bytes = -1;
        Fd = -1;
    }

    public static CallArgs From(SocketCallRequest r, int engineRules) => new(r.Host, r.Process, r.Call)
    {
        SocketId = r.SocketId, Port = r.Port, Address = r.Address, Backlog = r.Backlog, ReuseAddr = r.ReuseAddr, ToHost = r.ToHost,
        ToPort = r.ToPort, BindPort = r.BindPort, BindReuseAddr = r.BindReuseAddr, Bytes = r.Bytes, How = r.How, Option = r.Option,
        Value = r.Value, LingerOnOff = r.LingerOnOff, TvSec = r.TvSec, TvUsec = r.TvUsec, NonBlock = r.NonBlock, Events = r.Events,
        TimeoutMs = r.TimeoutMs, Fd = r.Descriptor(engineRules) ?? -1, NewFd = r.NewFd, Unspec = r.Unspec, Flags = r.Flags, Text = r.Text,
        RlimCur = r.RlimCur, RlimMax = r.RlimMax,
    };
}
