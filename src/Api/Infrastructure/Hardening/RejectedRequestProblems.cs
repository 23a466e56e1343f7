using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// Kestrel answers a request it cannot parse — a bad request line, control characters or an encoded NUL in
/// the target, a target longer than <c>MaxRequestLineSize</c> (414), headers over
/// <c>MaxRequestHeadersTotalSize</c> (431), headers that arrive too slowly (408) — by itself, before any
/// middleware runs, with an empty body and <c>Connection: close</c>. There is no hook for that response
/// (dotnet/aspnetcore#4726), so this connection middleware watches the bytes Kestrel writes: a write that is
/// exactly such an empty 4xx response (405 for a target of <c>*</c> with a method other than OPTIONS, or 505 for an unknown HTTP version, which becomes a 400) is sent on with an <c>application/problem+json</c> body and the security headers of every response instead. The
/// application itself never writes an empty 4xx (<c>UseStatusCodePages</c> fills every one), so nothing else
/// matches.
/// </summary>
public static partial class RejectedRequestProblems
{
    public static ListenOptions UseProblemsForRejectedRequests(this ListenOptions listen)
    {
        listen.Use(next => async connection =>
        {
            var transport = connection.Transport;
            // Inline: the pump runs on the thread that flushes the response, not as a thread-pool work item per write.
            var output = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
                useSynchronizationContext: false));
            var input = new RequestLineWatch(transport.Input);
            connection.Transport = new DuplexPipe(input, output.Writer);
            var pump = PumpAsync(output.Reader, transport.Output, input, new Connection(connection.ConnectionId, listen.KestrelServerOptions.Limits,
                listen.ApplicationServices.GetService(typeof(ILoggerFactory)) as ILoggerFactory));
            try
            {
                await next(connection);
            }
            finally
            {
                await output.Writer.CompleteAsync();
                await pump;
                connection.Transport = transport;
            }
        });
        return listen;
    }

    /// <summary>What a rewrite names besides Kestrel's bytes: the connection (for the traceId) and Kestrel's limits.</summary>
    private sealed record Connection(string Id, KestrelServerLimits Limits, ILoggerFactory? Logs);

    /// <summary>
    /// The request Kestrel refused, as far as the connection saw it: its path (the problem's <c>instance</c>; null when its
    /// request line showed none within 1 KB), a traceId — the connection's id and the request's number on it, as
    /// HttpContext.TraceIdentifier is made, and the log line of the refusal names it —, and Kestrel's limits on the request
    /// line and the headers (<c>KestrelServerLimits.MaxRequestLineSize</c>, <c>MaxRequestHeadersTotalSize</c>).
    /// </summary>
    public sealed record RefusedRequest(string? Instance, string TraceId, long MaxRequestLineSize, long MaxRequestHeadersTotalSize);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// The connection's input as Kestrel reads it, noting whether the request it is parsing is a HEAD: HTTP/1.1 requests on a
    /// connection are parsed one after another, and each read while a request line is unparsed starts at that line (Kestrel
    /// consumes it whole, or not at all), so a read that starts with a method, a space and a target is the next request.
    /// A read of headers or a body starts otherwise and changes nothing.
    /// <para>
    /// A client that leaves in the middle of a Content-Length body: Kestrel's body reader gets the input's last read (ended)
    /// after a read that examined more than it consumed, so it cannot hand that read back and throws "Unexpected end of
    /// request content" holding it; the API's exception handler answers that (a 400 nobody reads), so Kestrel goes on to
    /// read the next request line from the same input — and the pipe threw "Reading is already in progress", a warning
    /// with a stack trace per abandoned upload. The input has ended, so that held read's bytes are an unfinished body
    /// nobody will read: a read after it first releases them, and Kestrel sees the end of the connection.
    /// </para>
    /// </summary>
    private sealed class RequestLineWatch(PipeReader inner) : PipeReader
    {
        public bool Head { get; private set; }

        /// <summary>Request lines seen on the connection: the number of the one being parsed.</summary>
        public int Requests { get; private set; }

        /// <summary>The path of the request being parsed (to the first space or '?'), if its line showed one of printable ASCII within 1 KB.</summary>
        public string? Path => _pathLength > 0 ? Encoding.ASCII.GetString(_path!, 0, _pathLength) : null;

        private const int MaxPath = 1024;
        private byte[]? _path;
        private int _pathLength;

        // The last read handed out had ended the input and was not yet advanced past: where its bytes end.
        private SequencePosition? _endedReadEnd;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            ReleaseAbandonedEnd();
            return Watch(await inner.ReadAsync(cancellationToken));
        }

        public override bool TryRead(out ReadResult result)
        {
            ReleaseAbandonedEnd();
            if (!inner.TryRead(out result)) return false;
            result = Watch(result);
            return true;
        }

        private void ReleaseAbandonedEnd()
        {
            if (_endedReadEnd is not { } end) return;
            _endedReadEnd = null;
            inner.AdvanceTo(end);
        }

        private ReadResult Watch(ReadResult result)
        {
            var buffer = result.Buffer;
            _endedReadEnd = result.IsCompleted ? buffer.End : null;
            if (buffer.IsEmpty) return result;
            Span<byte> start = stackalloc byte[16];
            var first = start[..(int)Math.Min(buffer.Length, start.Length)];
            buffer.Slice(0, first.Length).CopyTo(first);
            int space = first.IndexOf((byte)' ');
            if (space > 0 && space + 1 < first.Length && first[..space].IndexOfAnyExceptInRange((byte)'A', (byte)'Z') < 0
                && first[space + 1] is (byte)'/' or (byte)'*' or (byte)'h')
            {
                Head = first[..space].SequenceEqual("HEAD"u8);
                Requests++;
                NotePath(buffer.FirstSpan, space + 1);
            }
            return result;
        }

        private void NotePath(ReadOnlySpan<byte> line, int start)
        {
            _pathLength = 0;
            if (line.Length <= start) return;
            var target = line[start..];
            if (target.Length > MaxPath) target = target[..MaxPath];
            int end = target.IndexOfAny(" ?\r\n"u8);
            if (end <= 0 || target[..end].IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) >= 0) return;
            target[..end].CopyTo(_path ??= new byte[MaxPath]);
            _pathLength = end;
        }

        public override void AdvanceTo(SequencePosition consumed)
        {
            _endedReadEnd = null;
            inner.AdvanceTo(consumed);
        }

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            _endedReadEnd = null;
            inner.AdvanceTo(consumed, examined);
        }
        public override void CancelPendingRead() => inner.CancelPendingRead();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }

    private static async Task PumpAsync(PipeReader reader, PipeWriter writer, RequestLineWatch requests, Connection connection)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    if (buffer.Length <= 1024 && MayBeRejection(buffer) && Refused(requests, connection) is var refused
                        && Rewrite(buffer.ToArray(), requests.Head, refused) is { } rewritten)
                    {
                        connection.Logs?.CreateLogger(typeof(RejectedRequestProblems).FullName!).LogInformation(
                            "Kestrel refused request {TraceId} ({Path}) before the API; its answer was given a problem body", refused.TraceId, refused.Instance);
                        writer.Write(rewritten);
                    }
                    else foreach (var segment in buffer) writer.Write(segment.Span);
                    var flushed = await writer.FlushAsync();
                    if (flushed.IsCompleted) { reader.AdvanceTo(buffer.End); break; }
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled) break;
            }
        }
        catch (Exception)
        {
            // The peer went away while we wrote: Kestrel sees the same on its side and closes the connection.
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static RefusedRequest Refused(RequestLineWatch requests, Connection connection) =>
        new(requests.Path, $"{connection.Id}:{Math.Max(requests.Requests, 1):X8}", connection.Limits.MaxRequestLineSize,
            connection.Limits.MaxRequestHeadersTotalSize);

    private static ReadOnlySpan<byte> EmptyBodyClose => "Content-Length: 0\r\nConnection: close\r\n"u8;

    /// <summary>
    /// Whether the bytes can hold Kestrel's empty error response (<see cref="Rewrite"/> decides): they end a header block
    /// (an empty body) and say <c>Content-Length: 0</c> and <c>Connection: close</c>. Every response the application
    /// writes with a body fails this at once, without a copy or a decode.
    /// </summary>
    private static bool MayBeRejection(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> bytes = stackalloc byte[1024];
        buffer.CopyTo(bytes);
        var written = bytes[..(int)buffer.Length];
        return written.EndsWith("\r\n\r\n"u8) && written.IndexOf(EmptyBodyClose) >= 0;
    }

    // Kestrel's own error response: status line, Content-Length: 0, Connection: close, then only Date/Server (and Allow
    // on the 405 for a target of "*" with a method other than OPTIONS).
    [GeneratedRegex(@"HTTP/1\.[01] (4\d\d|505) ([^\r\n]*)\r\nContent-Length: 0\r\nConnection: close\r\n((?:(?:Date|Server|Allow): [^\r\n]*\r\n)*)\r\n\z")]
    private static partial Regex KestrelRejection();

    /// <summary>
    /// The bytes with Kestrel's empty error response (at their end) given a problem body, or null. The answer to a HEAD gets
    /// the header fields a GET's would have, Content-Length included, and no body (RFC 9110 §9.3.2).
    /// </summary>
    public static byte[]? Rewrite(byte[] bytes, bool forHead = false, RefusedRequest? request = null)
    {
        var text = Encoding.Latin1.GetString(bytes);
        int start = text.LastIndexOf("HTTP/1.", StringComparison.Ordinal);
        if (start < 0) return null;
        var match = KestrelRejection().Match(text, start);
        if (!match.Success || match.Index != start) return null;
        int status = int.Parse(match.Groups[1].ValueSpan, provider: null);
        // 505 HTTP Version Not Supported is the client's doing, not a server failure: it becomes a 400.
        var reason = match.Groups[2].Value;
        if (status == StatusCodes.Status505HttpVersionNotsupported) (status, reason) = (StatusCodes.Status400BadRequest, "Bad Request");
        var problem = new Dictionary<string, object>
        {
            ["type"] = status == StatusCodes.Status400BadRequest ? ProblemTypes.BadRequest : ProblemTypes.RejectedRequest,
            ["title"] = reason + ".",
            ["status"] = status,
            ["detail"] = match.Groups[1].Value == "505" ? "Only HTTP/1.1 and HTTP/1.0 are served here." : Detail(status, request),
        };
        if (request?.Instance is { } instance) problem["instance"] = instance;
        // As ProblemFields names a 413 the API writes: the body as a whole; a 414 the request target, a 431 the headers.
        if (status is StatusCodes.Status413PayloadTooLarge or StatusCodes.Status414UriTooLong or StatusCodes.Status431RequestHeaderFieldsTooLarge)
            problem[ProblemFields.Member] = ProblemFields.Errors(status switch
            {
                StatusCodes.Status414UriTooLong => "target",
                StatusCodes.Status431RequestHeaderFieldsTooLarge => "headers",
                _ => "$",
            }, Detail(status, request));
        if (request is not null) problem["traceId"] = request.TraceId;
        var body = JsonSerializer.SerializeToUtf8Bytes(problem);
        var head = new StringBuilder($"HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n{match.Groups[3].Value}");
        foreach (var (name, value) in WebHygiene.SecurityHeaderValues) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append("\r\n");
        return [.. bytes.AsSpan(0, start), .. Encoding.Latin1.GetBytes(head.ToString()), .. (forHead ? [] : body)];
    }

    private static string Detail(int status, RefusedRequest? request = null) => status switch
    {
        StatusCodes.Status414UriTooLong => request is null ? "The request target is longer than the server accepts."
            : $"The request target is longer than the server accepts: a request line of at most {request.MaxRequestLineSize:N0} bytes (Kestrel: MaxRequestLineSize).",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => request is null ? "The request headers are larger than the server accepts."
            : $"The request headers are larger than the server accepts: at most {request.MaxRequestHeadersTotalSize:N0} bytes in all (Kestrel: MaxRequestHeadersTotalSize).",
        StatusCodes.Status408RequestTimeout => "The request headers did not arrive in time.",
        StatusCodes.Status413PayloadTooLarge => "The request body is larger than the server accepts.",
        StatusCodes.Status405MethodNotAllowed => "The request target \"*\" is only for OPTIONS.",
        _ => "The request could not be parsed: its method, target (for example a control character or an encoded NUL in the path), "
            + "version or headers are malformed.",
    };
}
