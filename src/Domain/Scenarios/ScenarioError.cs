using System.Collections.Immutable;

namespace SimService.Domain.Scenarios;

/// <summary>One input error: the JSON path of the offending value ("$.steps[4].at") and what is wrong with it.</summary>
public sealed record ScenarioError(string Path, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The outcome of parsing: a document, or every error found (never both, never neither).</summary>
public sealed record ScenarioParseResult
{
    ScenarioParseResult(ScenarioDocument? document, ImmutableArray<ScenarioError> errors)
    {
        Document = document;
        Errors = errors;
    }

    /// <summary>The valid document; null when <see cref="Errors"/> is not empty.</summary>
    public ScenarioDocument? Document { get; }

    /// <summary>Every error found, in the order met (past ScenarioReader.MaxErrors, the first of them and a count); empty when the document is valid.</summary>
    public ImmutableArray<ScenarioError> Errors { get; }

    /// <summary>True when there is a document and no error.</summary>
    public bool IsValid => Document is not null;

    internal static ScenarioParseResult Valid(ScenarioDocument document) => new(document, []);

    internal static ScenarioParseResult Invalid(IEnumerable<ScenarioError> errors) => new(null, [.. errors]);
}
