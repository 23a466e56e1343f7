using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Scenarios;

/// <summary>
/// Writes a document in canonical form: every default explicit, every step at its absolute time,
/// durations in their shortest exact unit. <c>ScenarioParser.Parse(ToJson(doc))</c> gives back
/// <c>doc</c> (steps keep their indices, so their paths too).
/// </summary>
public static class ScenarioWriter
{
    static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The document as scenario-format JSON text.</summary>
    public static string ToJson(ScenarioDocument doc)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Options))
        {
            w.WriteStartObject();
            w.WriteString("name", doc.Name);
            if (doc.Description is not null) w.WriteString("description", doc.Description);
            w.WriteString("kernel", doc.Kernel.ToWireName());
            w.WriteNumber("seed", doc.Seed);
            WriteHosts(w, doc);
            if (!doc.Nats.IsEmpty) WriteObjectMap(w, "nats", doc.Nats, n => n.Name, n => w.WriteString("address", Ipv4Text.Format(n.Address)));
            WriteLinks(w, doc);
            w.WriteStartArray("steps");
            foreach (var step in doc.Steps) WriteStep(w, step);
            w.WriteEndArray();
            if (doc.Expect is { } expect) WriteFinalExpect(w, expect);
            if (doc.RunUntil is { } runUntil) w.WriteString("runUntil", runUntil.ToString());
            if (doc.EngineRules is { } rules) w.WriteNumber("engineRules", rules);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    static void WriteHosts(Utf8JsonWriter w, ScenarioDocument doc) =>
        WriteObjectMap(w, "hosts", doc.Hosts, h => h.Name, h =>
        {
            w.WriteString("address", Ipv4Text.Format(h.Address));
            if (h.Addresses is { } more)
            {
                w.WriteStartArray("addresses");
                foreach (var a in more) w.WriteStringValue(Ipv4Text.Format(a));
                w.WriteEndArray();
            }
            w.WriteString("kind", h.Kind.ToWireName());
            if (h.BehindNat is not null) w.WriteString("behindNat", h.BehindNat);
            if (!h.Sysctls.IsEmpty) WriteSysctls(w, "sysctls", h.Sysctls);
        });

    static void WriteLinks(Utf8JsonWriter w, ScenarioDocument doc)
    {
        if (doc.Links.IsEmpty) return;
        w.WriteStartArray("links");
        foreach (var link in doc.Links)
        {
            w.WriteStartObject();
            WriteBetween(w, link.A, link.B);
            w.WriteString("delay", link.Delay.ToString());
            w.WriteNumber("loss", link.Loss);
            if (link.LossBySegment) w.WriteBoolean("lossBySegment", true);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    static void WriteBetween(Utf8JsonWriter w, string a, string b)
    {
        w.WriteStartArray("between");
        w.WriteStringValue(a);
        w.WriteStringValue(b);
        w.WriteEndArray();
    }

    /// <summary>
    /// Integer sysctls written as a plain decimal as JSON integers, the others (ranges, vectors, port lists, "0x10") as
    /// their text.
    /// </summary>
    static void WriteSysctls(Utf8JsonWriter w, string name, IEnumerable<SysctlSetting> settings)
    {
        w.WriteStartObject(name);
        foreach (var s in settings)
        {
            if (SysctlCatalog.All.TryGetValue(s.Name, out var definition) && definition.Kind == SysctlKind.Integer
                && long.TryParse(s.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number)
                && number.ToString(CultureInfo.InvariantCulture) == s.Text)
                w.WriteNumber(s.Name, number);
            else
                w.WriteString(s.Name, s.Text);
        }
        w.WriteEndObject();
    }

    static void WriteStep(Utf8JsonWriter w, ScenarioStep step)
    {
        w.WriteStartObject();
        w.WriteString("at", step.At.ToString());
        switch (step)
        {
            case CallStep c: WriteCall(w, c); break;
            case InjectStep i:
                w.WriteStartObject("inject");
                w.WriteString("from", i.From.ToString());
                w.WriteString("to", i.To.ToString());
                w.WriteString("flags", i.Flags.ToLetters());
                w.WriteNumber("seq", i.Seq);
                if (i.Ack is { } ack) w.WriteNumber("ack", ack);
                if (i.Win is { } win) w.WriteNumber("win", win);
                if (i.Len is { } len) w.WriteNumber("len", len);
                if (i.Options is { } options) WriteInjectOptions(w, options);
                w.WriteEndObject();
                break;
            case LinkStep l:
                w.WriteStartObject("link");
                WriteBetween(w, l.A, l.B);
                if (l.Direction is not null) w.WriteString("direction", l.Direction.ToString());
                if (l.Delay is { } delay) w.WriteString("delay", delay.ToString());
                if (l.Loss is { } loss) w.WriteNumber("loss", loss);
                if (l.LossBySegment is { } bySegment) w.WriteBoolean("lossBySegment", bySegment);
                w.WriteEndObject();
                break;
            case SysctlStep s:
                w.WriteStartObject("sysctl");
                w.WriteString("host", s.Host);
                WriteSysctls(w, "values", s.Values);
                w.WriteEndObject();
                break;
            case KillStep k:
                w.WriteStartObject("kill");
                w.WriteString("host", k.Host);
                w.WriteString("process", k.Process);
                w.WriteString("signal", k.Signal.ToWireName());
                w.WriteEndObject();
                break;
            case WorkloadStep wl:
                WriteWorkload(w, wl.Spec);
                break;
            case ExpectStep e:
                w.WriteStartObject("expect");
                WriteStateChecks(w, e.Expect);
                w.WriteEndObject();
                break;
        }
        w.WriteEndObject();
    }

    static void WriteCall(Utf8JsonWriter w, CallStep c)
    {
        w.WriteString("host", c.Host);
        w.WriteString("process", c.Process);
        w.WriteString("call", c.Call.ToWireName());
        if (c.Socket is not null) w.WriteString("socket", c.Socket);
        if (c.As is not null) w.WriteString("as", c.As);
        if (c.Port is { } port) w.WriteNumber("port", port);
        if (c.Backlog is { } backlog) w.WriteNumber("backlog", backlog);
        if (c.ReuseAddr) w.WriteBoolean("reuseaddr", true);
        if (c.To is not null) w.WriteString("to", c.To.ToString());
        if (c.Bind is not null)
        {
            w.WriteStartObject("bind");
            w.WriteNumber("port", c.Bind.Port);
            w.WriteBoolean("reuseaddr", c.Bind.ReuseAddr);
            w.WriteEndObject();
        }
        if (c.Bytes is { } bytes) w.WriteNumber("bytes", bytes);
        if (c.How is { } how) w.WriteString("how", how.ToWireName());
        if (c.Option is { } option) w.WriteString("option", option.ToWireName());
        if (c.NonBlock is { } nonblock) w.WriteBoolean("nonblock", nonblock);
        if (c.Events is { } events)
        {
            w.WriteStartArray("events");
            foreach (var (name, bit) in Tcp.PollEvents.Names)
                if ((events & bit) != 0) w.WriteStringValue(name);
            w.WriteEndArray();
        }
        if (c.TimeoutMs is { } timeout) w.WriteNumber("timeout", timeout);
        if (c.NewFd is { } newfd) w.WriteNumber("newfd", newfd);
        if (c.Soft is { } soft)
        {
            w.WriteString("resource", "RLIMIT_NOFILE");
            w.WriteNumber("soft", soft);
            if (c.Hard is { } hard) w.WriteNumber("hard", hard);
        }
        if (c.Unspec is true) w.WriteString("family", "AF_UNSPEC");
        if (c.Address is { } address) w.WriteString("address", Ipv4Text.Format(address));
        if (c.Flags is { } flags)
        {
            w.WriteStartArray("flags");
            foreach (var (name, bit) in ScenarioWireNames.MsgFlagNames.Entries)
                if ((flags & bit) != 0) w.WriteStringValue(name);
            w.WriteEndArray();
        }
        switch (c.Value)
        {
            case IntSockoptValue v: w.WriteNumber("value", v.Value); break;
            case LingerSockoptValue l: WriteStruct(w, ("onoff", l.OnOff), ("linger", l.Seconds)); break;
            case TimevalSockoptValue tv: WriteStruct(w, ("sec", tv.Sec), ("usec", tv.Usec)); break;
            case PortRangeSockoptValue pr: WriteStruct(w, ("lo", pr.Lo), ("hi", pr.Hi)); break;
            case StringSockoptValue text: w.WriteString("value", text.Text); break;
        }
        if (c.Expect is { } expect)
        {
            w.WriteStartObject("expect");
            if (expect.Result is { Errno: { } errno }) w.WriteString("result", errno.Name);
            else if (expect.Result is { Value: { } value }) w.WriteNumber("result", value);
            if (expect.ReturnsAfter is { } after) w.WriteString("returnsAfter", after.Text);
            if (expect.Value is { } written)
            {
                w.WritePropertyName("value");
                w.WriteRawValue(written);
            }
            w.WriteEndObject();
        }
    }

    static void WriteFinalExpect(Utf8JsonWriter w, FinalExpect expect)
    {
        w.WriteStartObject("expect");
        WriteStateChecks(w, expect.State);
        WritePackets(w, "packets", expect.Packets);
        WritePackets(w, "packetsExact", expect.PacketsExact);
        WritePackets(w, "noPackets", expect.NoPackets);
        if (!expect.Data.IsEmpty)
            WriteObjectMap(w, "data", expect.Data, d => d.Alias, d =>
            {
                WriteOptional(w, "sent", d.Sent);
                WriteOptional(w, "delivered", d.Delivered);
                WriteOptional(w, "lost", d.Lost);
            });
        w.WriteEndObject();
    }

    static void WriteStateChecks(Utf8JsonWriter w, StateChecks checks)
    {
        if (!checks.Sockets.IsEmpty)
        {
            w.WriteStartArray("sockets");
            foreach (var s in checks.Sockets) WriteSocketCheck(w, s);
            w.WriteEndArray();
        }
        if (!checks.Sockstat.IsEmpty)
            WriteObjectMap(w, "sockstat", checks.Sockstat, s => s.Host, s =>
            {
                WriteOptional(w, "inuse", s.InUse);
                WriteOptional(w, "orphan", s.Orphan);
                WriteOptional(w, "tw", s.Tw);
                WriteOptional(w, "alloc", s.Alloc);
            });
        if (!checks.Counters.IsEmpty)
            WriteObjectMap(w, "counters", checks.Counters.GroupBy(c => c.Host), g => g.Key, g =>
            {
                foreach (var c in g) w.WriteNumber(c.Counter.ToString(), c.Value);
            });
        if (!checks.Dmesg.IsEmpty)
            WriteMap(w, "dmesg", checks.Dmesg, d => d.Host, d =>
            {
                w.WriteStartArray();
                foreach (var line in d.Substrings) w.WriteStringValue(line);
                w.WriteEndArray();
            });
    }

    static void WriteSocketCheck(Utf8JsonWriter w, SocketCheck check)
    {
        w.WriteStartObject();
        switch (check.Selector)
        {
            case AliasSelector a: w.WriteString("socket", a.Alias); break;
            case HostSelector h:
                w.WriteString("host", h.Host);
                if (h.Local is not null) w.WriteString("local", h.Local.ToString());
                if (h.Remote is not null) w.WriteString("remote", h.Remote.ToString());
                break;
        }
        if (check.State is { } state) w.WriteString("state", state.ToWireName());
        WriteOptional(w, "count", check.Count);
        if (check.Timer is { } timer) w.WriteString("timer", timer.ToWireName());
        if (check.TimerLeft is { } left) w.WriteString("timerLeft", left.Text);
        w.WriteEndObject();
    }

    static void WritePackets(Utf8JsonWriter w, string name, IReadOnlyCollection<PacketCheck> packets)
    {
        if (packets.Count == 0) return;
        w.WriteStartArray(name);
        foreach (var p in packets)
        {
            w.WriteStartObject();
            if (p.From is not null) w.WriteString("from", p.From.ToString());
            if (p.To is not null) w.WriteString("to", p.To.ToString());
            w.WriteString("flags", p.Flags.ToLetters());
            if (p.At is { } at) w.WriteString("at", at.Text);
            WriteOptional(w, "len", p.Len);
            WriteOptional(w, "seq", p.Seq);
            WriteOptional(w, "ack", p.Ack);
            WriteOptional(w, "win", p.Win);
            if (p.Options is { } options) WriteOptionsCheck(w, options);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    static void WriteInjectOptions(Utf8JsonWriter w, InjectOptions o)
    {
        w.WriteStartObject("options");
        WriteOptional(w, "mss", o.Mss);
        WriteOptional(w, "wscale", o.WindowScale);
        if (o.SackPermitted) w.WriteBoolean("sackOK", true);
        if (o.Timestamp is { } ts)
        {
            w.WriteStartObject("ts");
            w.WriteNumber("val", ts.Val);
            if (ts.EchoLast) w.WriteString("ecr", ScenarioReader.EchoWord);
            else w.WriteNumber("ecr", ts.Ecr);
            w.WriteEndObject();
        }
        if (!o.Sack.IsEmpty) WriteSack(w, o.Sack);
        w.WriteEndObject();
    }

    static void WriteOptionsCheck(Utf8JsonWriter w, OptionsCheck o)
    {
        w.WriteStartObject("options");
        WriteNullable(w, "mss", o.Mss);
        WriteNullable(w, "wscale", o.WindowScale);
        if (o.SackPermitted is { } sackOk) w.WriteBoolean("sackOK", sackOk);
        if (o.Timestamp is { } ts)
        {
            if (!ts.Present || (ts.Val is null && ts.Ecr is null)) w.WriteBoolean("ts", ts.Present);
            else
            {
                w.WriteStartObject("ts");
                WriteOptional(w, "val", ts.Val);
                WriteOptional(w, "ecr", ts.Ecr);
                w.WriteEndObject();
            }
        }
        if (o.Sack is { } sack) WriteSack(w, sack);
        w.WriteEndObject();
    }

    static void WriteNullable(Utf8JsonWriter w, string name, int? value)
    {
        if (value is OptionsCheck.Absent) w.WriteNull(name);
        else WriteOptional(w, name, value);
    }

    static void WriteSack(Utf8JsonWriter w, IEnumerable<SeqRange> blocks)
    {
        w.WriteStartArray("sack");
        foreach (var b in blocks)
        {
            w.WriteStartArray();
            w.WriteNumberValue(b.Left);
            w.WriteNumberValue(b.Right);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    static void WriteOptional(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    /// <summary>An object with one member per item, named by <paramref name="key"/>, its value written by <paramref name="value"/>.</summary>
    static void WriteMap<T>(Utf8JsonWriter w, string name, IEnumerable<T> items, Func<T, string> key, Action<T> value)
    {
        w.WriteStartObject(name);
        foreach (var item in items)
        {
            w.WritePropertyName(key(item));
            value(item);
        }
        w.WriteEndObject();
    }

    /// <summary><see cref="WriteMap"/> whose values are objects with the members <paramref name="body"/> writes.</summary>
    static void WriteObjectMap<T>(Utf8JsonWriter w, string name, IEnumerable<T> items, Func<T, string> key, Action<T> body) =>
        WriteMap(w, name, items, key, item =>
        {
            w.WriteStartObject();
            body(item);
            w.WriteEndObject();
        });

    /// <summary>A workload step's fields; those at their defaults are left out.</summary>
    static void WriteWorkload(Utf8JsonWriter w, Workloads.WorkloadSpec s)
    {
        var d = new Workloads.WorkloadSpec();
        w.WriteStartObject("workload");
        if (s.Clients.Count > 0)
        {
            w.WriteStartArray("clients");
            foreach (var c in s.Clients) w.WriteStringValue(c);
            w.WriteEndArray();
        }
        if (s.GeneratedClients > 0) w.WriteNumber("generatedClients", s.GeneratedClients);
        if (s.ClientLinkDelay != d.ClientLinkDelay) w.WriteString("clientLinkDelay", s.ClientLinkDelay.ToString());
        w.WriteString("server", s.Server);
        if (s.Port != d.Port) w.WriteNumber("port", s.Port);
        w.WriteNumber("rate", s.Rate);
        if (s.Count > 0) w.WriteNumber("count", s.Count);
        if (s.Duration.Ns > 0 && s.Count == 0) w.WriteString("duration", s.Duration.ToString()); // one of them (a count wins: WorkloadSpec.Connections)
        if (s.RequestBytes != d.RequestBytes) w.WriteNumber("requestBytes", s.RequestBytes);
        if (s.ResponseBytes != d.ResponseBytes) w.WriteNumber("responseBytes", s.ResponseBytes);
        if (s.ThinkTime.Ns > 0) w.WriteString("thinkTime", s.ThinkTime.ToString());
        if (s.CloseFirst != d.CloseFirst) w.WriteString("closeFirst", ScenarioWireNames.CloseFirsts.ToText(s.CloseFirst));
        if (s.CloseStyle != d.CloseStyle) w.WriteString("closeStyle", ScenarioWireNames.CloseStyles.ToText(s.CloseStyle));
        if (s.CloseStyle == Workloads.CloseStyle.Linger) w.WriteNumber("lingerSeconds", s.LingerSeconds); // the reader needs it there, refuses it elsewhere
        if (s.ReuseAddr) w.WriteBoolean("reuseaddr", true);
        if (s.Linger2 is { } l2) w.WriteNumber("linger2", l2);
        if (s.KeepAlive) w.WriteBoolean("keepalive", true);
        if (s.UserTimeoutMs != 0) w.WriteNumber("userTimeoutMs", s.UserTimeoutMs);
        if (s.Backlog != d.Backlog) w.WriteNumber("backlog", s.Backlog);
        if (s.Resolution != d.Resolution) w.WriteString("resolution", s.Resolution.ToString());
        if (s.DrainLimit != d.DrainLimit) w.WriteString("drainLimit", s.DrainLimit.ToString());
        if (s.Level != d.Level) w.WriteString("level", ScenarioWireNames.JournalLevels.ToText(s.Level));
        w.WriteEndObject();
    }

    /// <summary>setsockopt's struct value (SO_LINGER's linger, a timeval) as an object of integers, in the given order.</summary>
    static void WriteStruct(Utf8JsonWriter w, params (string Name, long Value)[] fields)
    {
        w.WriteStartObject("value");
        foreach (var (name, value) in fields) w.WriteNumber(name, value);
        w.WriteEndObject();
    }
}
