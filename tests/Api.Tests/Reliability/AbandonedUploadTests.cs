using System.Net.Sockets;
using System.Text;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// A client that goes away in the middle of a body is ordinary (a curl timeout, a cancelled CI job): Kestrel notes it at
/// Debug ("Unexpected end of request content") and ends the connection. The connection middleware that watches request
/// lines (<c>RejectedRequestProblems</c>) made each one a warning with a stack trace, "Connection processing ended
/// abnormally. System.InvalidOperationException: Reading is already in progress." — something any client could repeat to
/// fill the log. The API binary as a real process (an in-process Kestrel did not show it), its Kestrel log at Debug, raw
/// HTTP/1.1 connections that each send the headers and 2 of 100 body bytes, then close or half-close.
/// </summary>
[Collection(RealProcessCollection.Name)]
public sealed class AbandonedUploadTests
{
    private const int Uploads = 8;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Post_ClientLeavesMidBody_NoWarningIsLogged(bool halfClose)
    {
        var folder = Directory.CreateTempSubdirectory("simservice-abandoned-").FullName;
        string log;
        try
        {
            await using (var api = await ApiProcess.StartAsync(new Dictionary<string, string?>
            {
                ["Persistence:Provider"] = "sqlite",
                ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(folder, "abandoned.db")}",
                ["Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel"] = "Debug",
            }))
            {
                // Kestrel logs that it starts reading the body just before its first read, so the close can reach it before
                // that read or while the next one waits: the warning came only in the second case. Several uploads make
                // both likely (each one alone is a race the test does not control).
                for (int upload = 1; upload <= Uploads; upload++)
                {
                    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await socket.ConnectAsync(api.BaseAddress.Host, api.BaseAddress.Port);
                    await socket.SendAsync(Encoding.ASCII.GetBytes(
                        $"POST /api/v1/simulations HTTP/1.1\r\nHost: {api.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{}}"));
                    int started = upload;
                    await api.LineAsync(_ => Count(api.Output, "started reading request body") == started);
                    if (halfClose) socket.Shutdown(SocketShutdown.Send);
                }
                // Every connection the log saw start (the readiness checks' too) has ended: the log of this one is complete.
                await api.LineAsync(_ => Count(api.Output, "\" started.") == Count(api.Output, "\" stopped."));
                log = api.Output;
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        Assert.Equal(Uploads, Count(log, "done reading request body"));
        Assert.DoesNotContain("ended abnormally", log);
        Assert.DoesNotContain("Reading is already in progress", log);
    }

    private static int Count(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
