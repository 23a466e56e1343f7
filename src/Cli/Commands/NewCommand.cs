using SimService.Cli.Files;

namespace SimService.Cli.Commands;

/// <summary><c>simservice new [--output FILE|-] [--force]</c>: the commented starter scenario, on stdout or into a new file (<see cref="OutputFiles.Output"/>).</summary>
public static class NewCommand
{
    public static int Run(CommandLine line, TextWriter output, TextWriter error)
    {
        if (line.Arguments.Count > 0) return RunCommand.Usage(error, "new takes no arguments (use --output FILE)");
        var (file, refusal) = OutputFiles.Output(line);
        if (refusal is not null) return RunCommand.Usage(error, $"new: {refusal}");
        if (file is null)
        {
            output.Write(Starter.Text);
            return ExitCodes.Ok;
        }
        OutputFiles.Write("output", file, p => File.WriteAllText(p, Starter.Text));
        output.WriteLine($"wrote {file}: edit it, then: simservice run {file}");
        return ExitCodes.Ok;
    }
}
