using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios;

public class ScenarioWriterTests
{
    /// <summary>Every kind of step, argument and check the format has, most spellings non-canonical.</summary>
    const string EverythingDocument = """
        {
          "name": "everything",
          "description": "ünïcode \"quoted\" text",
          "kernel": "linux-4.4",
          "seed": 42,
          "hosts": {
            "client": { "address": "10.0.0.1", "behindNat": "nat1",
                        "sysctls": { "net.ipv4.tcp_tw_recycle": 1, "net.ipv4.ip_local_port_range": "40000\t40009",
                                     "net.ipv4.tcp_rmem": "4096 87380 6291456", "net.ipv4.ip_local_reserved_ports": "40001,40003-40004" } },
            "server": { "address": "10.0.0.2", "kind": "linux" },
            "peer": { "address": "10.0.0.3", "kind": "scripted" }
          },
          "nats": { "nat1": { "address": "203.0.113.1" } },
          "links": [ { "between": ["client", "server"], "delay": "1500us", "loss": 0.25 }, { "between": ["server", "peer"] } ],
          "steps": [
            { "host": "server", "call": "socket", "as": "ls" },
            { "host": "server", "call": "bind", "socket": "ls", "port": 80 },
            { "host": "server", "call": "listen", "socket": "ls", "backlog": 5 },
            { "at": "+1ms", "host": "server", "call": "listen", "port": 81, "reuseaddr": true, "as": "l2" },
            { "host": "client", "process": "p1", "call": "connect", "to": "server:80", "bind": { "port": 40001, "reuseaddr": true }, "as": "c", "expect": { "result": 0, "returnsAfter": "~20ms" } },
            { "host": "client", "call": "socket", "as": "raw" },
            { "host": "client", "call": "setsockopt", "socket": "raw", "option": "SO_LINGER", "value": { "onoff": 1, "linger": 0 } },
            { "host": "client", "call": "connect", "socket": "raw", "to": "server:81", "expect": { "result": "ECONNREFUSED" } },
            { "host": "server", "call": "accept", "socket": "ls", "as": "s" },
            { "at": "0.1s", "host": "client", "process": "p1", "call": "send", "socket": "c", "bytes": 1000 },
            { "host": "server", "call": "recv", "socket": "s", "bytes": 500 },
            { "host": "server", "call": "getsockopt", "socket": "s", "option": "TCP_LINGER2" },
            { "host": "server", "call": "getsockopt", "socket": "s", "option": "TCP_INFO", "expect": { "value": { "state": "ESTABLISHED", "rto": 220000 } } },
            { "host": "server", "call": "getsockopt", "socket": "s", "option": "SO_ERROR", "expect": { "result": 104, "value": "ECONNRESET" } },
            { "host": "server", "call": "getpeername", "socket": "s", "expect": { "result": 0, "value": "client:40001" } },
            { "host": "server", "call": "fcntl", "socket": "s", "nonblock": true },
            { "host": "server", "call": "poll", "socket": "s", "events": ["POLLRDHUP", "POLLIN"], "expect": { "result": 1, "value": "POLLIN" } },
            { "host": "server", "call": "poll", "socket": "s", "events": ["POLLIN"], "timeout": 250, "expect": { "result": 0, "returnsAfter": "250.25ms" } },
            { "host": "server", "call": "dup", "socket": "s", "as": "s2", "expect": { "result": 5 } },
            { "host": "server", "call": "dup2", "socket": "s2", "newfd": 9, "as": "s9", "expect": { "result": 9 } },
            { "host": "server", "process": "srv", "call": "setrlimit", "resource": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096, "expect": { "result": 0 } },
            { "host": "server", "call": "connect", "socket": "s9", "family": "AF_UNSPEC", "expect": { "result": 0 } },
            { "host": "server", "call": "setsockopt", "socket": "s", "option": "TCP_LINGER2", "value": -1 },
            { "host": "client", "process": "p1", "call": "shutdown", "socket": "c", "how": "SHUT_WR" },
            { "at": "200ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": ".S", "seq": 4294967295, "ack": 0, "win": 0, "len": 10 } },
            { "inject": { "from": "peer:40000", "to": "server:80", "flags": ".", "seq": 1, "ack": 1,
                          "options": { "sack": [ [1, 2], [4294967295, 5] ], "ts": { "val": 9, "ecr": "echo" }, "mss": 536, "wscale": 14, "sackOK": true } } },
            { "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 1, "options": { "ts": { "val": 4294967295 } } } },
            { "link": { "between": ["server", "client"], "direction": "server->client", "delay": "0ms" } },
            { "link": { "between": ["client", "server"], "loss": 0 } },
            { "sysctl": { "host": "server", "values": { "net.ipv4.tcp_fin_timeout": 5, "net.core.somaxconn": 1 } } },
            { "kill": { "host": "client", "process": "p1", "signal": "SIGUSR2" } },
            { "at": "+1.000000001s", "expect": {
                "sockets": [ { "socket": "c", "state": "FIN_WAIT2", "timer": "timewait", "timerLeft": "4s..5s" },
                             { "host": "server", "local": "10.0.0.2:80", "remote": "nat1:", "state": "ESTAB", "count": 1, "timer": "off" } ],
                "sockstat": { "client": { "inuse": 1, "orphan": 1, "tw": 0, "alloc": 2 } },
                "counters": { "client": { "TcpExtTW": 0, "TcpOutRsts": 1 }, "server": { "Tcp.CurrEstab": 1 } },
                "dmesg": { "server": [ "TCP: too many orphaned sockets", "again" ] } } }
          ],
          "expect": {
            "sockets": [ { "host": "peer", "count": 0 } ],
            "packets": [ { "from": "client:40001", "to": "server:80", "flags": "S", "at": "~1ms", "len": 0, "seq": 0, "ack": 0 },
                         { "from": "server", "flags": "S.", "win": 65160, "options": { "mss": null, "wscale": 7, "sackOK": false, "ts": { "ecr": 9 }, "sack": [] } },
                         { "from": "server", "flags": ".", "options": { "ts": false, "mss": 1460, "wscale": null, "sack": [ [0, 1] ] } },
                         { "from": "server", "flags": ".", "options": { "ts": true } } ],
            "packetsExact": [ { "from": "peer", "flags": "S." } ],
            "noPackets": [ { "flags": "R" } ],
            "data": { "c": { "sent": 1000 }, "s": { "delivered": 500, "lost": 0 } }
          },
          "runUntil": "90s"
        }
        """;

    [Fact]
    public void ToJson_EveryFeature_RoundTrips()
    {
        var doc = ScenarioParser.Parse(EverythingDocument).Valid();
        var canonical = ScenarioWriter.ToJson(doc);
        var again = ScenarioParser.Parse(canonical).Valid();

        StructuralEquality.AssertEqual(doc, again);
        Assert.Equal(canonical, ScenarioWriter.ToJson(again));
        Assert.Equal(32, doc.Steps.Length);
        Assert.Contains("\"resource\": \"RLIMIT_NOFILE\",", canonical);  // setrlimit with its resource
        Assert.Contains("\"at\": \"1.200000001s\"", canonical);   // relative times written as absolute
        Assert.Contains("\"flags\": \"S.\"", canonical);          // flags in canonical letter order
        Assert.Contains("\"state\": \"FIN-WAIT-2\"", canonical);  // states as ss prints them
        Assert.Contains("\"TcpExt.TW\": 0", canonical);           // counters dotted
        Assert.Contains("\"net.ipv4.ip_local_port_range\": \"40000\\t40009\"", canonical);
    }

    [Fact]
    public void ToJson_Defaults_AreWrittenExplicitly()
    {
        var doc = ScenarioParser.Parse(ScenarioJson.Base).Valid();
        var canonical = ScenarioWriter.ToJson(doc);

        Assert.Contains("\"kernel\": \"linux-6\"", canonical);
        Assert.Contains("\"seed\": 1", canonical);
        Assert.Contains("\"delay\": \"50us\"", canonical);
        Assert.Contains("\"process\": \"app\"", canonical);
        Assert.Contains("\"backlog\": 128", canonical);
    }
}
