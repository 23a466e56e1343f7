using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Packetdrill;

public class ScriptParserTests
{
    static PacketdrillScript Valid(string text)
    {
        var parsed = ScriptParser.Parse(text);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        return parsed.Script!;
    }

    static ScriptDiagnostic SingleError(string text)
    {
        var parsed = ScriptParser.Parse(text);
        Assert.False(parsed.IsValid);
        return Assert.Single(parsed.Errors);
    }

    /// <summary>packetdrill's grammar: <c>events: event | events event</c> — a script of no event does not parse.</summary>
    [Theory]
    [InlineData("", 1, 1)]
    [InlineData("// only a comment\n\n", 3, 1)]
    [InlineData("--tolerance_usecs=1000\n", 2, 1)]
    public void Script_NoEvents_IsAnError(string text, int line, int column)
    {
        var error = SingleError(text);

        Assert.Equal((line, column, "the script has no events (packetdrill needs at least one)"), (error.At.Line, error.At.Column, error.Message));
    }

    [Fact]
    public void Times_AllForms_ReadInMicroseconds()
    {
        var script = Valid("""
            0.100 close(3) = 0
            +0.1 close(3) = 0
            +.01 close(3) = 0
            2 close(3) = 0
            * > F. 1:1(0) ack 1
            0.1~0.2 > F. 1:1(0) ack 1
            +0.1~+0.25 > F. 1:1(0) ack 1
            """);
        Assert.Equal(new EventTime(EventTimeKind.Absolute, 100_000), script.Events[0].Time);
        Assert.Equal(new EventTime(EventTimeKind.Relative, 100_000), script.Events[1].Time);
        Assert.Equal(new EventTime(EventTimeKind.Relative, 10_000), script.Events[2].Time);
        Assert.Equal(new EventTime(EventTimeKind.Absolute, 2_000_000), script.Events[3].Time);
        Assert.Equal(EventTimeKind.Any, script.Events[4].Time.Kind);
        Assert.Equal(new EventTime(EventTimeKind.AbsoluteRange, 100_000, 200_000), script.Events[5].Time);
        Assert.Equal(new EventTime(EventTimeKind.RelativeRange, 100_000, 250_000), script.Events[6].Time);
    }

    [Fact]
    public void BlockingCall_StartEllipsisEnd_KeepsEndTime()
    {
        var call = Assert.IsType<SyscallEvent>(Assert.Single(Valid("+0...0.2 read(4, ..., 1000) = 1000").Events));
        Assert.Equal(200_000, call.EndUs);
        Assert.Equal("read", call.Name);
        Assert.Equal(3, call.Arguments.Length);
        Assert.IsType<EllipsisExpr>(call.Arguments[1]);
        Assert.Equal(1000, Assert.IsType<IntExpr>(call.Result).Value);
    }

    [Fact]
    public void Syscall_ErrnoAndNote_ReadsErrno()
    {
        var call = Assert.IsType<SyscallEvent>(Assert.Single(Valid("+0 read(3, ..., 10) = -1 ECONNRESET (Connection reset by peer)").Events));
        Assert.Equal(-1, Assert.IsType<IntExpr>(call.Result).Value);
        Assert.Equal("ECONNRESET", call.Errno);
    }

    [Fact]
    public void Syscall_StructAndListArguments_AreParsed()
    {
        var events = Valid("""
            +0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
            +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
            +0 connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("192.0.2.1")}, 16) = 0
            """).Events.Cast<SyscallEvent>().ToList();
        var linger = Assert.IsType<StructExpr>(events[0].Arguments[3]);
        Assert.Equal(1, Assert.IsType<IntExpr>(linger.Field("onoff")).Value);
        Assert.Equal(0, Assert.IsType<IntExpr>(linger.Field("linger")).Value);
        Assert.Equal(1, Assert.IsType<IntExpr>(Assert.Single(Assert.IsType<ListExpr>(events[1].Arguments[3]).Items)).Value);
        var addr = Assert.IsType<StructExpr>(events[2].Arguments[1]);
        Assert.Equal("htons(80)", addr.Field("sin_port")!.ToString());
    }

    [Fact]
    public void InboundPacket_FlagsSeqAckWinOptions_AreParsed()
    {
        var p = Assert.IsType<PacketEvent>(Assert.Single(Valid(
            "+0 < S. 0:0(0) ack 1 win 32792 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>").Events));
        Assert.Equal(PacketDirection.Inbound, p.Direction);
        Assert.Equal("S.", p.FlagsText);
        Assert.Equal((uint)1, p.Ack);
        Assert.Equal((ushort)32792, p.Window);
        Assert.Equal("mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8", string.Join(",", p.Options!.Value));
    }

    [Fact]
    public void OutboundPacket_EllipsisOptions_AreNotChecked()
    {
        var p = Assert.IsType<PacketEvent>(Assert.Single(Valid("+0 > S 0:0(0) <...>").Events));
        Assert.Null(p.Options);
        Assert.Null(p.Window);
    }

    [Fact]
    public void OutboundPacket_NoOptionsWritten_ExpectsNone()
    {
        var p = Assert.IsType<PacketEvent>(Assert.Single(Valid("+0 > . 1:1(0) ack 1").Events));
        Assert.True(p.Options!.Value.IsEmpty);
    }

    [Fact]
    public void SackOption_SeveralBlocks_AreKept()
    {
        var p = Assert.IsType<PacketEvent>(Assert.Single(Valid("+0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001 3001:4001>").Events));
        var sack = Assert.IsType<SackOption>(p.Options!.Value[2]);
        Assert.Equal([(1001u, 2001u), (3001u, 4001u)], sack.Blocks.ToArray());
    }

    [Fact]
    public void Header_OptionsAndInitCommand_AreRead()
    {
        var script = Valid("""
            --tolerance_usecs=10000
            --ip_version=ipv4
            `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            """);
        Assert.Equal(["tolerance_usecs=10000", "ip_version=ipv4"], script.Options.Select(o => $"{o.Name}={o.Value}"));
        Assert.Equal("./defaults.sh", Assert.IsType<ShellEvent>(script.Events[0]).Command);
    }

    [Fact]
    public void Comments_LineAndBlock_AreSkipped()
    {
        var script = Valid("""
            // a comment
            /* a block
               comment */ 0 close(3) = 0 // trailing
            """);
        Assert.Equal(new ScriptPosition(3, 15), Assert.Single(script.Events).At);
    }

    [Fact]
    public void CodeBlock_TcpiAssertion_IsKept()
    {
        var code = Assert.IsType<CodeEvent>(Assert.Single(Valid("+0 %{ assert tcpi_state == TCP_CLOSE_WAIT, tcpi_state }%").Events));
        var a = Assert.Single(code.Assertions);
        Assert.Equal(("tcpi_state", "==", "TCP_CLOSE_WAIT"), (a.Field, a.Operator, a.Value));
    }

    [Fact]
    public void InboundPacket_WithoutWindow_IsAnErrorAtTheFlags()
    {
        var e = SingleError("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < . 1:1(0) ack 1\n");
        Assert.Equal(new ScriptPosition(2, 4), e.At);
        Assert.Equal("window must be specified for inbound packets", e.Message);
    }

    [Fact]
    public void Packet_InconsistentLength_IsAnErrorAtTheSequence()
    {
        var e = SingleError("+0 > P. 1:1001(100) ack 1");
        Assert.Equal(new ScriptPosition(1, 9), e.At);
        Assert.Equal("inconsistent TCP sequence numbers and payload size", e.Message);
    }

    [Fact]
    public void InboundPacket_EllipsisOptions_IsAnError()
    {
        var e = SingleError("+0 < S 0:0(0) win 100 <...>");
        Assert.Equal(new ScriptPosition(1, 23), e.At);
        Assert.Equal("<...> for TCP options can only be used with outbound packets", e.Message);
    }

    [Fact]
    public void StarTime_OnSyscall_IsAnError()
    {
        var e = SingleError("* close(3) = 0");
        Assert.Equal("event time <star> can only be used with outbound packets", e.Message);
        Assert.Equal(new ScriptPosition(1, 1), e.At);
    }

    [Fact]
    public void MissingTime_IsAnErrorAndReadingResumesNextLine()
    {
        var parsed = ScriptParser.Parse("close(3) = 0\n+0 close(3) = 0\n+0 frobnicate\n");
        Assert.Equal(
            [new ScriptDiagnostic(new ScriptPosition(1, 1), "expected an event time (0.100, +0.1, * or a range), found 'close'"),
             new ScriptDiagnostic(new ScriptPosition(3, 4), "expected a packet (< or >), a system call, a `command` or a %{ }% block after the time, found 'frobnicate'")],
            parsed.Errors.ToArray());
    }

    [Fact]
    public void Ipv6Packet_IsUnsupportedWithPosition()
    {
        var e = SingleError("+0 < ipv6 fd3d::1 > fd3d::2: S 0:0(0) win 100");
        Assert.True(e.Unsupported);
        Assert.Equal(new ScriptPosition(1, 6), e.At);
    }

    [Fact]
    public void FastOpenOption_IsUnsupportedWithPosition()
    {
        var e = SingleError("+0 > S 0:0(0) <mss 1460,FO abcd1234,nop,nop>");
        Assert.True(e.Unsupported);
        Assert.Equal(new ScriptPosition(1, 25), e.At);
        Assert.Contains("Fast Open", e.Message);
    }

    /// <summary>packetdrill's E (ECE) and W (CWR), before or after the "." of ACK — one run of letters.</summary>
    [Theory]
    [InlineData("+0 > SEW 0:0(0) <...>", "SEW")]
    [InlineData("+0 > S.E 0:0(0) ack 1 <...>", "S.E")]
    [InlineData("+0 > SE. 0:0(0) ack 1 <...>", "SE.")]
    [InlineData("+0 > P.W 1:11(10) ack 1", "P.W")]
    [InlineData("+0 < .W 1:11(10) ack 1 win 257", ".W")]
    public void EcnFlags_ParsedAsOneRun(string line, string flags)
    {
        var p = Assert.IsType<PacketEvent>(Assert.Single(Valid(line).Events));
        Assert.Equal(flags, p.FlagsText);
    }

    /// <summary>An inbound ECE without SYN is an ECN echo (tcp_ecn_rcv_ecn_echo()): the cwnd reduction it starts is not modelled.</summary>
    [Fact]
    public void InboundEceWithoutSyn_IsUnsupportedWithPosition()
    {
        var e = SingleError("+0 < .E 1:1(0) ack 1 win 257");
        Assert.True(e.Unsupported);
        Assert.Equal(new ScriptPosition(1, 6), e.At);
        Assert.Contains("tcp_ecn_rcv_ecn_echo()", e.Message);
    }

    /// <summary>
    /// An inbound SYN-ACK with CWR — S.W (ACE 0b010) or S.EW (0b011): to a client that asked for ECN, 6.18's
    /// tcp_ecn_rcv_synack() enters AccECN mode (its handshake ACK then carries CWR), which is not modelled. S.E is classic.
    /// </summary>
    [Theory]
    [InlineData("S.W")]
    [InlineData("SEW.")]
    public void InboundSynAckWithCwr_IsUnsupportedWithPosition(string flags)
    {
        var e = SingleError($"+0 < {flags} 0:0(0) ack 1 win 65535");
        Assert.True(e.Unsupported);
        Assert.Equal(new ScriptPosition(1, 6), e.At);
        Assert.Contains("TCP_ECN_MODE_ACCECN", e.Message);
    }

    [Fact]
    public void AccEcnAeFlag_IsUnsupportedWithPosition()
    {
        var e = SingleError("+0 > SEWA 0:0(0) <...>");
        Assert.True(e.Unsupported);
        Assert.Equal(new ScriptPosition(1, 6), e.At);
    }

    [Fact]
    public void CodeBlock_BeyondTcpiAssertions_IsUnsupportedAtItsLine()
    {
        var e = SingleError("+0 %{\nassert tcpi_state == 1\nimport os\n}%");
        Assert.True(e.Unsupported);
        Assert.Equal(new ScriptPosition(3, 1), e.At);
        Assert.Contains("import os", e.Message);
    }

    [Fact]
    public void UnterminatedBacktick_IsAnError()
    {
        var e = SingleError("+0 `sysctl -q net.ipv4.tcp_sack=0\n");
        Assert.Equal(new ScriptPosition(1, 4), e.At);
        Assert.Equal("unterminated backtick command", e.Message);
    }
}
