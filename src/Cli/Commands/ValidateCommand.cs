using SimService.Cli.Files;
using SimService.Cli.Reports;

namespace SimService.Cli.Commands;

/// <summary>
/// <c>simservice validate PATH...</c>: checks every file against the format and its schema without running it;
/// prints each file's verdict and the JSON path of every problem; exit 0 when all are valid, 2 otherwise (130, by Program,
/// when interrupted: the file being read is said STOPPED and no other starts).
/// </summary>
public static class ValidateCommand
{
    public static int Run(CommandLine line, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var (files, pathError) = FileCollector.Collect(line.Arguments);
        if (pathError is not null) return RunCommand.Usage(error, pathError);
        int invalid = 0, done = 0;
        bool stopped = false;
        // Ctrl-C, SIGTERM or SIGHUP: the file being read stops where it got to and is said STOPPED, no other starts, and the
        // summary counts both (tester41 MEDIUM-2: validate read on, started the next file and printed a plain summary).
        for (; done < files.Count && !cancellationToken.IsCancellationRequested; done++)
        {
            var file = files[done];
            IReadOnlyList<Running.Problem> problems, warnings = [];
            try
            {
                var text = file.ReadText();
                problems = file.Format.Validate(text, Path.GetFileName(file.FullPath), cancellationToken);
                if (problems.Count == 0 && file.Format is ScenarioJsonFormat) warnings = ScenarioJsonFormat.ServerWarnings(text, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems = [new Running.Problem("$", $"cannot read the file: {e.Message}")];
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                output.WriteLine(ConsoleReport.Shown($"STOPPED  {file.DisplayPath}"));
                output.WriteLine("         $: the validation was stopped: the tool was interrupted");
                stopped = true;
                done++;
                break;
            }
            if (problems.Count == 0)
            {
                output.WriteLine(ConsoleReport.Shown($"VALID    {file.DisplayPath}"));
                foreach (var warning in warnings) ConsoleReport.WriteProblem(output, "warning ", warning);
                continue;
            }
            invalid++;
            output.WriteLine(ConsoleReport.Shown($"INVALID  {file.DisplayPath}  ({ConsoleReport.Count(problems.Count, "problem")})"));
            foreach (var problem in problems) ConsoleReport.WriteProblem(output, "", problem);
        }
        ConsoleReport.WriteNotRun(error, done, files.Count);
        int interrupted = stopped ? 1 : 0, notRun = files.Count - done;
        output.WriteLine($"{ConsoleReport.Count(files.Count, "file")}: {done - invalid - interrupted} valid, {invalid} invalid"
            + (interrupted > 0 ? ", 1 interrupted" : "") + (notRun > 0 ? $", {notRun} not run" : ""));
        return invalid == 0 ? ExitCodes.Ok : ExitCodes.Invalid;
    }
}
