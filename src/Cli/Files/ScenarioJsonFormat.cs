using System.Text;
using System.Text.Json;
using SimService.Cli.Running;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Files;

/// <summary>
/// Scenario documents (docs/scenario-format.md), *.json. The tool also reads <c>//</c> and <c>/* */</c> comments
/// (what <c>simservice new</c> writes): it drops them before validating, running or sending the document, so the
/// server receives plain JSON. Validation is the engine's own parser — every rule of the format and its JSON
/// Schema plus the cross-references the schema cannot state — so a file that validates is one the engine runs.
/// </summary>
public sealed class ScenarioJsonFormat : IFileFormat
{
    private static readonly JsonDocumentOptions Reading = new() { CommentHandling = JsonCommentHandling.Skip };

    public string Extension => ".json";

    public string Kind => "scenario";

    /// <summary>The format's rules, and the most hosts a run in process may be given (<see cref="InProcessBounds.MostHosts"/>).</summary>
    public IReadOnlyList<Problem> Validate(string text, string fileName, CancellationToken interruption = default)
    {
        var problems = Parse(text, out var document, interruption);
        return document?.HostsPast(InProcessBounds.MostHosts) is { } past
            ? [new Problem(past.Path, $"A run in process may have {InProcessBounds.MostHosts} hosts; this would make {past.Hosts} (the document's hosts and "
                + "its workloads' generated clients so far): the run would stop here")]
            : problems;
    }

    /// <summary>A server's hosts quota unless it sets its own (the API's <c>Quotas:HostsPerSimulation</c>), the tool's unless raised.</summary>
    public const long DefaultServerHosts = ScenarioRunOptions.DefaultHostsQuota;

    /// <summary>
    /// What a valid document meets on a server that it does not meet in process: more hosts — its own and its workloads'
    /// generated clients — than a server's default hosts quota. A server may set another quota; the tool cannot know it.
    /// </summary>
    public static IReadOnlyList<Problem> ServerWarnings(string text, CancellationToken interruption = default)
    {
        Parse(text, out var document, interruption);
        if (document?.HostsPast(DefaultServerHosts) is not { } past) return [];
        var hosts = past.Path == "$.hosts" ? $"{past.Hosts} hosts" : $"{past.Hosts} hosts with the generated clients";
        return [new Problem(past.Path, $"{hosts}: a server with the default hosts quota ({DefaultServerHosts}, Quotas:HostsPerSimulation) refuses the run (403); "
            + "so does run in process unless --max-hosts N raises its bound")];
    }

    public RunOutput RunInProcess(string text, string fileName, InProcessBounds bounds, CancellationToken wallLimit)
    {
        IReadOnlyList<Problem> problems;
        ScenarioDocument? document;
        try
        {
            // The reader stops at the limit too: a document of a million steps took 10 s to read (tester41 MEDIUM-2).
            problems = Parse(text, out document, wallLimit);
        }
        catch (OperationCanceledException) when (wallLimit.IsCancellationRequested)
        {
            return RunOutput.StoppedByWallLimit(null);
        }
        if (document is null) return RunOutput.Invalid(problems);
        // Refused at once, as a server's hosts quota refuses the run before it starts (RunScenarioHandler.HostsPastQuota).
        if (document.HostsPast(bounds.Hosts) is { } past)
            return RunOutput.Refused($"{past.Hosts} hosts (the document's and its workloads' generated clients so far): a run in process may have {bounds.Hosts}"
                + (bounds.Hosts == ScenarioRunOptions.DefaultHostsQuota ? ", a server's default hosts quota" : "")
                + (bounds.Hosts < InProcessBounds.MostHosts ? $"; --max-hosts N allows more (at most {InProcessBounds.MostHosts})" : ""), past.Path);
        SimService.Domain.Engine.Simulation? simulation = null;
        ScenarioRunResult result;
        try
        {
            // The sockets bound stops a workload at the first event past it, and the run at that step, as the API's sockets quota.
            result = ScenarioRunner.Run(document, new ScenarioRunOptions
            {
                EventBudget = bounds.EventBudget, MaxHosts = bounds.Hosts, SocketLimit = bounds.Sockets, Interruption = wallLimit, Attach = s => simulation = s,
            });
        }
        catch (OperationCanceledException) when (wallLimit.IsCancellationRequested)
        {
            return RunOutput.StoppedByWallLimit(simulation?.Now.Ns);
        }
        return new RunOutput(true, result.Passed,
            [.. result.Checks.Select(c => new CheckOutcome(c.Passed, c.Kind, c.Path, c.Expected, c.Actual, c.At.ToString(), c.At.Ns))],
            [.. result.Errors.Select(e => new Problem(e.Path, e.Path == result.SocketsStoppedAt && e.Message.StartsWith("more than ", StringComparison.Ordinal)
                && bounds.Sockets < InProcessBounds.MostSockets ? $"{e.Message}; --max-sockets N allows more (at most {InProcessBounds.MostSockets})" : e.Message))],
            null, result.Simulation.Now.Ns, result.Simulation.Journal.Count, result.Simulation) { EventBudgetSpent = result.EventBudgetSpent };
    }

    public async Task<RunOutput> RunOnServerAsync(SimServiceClient server, string text, string fileName, CancellationToken cancellationToken)
    {
        if (!TryReadJson(text, out var plain, out var malformed)) return RunOutput.Invalid([malformed!]);
        return await server.RunScenarioAsync(plain!, cancellationToken);
    }

    internal static IReadOnlyList<Problem> Parse(string text, out ScenarioDocument? document, CancellationToken interruption = default)
    {
        document = null;
        // The document read once, its comments skipped: written out plain and parsed again, both copies were held at once
        // (a 3.9 MB file of 1,300,000 empty steps peaked at 157 MB, 462 MB before the reader took the steps one at a time).
        using var json = ReadJson(text, Stream.Null, out var malformed);
        if (json is null) return [malformed!];
        var parsed = ScenarioParser.Parse(json.RootElement, interruption);
        document = parsed.Document;
        return [.. parsed.Errors.Select(e => new Problem(e.Path, e.Message))];
    }

    /// <summary>The document as plain JSON (comments dropped), or the syntax error with its line and column.</summary>
    internal static bool TryReadJson(string text, out string? plain, out Problem? malformed)
    {
        plain = null;
        using var buffer = new MemoryStream();
        using var document = ReadJson(text, buffer, out malformed);
        if (document is null) return false;
        plain = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        return true;
    }

    /// <summary>The document parsed (comments skipped) and written plain to <paramref name="plain"/>, or null and the syntax error with its line and column.</summary>
    static JsonDocument? ReadJson(string text, Stream plain, out Problem? malformed)
    {
        malformed = null;
        JsonDocument? document = null;
        try
        {
            document = JsonDocument.Parse(text, Reading);
            // Written even when only read: the writer refuses a lone surrogate escape, which the parse takes.
            using (var writer = new Utf8JsonWriter(plain)) document.WriteTo(writer);
            return document;
        }
        catch (JsonException) when (JsonNesting.TooDeep(Encoding.UTF8.GetBytes(text)) is { } deep)
        {
            malformed = new Problem(JsonNesting.PathOf(deep), JsonNesting.Message);
            return null;
        }
        // A lone surrogate escape: the parse takes it, the writer cannot write it back (InvalidOperationException).
        catch (InvalidOperationException) when (JsonText.FindInvalid(Encoding.UTF8.GetBytes(text)) is { } invalid)
        {
            document?.Dispose();
            malformed = new Problem(JsonNesting.PathOf(invalid), JsonText.Message);
            return null;
        }
        catch (JsonException e)
        {
            malformed = new Problem("$", JsonSyntax.NotValid(e));
            return null;
        }
    }
}
