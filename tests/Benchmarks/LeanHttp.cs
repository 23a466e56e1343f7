using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SimService.Benchmarks;

/// <summary>
/// W4's load generator: one kept-alive HTTP/1.1 connection on a plain socket, requests serialised once beforehand
/// and written as they are, and of each response only what the benchmark needs — the status code and where the
/// response ends (Content-Length or chunked framing) — as wrk and h2load do. The clients share the server's two
/// cores, so what they spend per command is taken from the server (docs/benchmarks-history.md, the W4 notes).
/// </summary>
sealed class LeanHttp : IDisposable
{
    readonly Socket _socket;
    byte[] _buffer = new byte[16 * 1024];
    int _start, _end;

    LeanHttp(Socket socket) => _socket = socket;

    public static async Task<LeanHttp> ConnectAsync(Uri baseAddress)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(baseAddress.Host), baseAddress.Port));
        return new LeanHttp(socket);
    }

    /// <summary>A POST with a JSON body, as bytes ready to be written.</summary>
    public static byte[] Post(Uri baseAddress, string path, string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var head = Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: {baseAddress.Authority}\r\n" +
            $"Content-Type: application/json; charset=utf-8\r\nContent-Length: {body.Length}\r\n\r\n");
        return [.. head, .. body];
    }

    /// <summary>Writes <paramref name="request"/>, reads its whole response; returns the status and the body when it is not 2xx.</summary>
    public async Task<(int Status, string? Failure)> SendAsync(byte[] request)
    {
        for (int sent = 0; sent < request.Length;)
            sent += await _socket.SendAsync(request.AsMemory(sent), SocketFlags.None);

        int headerEnd;
        while ((headerEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0) await FillAsync();
        var head = _buffer.AsSpan(_start, headerEnd);
        if (!Utf8Parser.TryParse(head[9..12], out int status, out _)) throw new InvalidOperationException("no status line");
        long length = ContentLength(head);
        bool chunked = length < 0 && Contains(head, "\r\ntransfer-encoding: chunked"u8);
        _start += headerEnd + 4;
        var failure = new List<byte>();
        if (chunked)
        {
            while (true)
            {
                int line;
                while ((line = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8)) < 0) await FillAsync();
                if (!Utf8Parser.TryParse(_buffer.AsSpan(_start, line), out int size, out _, 'x')) throw new InvalidOperationException("bad chunk size");
                _start += line + 2;
                await NeedAsync(size + 2);
                if (status is < 200 or > 299) failure.AddRange(_buffer.AsSpan(_start, size));
                _start += size + 2;
                if (size == 0) break;
            }
        }
        else if (length > 0)
        {
            await NeedAsync((int)length);
            if (status is < 200 or > 299) failure.AddRange(_buffer.AsSpan(_start, (int)length));
            _start += (int)length;
        }
        if (_start == _end) _start = _end = 0;
        return (status, status is < 200 or > 299 ? Encoding.UTF8.GetString([.. failure]) : null);
    }

    /// <summary>The Content-Length header's value, or −1 without one.</summary>
    static long ContentLength(ReadOnlySpan<byte> head)
    {
        var name = "\r\ncontent-length:"u8;
        for (int i = 0; i + name.Length <= head.Length; i++)
        {
            if (!Ascii.EqualsIgnoreCase(head.Slice(i, name.Length), name)) continue;
            var value = head[(i + name.Length)..];
            value = value[..(value.IndexOf("\r\n"u8) is var e and >= 0 ? e : value.Length)].Trim((byte)' ');
            return Utf8Parser.TryParse(value, out long n, out _) ? n : throw new InvalidOperationException("bad Content-Length");
        }
        return -1;
    }

    static bool Contains(ReadOnlySpan<byte> head, ReadOnlySpan<byte> text)
    {
        for (int i = 0; i + text.Length <= head.Length; i++)
            if (Ascii.EqualsIgnoreCase(head.Slice(i, text.Length), text)) return true;
        return false;
    }

    async Task NeedAsync(int bytes)
    {
        while (_end - _start < bytes) await FillAsync();
    }

    /// <summary>Reads more bytes into the buffer, moving what is unread to its front and growing it when full.</summary>
    async Task FillAsync()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None);
        if (n == 0) throw new InvalidOperationException("the server closed the connection");
        _end += n;
    }

    public void Dispose() => _socket.Dispose();
}
