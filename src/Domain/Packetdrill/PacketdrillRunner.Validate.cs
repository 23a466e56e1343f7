using System.Collections.Immutable;

namespace SimService.Domain.Packetdrill;

public sealed partial class PacketdrillRunner
{
    /// <summary>
    /// What <see cref="Run(string, PacketdrillOptions?)"/> would refuse, without running: syntax errors, then the
    /// constructs the simulator does not run, each with line and column; empty when the script would run.
    /// </summary>
    public static ImmutableArray<ScriptDiagnostic> Validate(string text, PacketdrillOptions? options = null)
    {
        var parsed = ScriptParser.Parse(text, options?.Interruption ?? default);
        return parsed.Script is { } script ? ScriptSupport.Check(script, options ?? new PacketdrillOptions()).Problems : parsed.Errors;
    }
}
