using System.Globalization;
using System.Xml.Linq;
using SimService.Cli.Files;
using SimService.Cli.Running;

namespace SimService.Cli.Reports;

/// <summary>
/// JUnit XML as GitHub (test-reporter actions), GitLab (<c>artifacts:reports:junit</c>) and Jenkins read it: one
/// test case per file; a failed check is a <c>failure</c> listing every failed check with expected, actual and
/// virtual time; an invalid file or a run error is an <c>error</c>, and so is a file an interrupt stopped (type
/// <c>interrupted</c>); one it did not let start is <c>skipped</c>. A kernel run's difference report (<c>--diff</c>)
/// is the case's <c>system-out</c>, or with <c>--strict</c> a <c>failure</c> of type <c>diff</c> (added to the text of
/// a failure or error the file already has).
/// </summary>
public static class JUnitReport
{
    /// <param name="notRun">The files given after the last that ran, the tool interrupted before them: each a skipped case (tester39
    /// LOW-3: they were absent, the suite's count the files run).</param>
    public static void Write(string path, IReadOnlyList<FileResult> results, IReadOnlyList<string> notRun, string mode, double seconds, DateTimeOffset started)
    {
        var cases = results.Select(Case).Concat(notRun.Select(Skipped)).ToList();
        int failures = cases.Count(c => c.Element("failure") is not null);
        int errors = cases.Count(c => c.Element("error") is not null);
        var suite = new XElement("testsuite",
            new XAttribute("name", "simservice"),
            new XAttribute("tests", cases.Count),
            new XAttribute("failures", failures),
            new XAttribute("errors", errors),
            new XAttribute("skipped", cases.Count(c => c.Element("skipped") is not null)),
            new XAttribute("time", Seconds(seconds)),
            new XAttribute("timestamp", started.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)),
            new XElement("properties", new XElement("property", new XAttribute("name", "mode"), new XAttribute("value", mode))),
            cases);
        var document = new XDocument(new XDeclaration("1.0", "utf-8", null),
            new XElement("testsuites",
                new XAttribute("name", "simservice"),
                new XAttribute("tests", cases.Count),
                new XAttribute("failures", failures),
                new XAttribute("errors", errors),
                new XAttribute("time", Seconds(seconds)),
                suite));
        HoldableInXml(document);
        OutputFiles.Write("junit", path, p =>
        {
            using var writer = System.Xml.XmlWriter.Create(p, new System.Xml.XmlWriterSettings { Indent = true, Encoding = new System.Text.UTF8Encoding(false) });
            document.Save(writer);
        });
    }

    /// <summary>A file not run: a skipped case.</summary>
    private static XElement Skipped(string file)
    {
        var testCase = TestCase(file, 0);
        testCase.Add(new XElement("skipped", new XAttribute("message", "not run: the tool was interrupted before it")));
        return testCase;
    }

    private static XElement TestCase(string file, double seconds)
    {
        var folder = Path.GetDirectoryName(file)?.Replace('\\', '/');
        return new XElement("testcase",
            new XAttribute("classname", string.IsNullOrEmpty(folder) ? "." : folder),
            new XAttribute("name", file.Replace('\\', '/')),
            new XAttribute("file", file.Replace('\\', '/')),
            new XAttribute("time", Seconds(seconds)));
    }

    private static XElement Case(FileResult r)
    {
        var testCase = TestCase(r.File, r.Seconds);
        var checks = string.Join("\n", r.FailedChecks.Select(c => $"{c.Kind} {c.Path} at {c.At}: expected {c.Expected}; actual {c.Actual}"));
        var problems = string.Join("\n", r.Problems.Select(p => p.ToString()));
        if (r.Outcome == FileOutcome.Interrupted)
            // An error of its own type, as a test that did not complete is (review40c S-2: skipped, a CI timeout's SIGTERM hid
            // the file that hung among the files never started); not a run error (tester40 LOW-2).
            testCase.Add(new XElement("error", new XAttribute("type", "interrupted"),
                new XAttribute("message", $"interrupted: {string.Join("; ", r.Problems.Select(p => p.Message))}"), checks));
        else if (r.Outcome == FileOutcome.Invalid)
            testCase.Add(new XElement("error", new XAttribute("type", "invalid"),
                new XAttribute("message", $"invalid {r.Kind}: {ConsoleReport.Count(r.Problems.Count, "problem")}"), problems));
        else if (r.Outcome == FileOutcome.Failed && r.Problems.Count > 0)
            testCase.Add(new XElement("error", new XAttribute("type", "run-error"),
                new XAttribute("message", r.Problems[0].ToString()), string.Join("\n", new[] { problems, checks }.Where(s => s.Length > 0))));
        else if (r.Outcome == FileOutcome.Failed)
            testCase.Add(new XElement("failure", new XAttribute("type", "check"),
                new XAttribute("message", $"{r.FailedChecks.Count()} of {ConsoleReport.Count(r.Checks.Count, "check")} failed"), checks));
        if (r.Diff is { } diff && (diff.Differences > 0 || diff.Strict && diff.FailsStrict)) AddDiff(testCase, diff);
        return testCase;
    }

    /// <summary>The differences from the engine: a failure with --strict (or more text for the one the case has), else the case's output.</summary>
    private static void AddDiff(XElement testCase, DiffReport diff)
    {
        var message = $"{ConsoleReport.Count(diff.Differences, "difference")} from the engine"
            + (diff.SlowerLinkMs is { } ms ? $", its packets the engine's only with links {ms} ms slower (EDGE)" : "");
        var text = string.Join("\n", diff.Items.Select(d => d.Text));
        if (!diff.Strict)
            testCase.Add(new XElement("system-out", $"{message}\n{text}"));
        else if ((testCase.Element("failure") ?? testCase.Element("error")) is { } existing)
            existing.Value = $"{existing.Value}\n{message} (--strict):\n{text}";
        else
            testCase.Add(new XElement("failure", new XAttribute("type", "diff"), new XAttribute("message", $"{message} (--strict)"), text));
    }

    /// <summary>
    /// Every name and text put in the report (file names, aliases and option values quoted by checks and problems, a
    /// server's problem details) with the characters XML 1.0 cannot hold — C0 controls but tab, LF and CR, lone
    /// surrogates, U+FFFE/U+FFFF — written as <c>\uXXXX</c>, as the JSON report writes them: the XML writer throws on
    /// them, which ended the run with a stack trace and a truncated report (tester31 HIGH-8).
    /// </summary>
    private static void HoldableInXml(XDocument document)
    {
        foreach (var element in document.Descendants())
        {
            foreach (var attribute in element.Attributes()) attribute.Value = Holdable(attribute.Value);
            foreach (var text in element.Nodes().OfType<XText>()) text.Value = Holdable(text.Value);
        }
    }

    internal static string Holdable(string text)
    {
        int i = 0;
        while (i < text.Length && IsXmlChar(text, i, out int width)) i += width;
        if (i == text.Length) return text;
        var held = new System.Text.StringBuilder(text.Length + 8).Append(text, 0, i);
        while (i < text.Length)
        {
            if (IsXmlChar(text, i, out int width)) held.Append(text, i, width);
            else held.Append(CultureInfo.InvariantCulture, $"\\u{(int)text[i]:X4}");
            i += width;
        }
        return held.ToString();
    }

    /// <summary>Whether the character (or surrogate pair, <paramref name="width"/> 2) at <paramref name="i"/> is an XML 1.0 <c>Char</c>.</summary>
    private static bool IsXmlChar(string text, int i, out int width)
    {
        if (i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1]))
        {
            width = 2;
            return true;
        }
        width = 1;
        return System.Xml.XmlConvert.IsXmlChar(text[i]);
    }

    private static string Seconds(double s) => s.ToString("0.000", CultureInfo.InvariantCulture);
}
