using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Packetdrill;

/// <summary><see cref="PacketdrillRunner.Validate"/>: what a run would refuse, without running.</summary>
public class ValidateTests
{
    [Fact]
    public void SupportedScript_Validate_NoProblem()
    {
        var problems = PacketdrillRunner.Validate("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = 0\n");

        Assert.Empty(problems);
    }

    [Fact]
    public void UnknownSystemCall_Validate_RefusedAtItsLineAndColumn()
    {
        var problems = PacketdrillRunner.Validate("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 frobnicate(3) = 0\n");

        var problem = Assert.Single(problems);
        Assert.Equal((2, 1, true), (problem.At.Line, problem.At.Column, problem.Unsupported));
        Assert.Equal(problem, Assert.Single(PacketdrillRunner.Run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 frobnicate(3) = 0\n").Diagnostics));
    }

    [Fact]
    public void SyntaxError_Validate_ReportsTheParserError()
    {
        var problems = PacketdrillRunner.Validate("0 socket(..., SOCK_STREAM\n");

        Assert.NotEmpty(problems);
        Assert.False(problems[0].Unsupported);
    }

    const string Socket = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

    /// <summary>
    /// An option line's bad value says what the option takes (tester38 LOW-12: "bad value '99999999999'" alone), in the
    /// words the API's query parameter uses (<see cref="PacketdrillOptions.Takes"/>).
    /// </summary>
    [Fact]
    public void ToleranceOptionPastAnInt_RefusedNamingWhatItTakes()
    {
        var problem = Assert.Single(PacketdrillRunner.Validate("--tolerance_usecs=99999999999\n" + Socket));

        Assert.Equal((1, 1, "--tolerance_usecs: bad value '99999999999': a number of microseconds from 0 to 2147483647 (an int, as packetdrill's)"),
            (problem.At.Line, problem.At.Column, problem.Message));
    }

    [Fact]
    public void InboundSegment_FourSackBlocks_Accepted()
    {
        var problems = PacketdrillRunner.Validate(Socket + "+0 < . 1:1(0) ack 1 win 257 <nop,nop,sack 1:2 3:4 5:6 7:8>\n");

        Assert.Empty(problems);
    }

    [Fact]
    public void InboundSegment_FiveSackBlocks_OptionListTooLongAtTheSackOption()
    {
        // 2 NOPs + 2 + 5 x 8 = 44 bytes: beyond MAX_TCP_OPTION_BYTES (40).
        var problems = PacketdrillRunner.Validate(Socket + "+0 < . 1:1(0) ack 1 win 257 <nop,nop,sack 1:2 3:4 5:6 7:8 9:10>\n");

        var problem = Assert.Single(problems);
        Assert.Equal((2, 38, false, "TCP option list too long"), (problem.At.Line, problem.At.Column, problem.Unsupported, problem.Message));
    }

    [Fact]
    public void InboundSegment_FourSackBlocksBesideTimestamp_OptionListTooLong()
    {
        // 2 + 10 + 2 + 34 = 48 bytes: beside a timestamp only 3 blocks fit (tcp_options_write()).
        var problems = PacketdrillRunner.Validate(Socket + "+0 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 1 ecr 1,nop,nop,sack 1:2 3:4 5:6 7:8>\n");

        Assert.Equal("TCP option list too long", Assert.Single(problems).Message);
    }

    [Fact]
    public void Setsockopt_TimevalForSoRcvtimeo_Accepted()
    {
        var problems = PacketdrillRunner.Validate(Socket +
            "+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, {tv_sec=1, tv_usec=0}, 16) = 0\n" +
            "+0 getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, {tv_sec=0, tv_usec=0}, [16]) = 0\n" +
            "+0 setsockopt(3, SOL_IP, IP_LOCAL_PORT_RANGE, [0x9c409c40], 4) = 0\n" +
            "+0 setsockopt(3, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, [1], 4) = 0\n");

        Assert.Empty(problems);
    }

    [Fact]
    public void Setsockopt_IntForSoSndtimeo_RefusedAsUnsupported()
    {
        var problem = Assert.Single(PacketdrillRunner.Validate(Socket + "+0 setsockopt(3, SOL_SOCKET, SO_SNDTIMEO, 1, 4) = -1 EINVAL\n"));

        Assert.Equal((2, 43, true), (problem.At.Line, problem.At.Column, problem.Unsupported));
    }

    [Fact]
    public void Setsockopt_OptionAtAnotherLevel_RefusedAsUnsupported()
    {
        var problem = Assert.Single(PacketdrillRunner.Validate(Socket + "+0 setsockopt(3, SOL_SOCKET, IP_LOCAL_PORT_RANGE, [0], 4) = 0\n"));

        Assert.Equal((2, 18, true), (problem.At.Line, problem.At.Column, problem.Unsupported));
    }

    /// <summary>tests/TestData/packetdrill/absolute-handshake.pkt (Cli.Tests' BadInputTests runs the same lines through the tool).</summary>
    static string AbsoluteHandshake => SimService.Tests.Shared.SharedTestData.AbsoluteHandshake;

    /// <summary>
    /// get_next_event() in packetdrill's run.c: an absolute time earlier than the absolute time before it is an error at
    /// its line, "time goes backward in script from 100000 usec to 50000 usec" (the script passed). Relative events are not
    /// compared, and an absolute event equal to the one before is in order.
    /// </summary>
    [Fact]
    public void AbsoluteTimeEarlierThanTheAbsoluteTimeBefore_TimeGoesBackwardAtItsLine()
    {
        var script = AbsoluteHandshake + "0.050 close(4) = 0\n";

        var problem = Assert.Single(PacketdrillRunner.Validate(script));
        Assert.Equal((9, 1, false, "time goes backward in script from 100000 usec to 50000 usec"),
            (problem.At.Line, problem.At.Column, problem.Unsupported, problem.Message));
        Assert.Equal(problem, Assert.Single(PacketdrillRunner.Run(script).Diagnostics));
        Assert.Empty(PacketdrillRunner.Validate(AbsoluteHandshake + "0.100 close(4) = 0\n"));
        Assert.Empty(PacketdrillRunner.Validate(AbsoluteHandshake + "+0 close(4) = 0\n"));
        var afterRange = Assert.Single(PacketdrillRunner.Validate(AbsoluteHandshake + "0.100 close(4) = 0\n0.2~0.3 > F. 1:1(0) ack 1\n0.150 < . 1:1(0) ack 2 win 257\n"));
        Assert.Equal((11, "time goes backward in script from 200000 usec to 150000 usec"), (afterRange.At.Line, afterRange.Message));
    }

    /// <summary>get_s32() in packetdrill's run_system_call.c: a descriptor past INT_MIN..UINT_MAX is out of range at the argument.</summary>
    [Theory]
    [InlineData("99999999999", true)]
    [InlineData("-2147483649", true)]
    [InlineData("4294967295", false)]
    public void DescriptorPast32Bits_OutOfRangeAtTheArgument(string fd, bool refused)
    {
        var problems = PacketdrillRunner.Validate(Socket + $"+0 close({fd}) = -1 EBADF (Bad file descriptor)\n");

        if (!refused)
        {
            Assert.Empty(problems);
            return;
        }
        var problem = Assert.Single(problems);
        Assert.Equal((2, 10, false, $"Value out of range for 32-bit integer: {fd}"), (problem.At.Line, problem.At.Column, problem.Unsupported, problem.Message));
    }
    /// <summary>
    /// struct linger holds two ints: packetdrill reads onoff and linger with get_s32() as it reads an int argument, so a
    /// member past INT_MIN..UINT_MAX is out of range at the member (99999999999 ran and read back 99999999999 before).
    /// </summary>
    [Theory]
    [InlineData("setsockopt", "{onoff=1, linger=99999999999}", 58)]
    [InlineData("setsockopt", "{onoff=-2147483649, linger=5}", 48)]
    [InlineData("getsockopt", "{l_onoff=1, l_linger=[4294967296]}", 63)]
    public void LingerMemberPast32Bits_OutOfRangeAtTheMember(string call, string linger, int column)
    {
        var length = call == "setsockopt" ? "8" : "[8]";
        var problem = Assert.Single(PacketdrillRunner.Validate(Socket + $"+0 {call}(3, SOL_SOCKET, SO_LINGER, {linger}, {length}) = 0\n"));

        var member = linger.Split('=', ',', '}', '[', ']').First(w => w.Length > 9);
        Assert.Equal((2, column, false, $"Value out of range for 32-bit integer: {member}"), (problem.At.Line, problem.At.Column, problem.Unsupported, problem.Message));
        Assert.Empty(PacketdrillRunner.Validate(Socket + "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=4294967295}, 8) = 0\n"));
    }

    /// <summary>One time of a script is at most 1,000,000,000 s: the message says so (it said "time out of range" only).</summary>
    [Theory]
    [InlineData("+2000000000 close(3) = 0\n", "a relative time", "2000000000")]
    [InlineData("1~1000000000.5 close(3) = 0\n", "the end of a time range", "1000000000.5")]
    public void TimePastTheLimit_SaysTheLimit(string line, string what, string found)
    {
        var problem = Assert.Single(PacketdrillRunner.Validate(Socket + line));

        Assert.Equal((2, $"time out of range: {what} is at most 1000000000 seconds, found {found}"), (problem.At.Line, problem.Message));
        Assert.Empty(PacketdrillRunner.Validate(Socket + "+1000000000 close(3) = 0\n"));
    }
}
