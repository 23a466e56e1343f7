using System.Net.Sockets;
using System.Text;

namespace SimService.Api.Tests.Reliability;

/// <summary>Raw HTTP/1.1 on a socket, for requests HttpClient would not send (and to see the bytes Kestrel writes).</summary>
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
}
