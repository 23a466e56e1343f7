extern alias cli;

using cli::SimService.Cli.Kernel;

namespace SimService.Cli.Tests;

/// <summary>
/// The kernel runner takes a scenario call for a blocking one — and goes on to the next step — only while its worker
/// sleeps in a system call that may be the call: /proc/self/task/TID/syscall's number, not futex(2) (202 on x86-64,
/// the .NET runtime's own waits), nor "running" or -1 (outside a system call). Timers seed 59, case 0: the worker of a
/// setsockopt(SO_LINGER) seen asleep in a futex let the close() of the same instant run first (EBADF in 4 of 5 runs).
/// </summary>
public sealed class ScenarioCallsTests
{
    [Theory]
    [InlineData("288 0x3 0x0 0x0 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503\n", true)] // accept4
    [InlineData("42 0x3 0x7ffc1 0x10 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503", true)] // connect
    [InlineData("3 0x4 0x0 0x0 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503", true)] // close, lingering
    [InlineData("202 0x7f1 0x80 0x0 0x0 0x0 0x0 0x7ffc22359050 0x7f47a946c503", false)] // futex
    [InlineData("-1 0x7ffc22359050 0x7f47a946c503", false)]
    [InlineData("running", false)]
    [InlineData("", false)]
    public void InCall_SocketCallYesRuntimeWaitNo(string syscall, bool inCall) => Assert.Equal(inCall, ScenarioCalls.InCall(syscall));
}
