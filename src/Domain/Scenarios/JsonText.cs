using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace SimService.Domain.Scenarios;

/// <summary>
/// Strings that are not valid Unicode in JSON the service reads — raw bytes that are not UTF-8, or a <c>\uD800</c> escape
/// without its other half. System.Text.Json finds them only when a string is finally decoded (<c>GetString()</c>, or a
/// writer re-serialising the document, throws InvalidOperationException), so a document is walked once first and one
/// holding such a string is refused by the path of its first. The API checks request bodies with it, the command-line
/// tool scenario files (comments skipped, as it reads them).
/// </summary>
public static class JsonText
{
    /// <summary>The message of a string that is not valid Unicode.</summary>
    public const string Message = "The text is not valid Unicode: invalid UTF-8 bytes or a lone surrogate escape.";

    /// <summary>The last step of the path to a member name that is not valid Unicode.</summary>
    public const string FieldName = "(a field name)";

    /// <summary>
    /// False when the document cannot hold invalid text: plain ASCII is valid UTF-8, and without a backslash there is
    /// no escape, so no lone surrogate — most commands' bodies, which then skip the walk.
    /// </summary>
    public static bool MayHoldInvalid(ReadOnlySpan<byte> json) => !Ascii.IsValid(json) || json.Contains((byte)'\\');

    /// <summary>
    /// The path from the root to the first string (a value, or a member's name: <see cref="FieldName"/>) that is not valid
    /// Unicode, or null — also for text that is not JSON where it breaks off before one (its syntax error is the reader's to report).
    /// </summary>
    public static IReadOnlyList<JsonNesting.Step>? FindInvalid(ReadOnlySpan<byte> json)
    {
        if (!MayHoldInvalid(json)) return null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256, CommentHandling = JsonCommentHandling.Skip });
        var open = new List<(JsonNesting.Step Into, int Next)>();
        string? name = null;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token == JsonTokenType.PropertyName)
                {
                    if (!IsValid(ref reader)) return [.. open.Skip(1).Select(o => o.Into), new JsonNesting.Step(FieldName, -1)];
                    name = reader.GetString();
                    continue;
                }
                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    open.RemoveAt(open.Count - 1);
                    continue;
                }
                var step = JsonNesting.ItemStep(open, name);
                name = null;
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray) open.Add((step, 0));
                else if (token == JsonTokenType.String && !IsValid(ref reader)) return [.. open.Skip(1).Select(o => o.Into), step];
            }
        }
        catch (JsonException)
        {
            // Not JSON, or nested too deep: reported by whoever parses it.
        }
        return null;
    }

    static bool IsValid(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped) return Utf8.IsValid(reader.ValueSpan);
        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
