using SimService.Domain.Commands;
using SimService.Domain.Tcp;

namespace SimService.Domain.Packetdrill;

public sealed partial class PacketdrillRunner
{
    /// <summary>A backtick line: its sysctl settings, applied to the host under test at the event's time.</summary>
    bool Shell(ShellEvent c)
    {
        var at = StartOf(c.Time);
        RunTo(at);
        if (_failure is not null || !StartsOnTime(c, at, "command")) return false;
        _anchor = at;
        var (sets, _) = ShellCommands.Parse(c.Command);
        foreach (var (name, value) in sets)
        {
            var outcome = Apply(new SetSysctlCommand(LocalHost, name, value));
            if (outcome.Error is { } e) return Fail(c, "error executing `", $"{c.Command.Trim()}` command: {e.Message}", $"{name}={value}", e.Message);
        }
        return true;
    }

    /// <summary>
    /// A %{ }% block: packetdrill runs it afterwards over the tcp_info it captured at the event's
    /// time; here each <c>assert tcpi_x OP value</c> is checked on the spot against the engine's
    /// tcp_get_info() of the socket the script used last.
    /// </summary>
    bool Code(CodeEvent c)
    {
        var at = StartOf(c.Time);
        RunTo(at);
        if (_failure is not null || !StartsOnTime(c, at, "data collection for code")) return false;
        _anchor = at;
        var sk = _sim.FindSocket(_socketUnderTest);
        if (_recorder is not null)
        {
            // Record mode: the values, not the assertions. A connection in TIME-WAIT (or an orphan parked in FIN-WAIT-2)
            // is a timewait socket: sock_diag gives its tw_substate and no tcp_info. A freed socket has none.
            bool gone = sk is null || sk.Destroyed && sk.Owner is null;
            var tw = gone ? _sim.FindHost(LocalHost)!.TimeWaitSockets.FirstOrDefault(t => t.SocketId == _socketUnderTest && t.Alive) : null;
            foreach (var a in c.Assertions)
                _recorder.Info(at.Ns, c.At.Line, a.Field, !gone ? $"{Read(sk!, a.Field)}"
                    : a.Field == "tcpi_state" && tw is not null ? $"{(int)tw.Substate}" : "none");
            return true;
        }
        if (sk is null) return Fail(c, "error in Python code: ", "no socket to read tcp_info or SO_MEMINFO from", "a socket", "none");
        foreach (var a in c.Assertions)
        {
            long actual = Read(sk, a.Field);
            if (!AssertionValue.TryParse(a.Value, out var expected))
                return Fail(c, "error in Python code: ", $"unknown value '{a.Value}' in `{a.Text}`", a.Value, $"{actual}");
            if (!expected.Holds(a.Operator, actual, expected.Field is { } field ? Read(sk, field) : 0))
                return Fail(c, "error in Python code: ", $"AssertionError: {a.Text} ({a.Field} is {actual})", $"{a.Field} {a.Operator} {a.Value}", $"{a.Field} = {actual}");
        }
        return true;
    }

    /// <summary>A field an assertion names: tcp_get_info()'s, or sk_get_meminfo()'s for a skmem_ name.</summary>
    static long Read(TcpSocket sk, string field) =>
        SkmemFields.IndexOf(field) is var i and >= 0 ? sk.Meminfo.Field(i) : TcpInfoFields.Read(sk.Info, field);

}
