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
}
