namespace SimService.Cli.Commands;

/// <summary>The commented starter scenario <c>simservice new</c> prints: it validates and passes as written.</summary>
public static class Starter
{
    public const string Text = """
        // A SimService scenario (docs/scenario-format.md). simservice reads // and /* */ comments and drops them
        // before it validates, runs or sends the document; strip them (or keep them out) if you POST it with curl.
        // Try:  simservice validate my-scenario.json && simservice run --in-process my-scenario.json
        {
          "name": "my-scenario",                  // lower-case letters, digits and '-'
          "description": "The client closes first: FIN-WAIT-2, then TIME-WAIT for 60 s; the server passes CLOSE-WAIT and LAST-ACK.",
          "kernel": "linux-6",                    // or "linux-4.4" for the legacy rules (tcp_tw_recycle)
          "seed": 1,                              // every pseudo-random choice (ISNs, loss) follows from it
          "hosts": {
            "client": { "address": "10.0.0.1" },
            "server": { "address": "10.0.0.2", "sysctls": { "net.ipv4.tcp_fin_timeout": 60 } }
          },
          "links": [ { "between": ["client", "server"], "delay": "10ms" } ],   // one-way delay; add "loss": 0.1 for a lossy link
          "steps": [
            // "at" is virtual time: every packet and timer due by then has been processed before the step runs.
            { "at": "0ms",   "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "1ms",   "host": "client", "call": "connect", "to": "server:80", "as": "c", "expect": { "result": 0 } },
            { "at": "1ms",   "host": "server", "call": "accept", "socket": "listener", "as": "s" },
            { "at": "100ms", "host": "client", "call": "close", "socket": "c", "expect": { "result": 0 } },
            // recv() returns 0 (EOF) when the client's FIN arrives; "returnsAfter" checks how long it blocked.
            { "at": "100ms", "host": "server", "call": "recv", "socket": "s", "expect": { "result": 0, "returnsAfter": "~10ms" } },
            // A step without a call only checks: here the sockets as `ss` would list them.
            { "at": "300ms", "expect": { "sockets": [
                { "host": "client", "remote": "server:80", "state": "FIN-WAIT-2", "count": 1 },
                { "socket": "s", "state": "CLOSE-WAIT" } ] } },
            { "at": "400ms", "host": "server", "call": "close", "socket": "s", "expect": { "result": 0 } },
            { "at": "1s", "expect": {
                "sockets": [ { "host": "client", "remote": "server:80", "state": "TIME-WAIT", "count": 1, "timer": "timewait" } ],
                "sockstat": { "client": { "tw": 1 } } } }
          ],
          // Checked once the run is over (it runs until nothing is pending, at most an hour after the last step).
          "expect": {
            "packets": [ { "from": "client", "to": "server", "flags": "F.", "at": "~100ms" } ],
            "noPackets": [ { "flags": "R" } ],
            "counters": { "client": { "TcpExt.TW": 1 } }
          }
        }

        """;
}
