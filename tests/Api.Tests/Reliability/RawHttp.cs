using System.Net.Sockets;
using System.Text;

namespace SimService.Api.Tests.Reliability;

/// <summary>Raw HTTP/1.x on a socket, for requests HttpClient would not send (and to see the bytes Kestrel writes), and clients that send or read slowly.</summary>
public static class RawHttp
{
    /// <summary>Sends the bytes on a fresh connection and reads the response to the close, as Latin-1 text.</summary>
    public static async Task<string> ExchangeAsync(Uri address, byte[] raw)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(address.Host, address.Port);
        try
        {
            await socket.SendAsync(raw);
        }
        catch (SocketException)
        {
            // Kestrel may answer and close before it has read everything (a huge header); the answer is still there.
        }
        var received = new MemoryStream();
        var buffer = new byte[16384];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) is var n and > 0) received.Write(buffer, 0, n);
        }
        catch (SocketException)
        {
        }
        return Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>A connection to 127.0.0.1:<paramref name="port"/>; a <paramref name="receiveBuffer"/> keeps the service's answer from fitting in the kernel's buffers.</summary>
    public static async Task<NetworkStream> ConnectAsync(int port, int? receiveBuffer = null)
    {
        var tcp = new TcpClient();
        if (receiveBuffer is { } size) tcp.ReceiveBufferSize = size;
        await tcp.ConnectAsync("127.0.0.1", port);
        return tcp.GetStream();
    }

    /// <summary>One response: its headers, then its body by Content-Length or chunked framing ("" if the connection closed).</summary>
    public static async Task<string> ReadResponseAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        var buffer = new byte[8192];
        while (!Complete(text.ToString()))
        {
            int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            if (n == 0) break;
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return text.ToString();
    }

    /// <summary>The response's status line and headers, up to the blank line (read a byte at a time: nothing of the body).</summary>
    public static async Task<string> ReadHeadersAsync(NetworkStream stream)
    {
        var received = new MemoryStream();
        var buffer = new byte[1];
        while (!received.GetBuffer().AsSpan(0, (int)received.Length).EndsWith("\r\n\r\n"u8))
        {
            if (await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(60)) == 0) break;
            received.WriteByte(buffer[0]);
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>The rest of a connection-delimited body (HTTP/1.0): every byte until the service closes, or resets, the connection.</summary>
    public static async Task<byte[]> ReadToCloseAsync(NetworkStream stream)
    {
        var body = new MemoryStream();
        try
        {
            await stream.CopyToAsync(body).WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (IOException)
        {
            // A reset: the body is what came before it.
        }
        return body.ToArray();
    }

    private static bool Complete(string response)
    {
        int end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) return false;
        var headers = response[..end];
        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)) return response.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
        var length = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is null || response.Length - end - 4 >= int.Parse(length["Content-Length:".Length..].Trim());
    }
}
