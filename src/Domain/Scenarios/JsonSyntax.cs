using System.Text.Json;
using System.Text.RegularExpressions;

namespace SimService.Domain.Scenarios;

/// <summary>
/// A JSON syntax error in the project's words, located one way for the API and the command-line tool: line and column
/// counted from 1 as an editor shows them (the column in bytes, which is the character for ASCII text). System.Text.Json
/// counts both from 0 and words its errors for the programmer who configures the reader ("… not supported in this mode.
/// Change the reader options."), which the user of the service or the tool cannot do.
/// </summary>
public static class JsonSyntax
{
    /// <summary>"line 2, column 1", or null when the reader gave no position.</summary>
    public static string? Position(JsonException e) =>
        e.LineNumber is { } line ? $"line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : null;

    /// <summary>A scenario file's problem at <c>$</c>: "not valid JSON (line 1, column 9): …".</summary>
    public static string NotValid(JsonException e) =>
        $"not valid JSON{(Position(e) is { } position ? $" ({position})" : "")}: {Reason(e)}";

    /// <summary>
    /// Why the reader stopped, in the project's words, from a reader's message (the serializer's wrapper holds it as its
    /// inner exception): a trailing comma is "not JSON", a second document "only one JSON value". A message not known
    /// here keeps its first sentence, without the reader's position.
    /// </summary>
    public static string Reason(JsonException e)
    {
        var message = (e.InnerException as JsonException ?? e).Message;
        foreach (var (pattern, words) in Wordings)
            if (pattern.Match(message) is { Success: true } m) return words.Replace("{0}", m.Groups["c"].Value, StringComparison.Ordinal);
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message.Split(" LineNumber:")[0]).Trim().TrimEnd('.');
    }

    /// <summary>The reader's messages (System.Text.Json's resources, ExceptionResource) and the words the user gets.</summary>
    static readonly (Regex Pattern, string Words)[] Wordings =
    [
        (Pattern("The JSON object contains a trailing comma"), "a comma before '}' with no member after it: JSON has no trailing commas"),
        (Pattern("The JSON array contains a trailing comma"), "a comma before ']' with no value after it: JSON has no trailing commas"),
        (Pattern("'(?<c>.+)' is invalid after a single JSON value"), "'{0}' after the end of the document: the text holds one JSON value"),
        (Pattern("Expected depth to be zero at the end"), "the text ends inside an object or array: a '}' or ']' is missing"),
        (Pattern("The input does not contain any (complete )?JSON tokens"), "there is no JSON value (the text is empty or white space)"),
        (Pattern("'(?<c>.+)' is an invalid start of a value"), "'{0}' cannot start a value (an object, array, string, number, true, false or null)"),
        (Pattern("'(?<c>.+)' is invalid after a value"), "'{0}' after a value: expected ',', '}' or ']'"),
        (Pattern("'(?<c>.+)' is an invalid start of a property name or value, after a comment"), "'{0}' after a comment: expected a member name or a value"),
        (Pattern("'(?<c>.+)' is an invalid start of a property name"), "'{0}' where a member name starts: names are strings in double quotes"),
        (Pattern("'(?<c>.+)' is invalid after a property name"), "'{0}' after a member name: expected ':'"),
        (Pattern("'(?<c>.+)' is invalid following a property name"), "'{0}' after a member name: expected ':' and a value"),
        (Pattern("Expected end of string, but instead reached end of data"), "the text ends inside a string: its closing '\"' is missing"),
        (Pattern("Expected start of a property name or value, but instead reached end of data"), "the text ends where a member name or a value should follow"),
        (Pattern("Expected a value, but instead reached end of data"), "the text ends where a value should follow"),
        (Pattern("'(?<c>.+)' is an invalid escapable character within a JSON string"), "'\\{0}' is no escape in a JSON string (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX are)"),
        (Pattern("'(?<c>.+)' is invalid within a JSON string"), "'{0}' inside a string: control characters are written escaped (\\n, \\t, \\uXXXX)"),
        (Pattern("'(?<c>.+)' is not a hex digit following"), "'{0}' in a \\uXXXX escape: four hex digits follow \\u"),
        (Pattern("'(?<c>.+)' is an invalid end of a number"), "'{0}' inside a number"),
        (Pattern("'(?<c>.+)' is invalid within a number, immediately after a decimal point"), "'{0}' after a number's '.': a digit follows it"),
        (Pattern("'(?<c>.+)' is invalid within a number, immediately after a sign"), "'{0}' after a number's sign: a digit follows it"),
        (Pattern("Expected a digit \\('0'-'9'\\), but instead reached end of data"), "the text ends inside a number"),
        (Pattern("Invalid leading zero before '(?<c>.+)'"), "a number starting 0 is followed by '{0}': JSON numbers have no leading zeros"),
        (Pattern("'(?<c>.+)' is an invalid JSON literal\\. Expected the literal '(true|false|null)'"), "'{0}' in a literal: JSON's are true, false and null, in lower case"),
        (Pattern("'(?<c>.+)' is invalid without a matching open"), "'{0}' closes nothing open (or the wrong one of '{' and '[')"),
        (Pattern("'(?<c>.+)' is invalid after '/' at the beginning of the comment"), "'/' followed by '{0}': a comment starts with // or /*"),
        (Pattern("(Expected end of comment|Unexpected end of data while reading a comment)"), "the text ends inside a /* comment: its */ is missing"),
        (Pattern("Found invalid line or paragraph separator character while reading a comment"), "a line or paragraph separator (U+2028, U+2029) inside a comment"),
    ];

    static Regex Pattern(string start) => new("^" + start, RegexOptions.CultureInvariant | RegexOptions.Singleline);
}
