using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using SimService.Api.Infrastructure.Hardening;

namespace SimService.Api.Infrastructure;

/// <summary>
/// A text/plain request body (a packetdrill script) read as JSON bodies are read (RFC 8259 §8.1, <see cref="JsonTextCheck"/>,
/// <see cref="WebHygiene"/>): UTF-8 only — a charset other than UTF-8 is a 415, bytes that are not UTF-8 a 400 naming the
/// body, and a UTF-8 byte order mark is skipped, as the JSON reader skips it. A StreamReader guessed the encoding from the
/// first bytes: a body starting FF FE was read as UTF-16 ("found '戀摡'").
/// </summary>
public static class TextBody
{
    /// <summary>The body as text, or the problem that refuses it; <paramref name="field"/> names the body in that problem.</summary>
    public static async Task<(string Text, ProblemHttpResult? Refused)> ReadUtf8Async(HttpRequest request, string field, CancellationToken cancellationToken)
    {
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && !WebHygiene.IsUtf8(type))
            return ("", TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                type: ProblemTypes.UnsupportedMediaType,
                title: "Unsupported media type.",
                detail: $"Content-Type {request.ContentType} is not taken: this body is {type.MediaType} in UTF-8, with no charset or charset=utf-8."));
        using var copy = new MemoryStream();
        await BodyReads.CopyToAsync(request.BodyReader, copy, cancellationToken);
        var bytes = copy.GetBuffer().AsSpan(0, (int)copy.Length);
        int bom = bytes.StartsWith(Encoding.UTF8.Preamble) ? Encoding.UTF8.Preamble.Length : 0;
        bytes = bytes[bom..];
        var text = new char[bytes.Length];
        var status = System.Text.Unicode.Utf8.ToUtf16(bytes, text, out int read, out int written, replaceInvalidSequences: false);
        if (status == OperationStatus.Done) return (new string(text, 0, written), null);
        return ("", ErrorMapping.ToProblem(new RequestInvalid(field,
            $"The body is not UTF-8 text: byte {bom + read} (0x{bytes[read]:X2}) begins no UTF-8 character. Send it in UTF-8 (a byte order mark EF BB BF may lead).")));
    }
}
