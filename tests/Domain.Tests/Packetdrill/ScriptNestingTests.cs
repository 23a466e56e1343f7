using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Packetdrill;

/// <summary>
/// Values nested past <see cref="ScriptParser.MaxNesting"/> are a parse problem at the token that goes past it. A stack
/// overflow cannot be caught and would end the test host, so each hostile shape proves the bound by completing.
/// </summary>
public class ScriptNestingTests
{
    const string Socket = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
    static readonly string TooDeep = $"a value nested deeper than {ScriptParser.MaxNesting} levels ({{ }}, [ ], ( ) and each | or = count one)";

    static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    /// <summary>The column (1-based) of the <paramref name="n"/>th <paramref name="token"/> on the script's second line.</summary>
    static int ColumnOf(string line, string token, int n)
    {
        int at = -1;
        for (int i = 0; i < n; i++) at = line.IndexOf(token, at + 1, StringComparison.Ordinal);
        return at + 1;
    }

    static void AssertTooDeep(string line, string token, int n)
    {
        var errors = PacketdrillRunner.Validate(Socket + line + "\n");
        var error = Assert.Single(errors);
        Assert.Equal((2, ColumnOf(line, token, n), TooDeep), (error.At.Line, error.At.Column, error.Message));
    }

    [Theory]
    [InlineData("{", "}")]
    [InlineData("[", "]")]
    public void Brackets_100000Deep_TheFirstPastTheLimitIsTheProblem(string open, string close)
    {
        var line = $"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {Repeat(open, 100_000)}{Repeat(close, 100_000)}, 8) = 0";
        AssertTooDeep(line, open, ScriptParser.MaxNesting + 1);
    }

    [Fact]
    public void Calls_100000Deep_TheFirstParenthesisPastTheLimitIsTheProblem()
    {
        var line = $"+0 bind(3, {Repeat("htons(", 100_000)}1{Repeat(")", 100_000)}, 16) = 0";
        AssertTooDeep(line, "(", ScriptParser.MaxNesting + 2); // bind's own ( is the first
    }

    [Fact]
    public void OrChain_1000000Terms_IsAProblemAtTheFirstBarPastTheLimit()
    {
        var line = $"+0 fcntl(3, F_SETFL, O_RDWR{Repeat("|O_RDWR", 999_999)}) = 0";
        AssertTooDeep(line, "|", ScriptParser.MaxNesting + 1);
    }

    [Fact]
    public void OrChain_AsTheResult_IsBoundedToo()
    {
        AssertTooDeep($"+0 fcntl(3, F_GETFL) = O_RDWR{Repeat("|O_RDWR", 1_000_000)}", "|", ScriptParser.MaxNesting + 1);
    }

    [Fact]
    public void EqualsChain_1000000Long_IsAProblemAtTheFirstEqualsPastTheLimit()
    {
        var line = $"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {{onoff={Repeat("a=", 1_000_000)}1, linger=1}}, 8) = 0";
        // the struct is one level, each = one more: the 64th = would be the 65th level
        AssertTooDeep(line, "=", ScriptParser.MaxNesting);
    }

    [Fact]
    public void StructsInStructMembers_100000Deep_AreAProblem()
    {
        var line = $"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {{onoff={Repeat("{onoff=", 100_000)}1{Repeat("}", 100_000)}, linger=1}}, 8) = 0";
        // levels alternate { and =: the 32nd = is level 64, the 33rd { level 65
        AssertTooDeep(line, "{", ScriptParser.MaxNesting / 2 + 1);
    }

    [Fact]
    public void BarChainOfDeepStructs_CountsEveryLevel()
    {
        // 63 brackets around a | (64 levels) are read; one more bracket puts the | at level 65
        var inner = $"{Repeat("[", 62)}{{a|b}}{Repeat("]", 62)}";
        Assert.True(ScriptParser.Parse($"{Socket}+0 ioctl(3, SIOCINQ, {inner}) = 0\n").IsValid);
        var line = $"+0 ioctl(3, SIOCINQ, [{inner}]) = 0";
        AssertTooDeep(line, "|", 1);
        // a chain of brackets: the | above a 64-level bracket is the 65th level
        AssertTooDeep($"+0 ioctl(3, SIOCINQ, {Repeat("[", 64)}{Repeat("]", 64)}|1) = 0", "|", 1);
    }

    [Fact]
    public void AtTheLimit_ScriptsParseAndTheCheckWalksThem()
    {
        var braces = $"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {Repeat("{", ScriptParser.MaxNesting)}{Repeat("}", ScriptParser.MaxNesting)}, 8) = 0";
        var chain = $"+0 fcntl(3, F_SETFL, O_RDWR{Repeat("|O_RDWR", ScriptParser.MaxNesting)}) = 0";
        var parsed = ScriptParser.Parse(Socket + braces + "\n" + chain + "\n");
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        var problems = PacketdrillRunner.Validate(Socket + braces + "\n" + chain + "\n");
        var braced = Repeat("{", ScriptParser.MaxNesting) + Repeat("}", ScriptParser.MaxNesting);
        Assert.Equal($"cannot read the value {braced} of SO_LINGER", Assert.Single(problems).Message);
        var printed = ((SyscallEvent)parsed.Script!.Events[2]).Arguments[2].ToString();
        Assert.Equal("O_RDWR" + Repeat("|O_RDWR", ScriptParser.MaxNesting), printed);
        AssertTooDeep(chain.Replace(")", "|O_RDWR)", StringComparison.Ordinal), "|", ScriptParser.MaxNesting + 1);
    }

    [Fact]
    public void AfterTheProblem_ReadingGoesOnAtTheNextLine()
    {
        var deep = $"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {Repeat("{", 1000)}{Repeat("}", 1000)}, 8) = 0";
        var errors = ScriptParser.Parse($"{Socket}{deep}\n+0 close(3) = 0\n+0 bogus\n").Errors;
        Assert.Equal([(2, TooDeep), (4, "expected a packet (< or >), a system call, a `command` or a %{ }% block after the time, found 'bogus'")],
            errors.Select(e => (e.At.Line, e.Message)));
    }
}
