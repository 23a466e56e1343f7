using System.Reflection;
using System.Runtime.CompilerServices;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using SimService.Domain.Workloads;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Destroyed sockets go back to their host's free list and the next socket() or accepted child takes them again
/// (sk_prot_alloc()/sk_prot_free() on tcp_prot.slab): a socket taken again is a new one in every field, and only a
/// socket nothing can reach any more is taken again.
/// </summary>
public class SocketSlabTests
{
    const BindingFlags Fields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    [Fact]
    public void Reuse_AfterEveryFieldWasWritten_EqualsANewSocketInEveryField()
    {
        var h = new TwoHostHarness();
        var host = h.Sim.FindHost("client")!;
        var used = host.NewSocket();
        int id = used.Id;
        ScribbleAll(used);
        used.Reuse(id);
        var fresh = new TcpSocket(host, id);

        var differences = new List<string>();
        Compare(typeof(TcpSocket), used, fresh, "", differences);
        Assert.Empty(differences);
    }

    [Fact]
    public void RequestInit_AfterEveryFieldWasWritten_EqualsANewRequestInEveryField()
    {
        var h = new TwoHostHarness();
        int l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 }).SocketId;
        var listener = h.Sim.FindSocket(l)!;
        var tuple = new FourTuple(new Endpoint(h.Server.Address, 80), new Endpoint(h.Client.Address, 40000));
        var syn = new Segment(tuple.Reversed, TcpFlags.Syn, 1000, 0, 64240, 0,
            new TcpOptions(Mss: 1460, WindowScale: 7, SackPermitted: true, HasTimestamp: true, TsVal: 5));
        var used = new RequestSocket(listener, tuple, syn, 7777);
        ScribbleAll(used);
        typeof(RequestSocket).GetMethod("Init", Fields)!.Invoke(used, [listener, tuple, syn.Seq, 7777u, syn.Options, null, false, false]);
        var fresh = new RequestSocket(listener, tuple, syn, 7777);

        var differences = new List<string>();
        Compare(typeof(RequestSocket), used, fresh, "", differences);
        Assert.Empty(differences);
    }

    /// <summary>
    /// Every writable field of <paramref name="o"/> (its base classes' too) given another value; a socket's side objects kept
    /// across reuse (the data path, the rare state) are made and scribbled field by field, so that their Reset() is checked too.
    /// </summary>
    static void ScribbleAll(object o)
    {
        for (var t = o.GetType(); t is not null && t != typeof(object); t = t.BaseType)
            foreach (var f in t.GetFields(Fields | BindingFlags.DeclaredOnly))
            {
                if (f.IsInitOnly) continue;
                if (f.DeclaringType == typeof(TcpSocket) && f.Name is "_data" or "_rare")
                {
                    var side = f.GetValue(o) ?? Activator.CreateInstance(f.FieldType, nonPublic: true)!;
                    ScribbleAll(side);
                    f.SetValue(o, side);
                }
                else f.SetValue(o, Scribbled(f.FieldType, f.GetValue(o), depth: 0));
            }
    }

    /// <summary>A value of <paramref name="type"/> other than <paramref name="current"/>: structs field by field, references replaced.</summary>
    static object? Scribbled(Type type, object? current, int depth)
    {
        if (type == typeof(bool)) return !(bool)current!;
        if (type.IsEnum) return Enum.ToObject(type, Convert.ToInt64(Convert.ChangeType(current, Enum.GetUnderlyingType(type))) + 1);
        if (type.IsPrimitive) return Convert.ChangeType(unchecked(Convert.ToDecimal(current) + 3) % 100, type);
        if (type == typeof(string)) return current is null ? "scribbled" : null;
        if (type.IsValueType)
        {
            if (Nullable.GetUnderlyingType(type) is { } inner)
                return current is null ? Scribbled(inner, Activator.CreateInstance(inner), depth + 1) : null;
            object boxed = current ?? Activator.CreateInstance(type)!;
            foreach (var f in type.GetFields(Fields)) f.SetValue(boxed, Scribbled(f.FieldType, f.GetValue(boxed), depth + 1));
            return boxed;
        }
        // A reference: another object of a concrete type the field can hold, or null for one that was set.
        if (current is not null) return null;
        if (type.IsArray) return Array.CreateInstance(type.GetElementType()!, 1); // a null array Init() must null again
        if (type.IsAbstract || type.IsInterface || type.ContainsGenericParameters) return current;
        return RuntimeHelpers.GetUninitializedObject(type);
    }

    static void Compare(Type type, object? actual, object? expected, string path, List<string> differences)
    {
        var fields = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(object) && !t.IsValueType; t = t.BaseType) fields.AddRange(t.GetFields(Fields | BindingFlags.DeclaredOnly));
        if (type.IsValueType) fields.AddRange(type.GetFields(Fields));
        foreach (var f in fields)
        {
            string name = path + "." + f.Name;
            // An embedded timer's generation goes on across lives (TimerState.Recycle()): no stale item can match it.
            if (f.DeclaringType == typeof(TimerState) && f.Name == "_generation") continue;
            object? a = f.GetValue(actual), e = f.GetValue(expected);
            if (f.FieldType == typeof(DataLedger))
            {
                // The ledger object is kept and zeroed; a new socket makes one on first use: both read as a new ledger.
                if (Values((DataLedger?)a) != Values((DataLedger?)e)) differences.Add($"{name}: {Values((DataLedger?)a)} ≠ {Values((DataLedger?)e)}");
            }
            else if (f.DeclaringType == typeof(TcpSocket) && f.Name is "_data" or "_rare")
            {
                // The data path and the rare state are kept and reset; a new socket makes them on first use: both read as new ones.
                var empty = Activator.CreateInstance(f.FieldType, nonPublic: true);
                Compare(f.FieldType, a ?? empty, e ?? empty, name, differences);
            }
            else if (f.FieldType == typeof(SimTimer) && a is SimTimer kept && e is null)
            {
                // The keepalive timer object is kept and made a new timer again (SimTimer.Reuse()); a new socket makes one on
                // first use: the kept one must read as a new keepalive timer (kind 2) of its socket.
                if (kept.Owner is not TcpSocket) differences.Add($"{name}: owner {kept.Owner?.ToString() ?? "null"}");
                Compare(typeof(SimTimer), kept, new SimTimer(kept.Owner!, 2), name, differences);
            }
            else if (f.FieldType.IsValueType && !f.FieldType.IsPrimitive && !f.FieldType.IsEnum && Nullable.GetUnderlyingType(f.FieldType) is null)
                Compare(f.FieldType, a, e, name, differences);
            else if (f.FieldType.IsValueType ? !Equals(a, e) : !ReferenceEquals(a, e) && !(a is string sa && e is string se && sa == se))
                differences.Add($"{name}: {a ?? "null"} ≠ {e ?? "null"}");
        }
    }

    /// <summary>A connection closed by both ends (client first) at 200 and 300 ms, run to 1 s: both sockets destroyed.</summary>
    static (TwoHostHarness H, TcpSocket Client, TcpSocket Server) ClosedConnection(JournalLevel level)
    {
        var h = new TwoHostHarness();
        h.Sim.JournalLevel = level;
        int listener = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 }).SocketId;
        var client = h.Sim.FindSocket(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId)!;
        h.At(Ms(100));
        h.Call("server", SocketCallKind.Accept, listener);
        var server = h.Server.AllSockets.Single(s => s.Id != listener);
        Assert.Equal((TcpState.Established, TcpState.Established), (client.State, server.State));
        h.At(Ms(200));
        h.Call("client", SocketCallKind.Close, client.Id);
        h.At(Ms(300));
        h.Call("server", SocketCallKind.Close, server.Id);
        h.At(S(1));
        Assert.True(client.Destroyed && server.Destroyed);
        return (h, client, server);
    }

    static (long, long, long, long, string?) Values(DataLedger? l) => l is null ? default : (l.Sent, l.Accepted, l.Delivered, l.Lost, l.LostReason);

    [Fact]
    public void Counters_DestroyedSocket_IsTheObjectOfTheNextSocketWithANewId()
    {
        var (h, client, _) = ClosedConnection(JournalLevel.Counters);
        int oldId = client.Id;

        int next = h.Call("client", SocketCallKind.Socket).SocketId;

        Assert.Same(client, h.Sim.FindSocket(next));
        Assert.NotEqual(oldId, next);
        Assert.Equal((TcpState.Close, false, false, 0L, 0L), (client.State, client.Destroyed, client.Dead, client.SendQueue, client.RecvQueue));
        Assert.Null(h.Sim.FindSocket(oldId));
    }

    [Theory]
    [InlineData(JournalLevel.States)]
    [InlineData(JournalLevel.Full)]
    public void StatesOrFull_DestroyedSocket_KeepsItsObject(JournalLevel level)
    {
        // Its record answers for it (GET /sockets/{id}, EBADF), so the object is left to the collector.
        var (h, client, server) = ClosedConnection(level);

        int next = h.Call("client", SocketCallKind.Socket).SocketId;

        Assert.NotSame(client, h.Sim.FindSocket(next));
        Assert.NotSame(server, h.Sim.FindSocket(next));
        Assert.True(client.Destroyed);
    }

    [Fact]
    public void CountersWorkload_OnceRunning_AllocatesNoSocketObjects()
    {
        // W1's churn in small (930 B per lifecycle here, Debug): two sockets alone were 2,096 B before the free lists.
        var sim = new Simulation(KernelProfile.Linux6, seed: 3) { Sink = new CountersJournal() };
        void Apply(SimCommand c) => Assert.True(CommandApplier.Apply(sim, c).IsOk);
        Apply(new AddHostCommand("client", "10.0.0.1", HostKind.Linux, [new("net.ipv4.tcp_tw_reuse", "1")]));
        Apply(new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []));
        Apply(new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0));
        WorkloadSpec Spec(long n) => new()
        {
            Clients = ["client"], Server = "server", Port = 81, Rate = 100, Count = n, RequestBytes = 1024, ResponseBytes = 1024,
            Level = JournalLevel.Counters,
        };
        void Run(long n)
        {
            Assert.True(CommandApplier.Apply(sim, new WorkloadCommand(Spec(n))).Workload!.Completed);
            sim.RunUntilIdle(sim.Now + SimDuration.FromSeconds(300));
        }
        Run(7000); // past TCP_TIMEWAIT_LEN: the tables reach their working size
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(2000);
        long perLifecycle = (GC.GetAllocatedBytesForCurrentThread() - before) / 2000;

        Assert.True(perLifecycle < 1200, $"{perLifecycle} B allocated per lifecycle");
        Assert.Equal(9000, sim.FindHost("server")!.Mib[MibCounter.TcpPassiveOpens]);
    }
}
