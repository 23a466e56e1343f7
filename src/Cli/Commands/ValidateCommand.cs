using SimService.Cli.Files;
using SimService.Cli.Reports;

namespace SimService.Cli.Commands;

/// <summary>
/// <c>simservice validate PATH...</c>: checks every file against the format and its schema without running it;
/// prints each file's verdict and the JSON path of every problem; exit 0 when all are valid, 2 otherwise.
/// </summary>
public static class ValidateCommand
{
    public static int Run(CommandLine line, TextWriter output, TextWriter error)
    {
        var (files, pathError) = FileCollector.Collect(line.Arguments);
        if (pathError is not null) return RunCommand.Usage(error, pathError);
        int invalid = 0;
        foreach (var file in files)
        {
            IReadOnlyList<Running.Problem> problems;
            try
            {
                problems = file.Format.Validate(file.ReadText(), Path.GetFileName(file.FullPath));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems = [new Running.Problem("$", $"cannot read the file: {e.Message}")];
            }
            if (problems.Count == 0)
            {
                output.WriteLine(ConsoleReport.Shown($"VALID    {file.DisplayPath}"));
                if (file.Format is ScenarioJsonFormat)
                    foreach (var warning in ScenarioJsonFormat.ServerWarnings(file.ReadText())) output.WriteLine(ConsoleReport.Shown($"         warning {warning.Path}: {warning.Message}"));
                continue;
            }
            invalid++;
            output.WriteLine(ConsoleReport.Shown($"INVALID  {file.DisplayPath}  ({ConsoleReport.Count(problems.Count, "problem")})"));
            foreach (var problem in problems) output.WriteLine(ConsoleReport.Shown($"         {problem.Path}: {problem.Message}"));
        }
        output.WriteLine($"{ConsoleReport.Count(files.Count, "file")}: {files.Count - invalid} valid, {invalid} invalid");
        return invalid == 0 ? ExitCodes.Ok : ExitCodes.Invalid;
    }
}
