using SimService.Cli.Files;
using SimService.Cli.Running;

namespace SimService.Cli.Commands;

/// <summary>
/// <c>simservice export --server URL [--api-key KEY] [--output FILE|-] [--force] ID</c>: saves a simulation as a scenario file
/// (stdout without <c>--output</c> or for <c>-</c>; an existing file only with <c>--force</c>: <see cref="OutputFiles.Output"/>); exit 2 with the server's reason when it does not exist or cannot be exported.
/// </summary>
public static class ExportCommand
{
    public static readonly string[] Options = ["server", "api-key", "output", "timeout"];

    public static async Task<int> RunAsync(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (line.Value("server") is null) return RunCommand.Usage(error, "export needs --server URL");
        if (line.Arguments.Count != 1) return RunCommand.Usage(error, "export needs exactly one simulation id");
        if (!Guid.TryParse(line.Arguments[0], out var simulationId))
            return RunCommand.Usage(error, $"export: '{line.Arguments[0]}' is not a simulation id (a UUID such as 01a20b44-0000-7000-8000-000000000000)");
        var (file, overwrite) = OutputFiles.Output(line);
        if (overwrite is not null) return RunCommand.Usage(error, $"export: {overwrite}");
        var (client, clientError) = RunCommand.Connect(line);
        if (clientError is not null) return RunCommand.Usage(error, clientError);
        client!.Notices = error;
        using var _ = client;
        var id = line.Arguments[0];
        try
        {
            var (document, refusal) = await client!.ExportAsync(id, cancellationToken);
            if (refusal is not null) return RunCommand.Usage(error, $"simulation {id} was not exported: {refusal}");
            if (file is not null)
            {
                OutputFiles.Write("output", file, p => File.WriteAllText(p, document!.EndsWith('\n') ? document : document + "\n"));
                output.WriteLine($"saved simulation {id} as {file}");
            }
            else output.WriteLine(document);
            return ExitCodes.Ok;
        }
        catch (ServerUnavailableException e)
        {
            return RunCommand.Usage(error, e.Message);
        }
    }
}
