using SimService.Cli.Running;
using SimService.Cli.Files;
using SimService.Domain.Text;

namespace SimService.Cli.Reports;

/// <summary>
/// The readable report: one line per file as it finishes, then under a failed file each failed check (expected,
/// actual, virtual time) and each run error; under an invalid file each problem with its JSON path; a summary last.
/// </summary>
public static class ConsoleReport
{
    public static void WriteFile(TextWriter output, FileResult result, string clock = "virtual")
    {
        switch (result.Outcome)
        {
            case FileOutcome.Passed:
                output.WriteLine(Shown($"PASS     {result.File}  ({Count(result.Checks.Count, "check")}, {Virtual(result, clock)}, {result.Seconds:0.00} s)"));
                break;
            case FileOutcome.Failed or FileOutcome.Interrupted:
                // An interrupted file is neither passed nor failed (tester40 LOW-2: its line said FAIL, the summary "0 failed"): its
                // line says so, and what stopped it is no run error. STOPPED, as wide as PASS, FAIL and INVALID with their spaces
                // (review40c N-2: INTERRUPTED put its file 3 columns right of the others').
                bool stopped = result.Outcome == FileOutcome.Interrupted;
                int failed = result.FailedChecks.Count();
                // "all checks passed" said nothing of the checks a stopped run never reached: the count that ran and passed.
                var what = failed > 0 ? $"{failed} of {Count(result.Checks.Count, "check")} failed" : $"{Count(result.Checks.Count, "check")} passed";
                if (result.Problems.Count > 0 && !stopped) what += $", {Count(result.Problems.Count, "run error")}";
                output.WriteLine(Shown($"{(stopped ? "STOPPED " : "FAIL    ")} {result.File}  ({what}, {Virtual(result, clock)}, {result.Seconds:0.00} s)"));
                foreach (var check in result.FailedChecks)
                    output.WriteLine(Shown($"         {check.Kind} {check.Path} at {check.At}: expected {check.Expected}; actual {check.Actual}"));
                foreach (var problem in result.Problems) WriteProblem(output, stopped ? "" : "run error ", problem);
                break;
            default:
                output.WriteLine(Shown($"INVALID  {result.File}  ({Count(result.Problems.Count, "problem")})"));
                foreach (var problem in result.Problems) WriteProblem(output, "", problem);
                break;
        }
    }

    /// <summary>
    /// A problem's line under its file, its quote of the file bounded as the API bounds its problems (<see cref="QuotedText"/>:
    /// a run of more than 64 characters cut to 64 and "…"): a 300,000-letter <c>flags</c> made one 300,140-character line (tester41 LOW-4).
    /// </summary>
    public static void WriteProblem(TextWriter output, string kind, Problem problem) =>
        output.WriteLine(Shown($"         {kind}{QuotedText.Bounded($"{problem.Path}: {problem.Message}")}"));

    /// <param name="notRun">The files given that no run started for (an interrupt stopped the tool before them): counted in the
    /// files, as <c>--json</c>'s summary counts them (tester40 LOW-2: the console's count was the files run, --json's all given).</param>
    public static void WriteSummary(TextWriter output, IReadOnlyList<FileResult> results, int notRun, string mode, double seconds)
    {
        var (passed, failed, invalid, interrupted) = Counts(results);
        output.WriteLine($"{Count(results.Count + notRun, "file")}: {passed} passed, {failed} failed, {invalid} invalid"
            + (interrupted > 0 ? $", {interrupted} interrupted" : "") + (notRun > 0 ? $", {notRun} not run" : "") + $" ({mode}, {seconds:0.00} s)");
    }

    /// <summary>
    /// The files passed, failed, invalid and interrupted, which add up to all run — in the console's summary and --json's alike
    /// (review38a N-5: --json counted an interrupted file failed).
    /// </summary>
    public static (int Passed, int Failed, int Invalid, int Interrupted) Counts(IReadOnlyList<FileResult> results) =>
        (results.Count(r => r.Outcome == FileOutcome.Passed), results.Count(r => r.Outcome == FileOutcome.Failed),
            results.Count(r => r.Outcome == FileOutcome.Invalid), results.Count(r => r.Outcome == FileOutcome.Interrupted));

    /// <summary>The files given after the <paramref name="run"/> that ran (an interrupt stopped the tool before them), as shown.</summary>
    public static IReadOnlyList<string> NotRun(IReadOnlyList<ScenarioFile> files, int run) => [.. files.Skip(run).Select(f => f.DisplayPath)];

    /// <summary>After an interrupt (<c>run</c> and <c>kernel</c> alike): how many of the files given were not run, on standard error.</summary>
    public static void WriteNotRun(TextWriter error, int run, int files)
    {
        if (run < files) error.WriteLine($"simservice: interrupted: {files - run} of {files} files not run");
    }

    /// <summary>How long the run went: in virtual time (the engine), or in real time (<c>simservice kernel</c>).</summary>
    private static string Virtual(FileResult result, string clock) =>
        result.NowNs is { } ns ? $"{new SimService.Domain.Time.SimTime(ns)} {clock}" : "no run";

    /// <summary>
    /// A line as the console shows it: every control character (C0, DEL, C1) and bidirectional override written as JSON
    /// writes it (<c>\n</c>, <c>\u001b</c>), so a name, alias, value or problem text quoted from a file cannot clear the
    /// screen, retitle the terminal, reorder the line or start a line that looks like the tool's own. The lines the tool
    /// writes itself hold none.
    /// </summary>
    public static string Shown(string line)
    {
        int first = line.AsSpan().IndexOfAny(Escaped);
        if (first < 0) return line;
        var shown = new System.Text.StringBuilder(line.Length + 16).Append(line, 0, first);
        foreach (var c in line.AsSpan(first))
        {
            if (!Escaped.Contains(c)) shown.Append(c);
            else shown.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                _ => $"\\u{(int)c:x4}",
            });
        }
        return shown.ToString();
    }

    /// <summary>C0 controls, DEL, C1 controls and the bidirectional embeddings, overrides and isolates (U+202A–E, U+2066–9): the set names refuse.</summary>
    static readonly System.Buffers.SearchValues<char> Escaped = SimService.Domain.Text.NameCharacters.Set;

    internal static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";
}
