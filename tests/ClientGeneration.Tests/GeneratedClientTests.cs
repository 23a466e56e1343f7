using System.Net;
using SimService.Client;

namespace SimService.ClientGeneration.Tests;

/// <summary>
/// The first story of the README, told through a client NSwag generated from openapi/simservice.v1.json:
/// if the document lies about a request, a response or a problem, this does not compile or fails.
/// </summary>
public sealed class GeneratedClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private SimServiceClient Client() => new(server.Http());

    [Fact]
    public async Task LingerZeroStory_ThroughTheGeneratedClient_ResetsTheConnection()
    {
        var api = Client();
        var sim = await api.CreateSimulationAsync(new CreateSimulationRequest());
        Assert.Equal("linux-6", sim.Profile);

        await api.AddHostAsync(sim.Id, new AddHostRequest { Name = "client", Address = "10.0.0.1" });
        await api.AddHostAsync(sim.Id, new AddHostRequest { Name = "server", Address = "10.0.0.2" });
        await api.AddLinkAsync(sim.Id, new AddLinkRequest { Between = ["client", "server"], DelayNs = 10_000_000 });
        var connection = await api.OpenConnectionAsync(sim.Id, new OpenConnectionRequest { Client = "client", Server = "server", Port = 80 });
        Assert.True(connection.Established, $"connect {connection.Connect.Errno}");
        var clientSocket = connection.Connect.SocketId;

        var linger = await api.SetsockoptAsync(sim.Id, clientSocket,
            new SetsockoptRequest { Option = SetsockoptRequestOption.SO_LINGER, Value = new Dictionary<string, int> { ["onoff"] = 1, ["linger"] = 0 } });
        Assert.Equal(0, linger.Result);
        var close = await api.CloseAsync(sim.Id, clientSocket, body: new PlainCallRequest());
        Assert.Equal("returned", close.Status);
        var advanced = await api.AdvanceAsync(sim.Id, new AdvanceRequest { ByNs = 1_000_000_000 });
        Assert.True(advanced.NowNs >= 1_000_000_000, $"now {advanced.NowNs}");

        var journal = await api.GetJournalAsync(sim.Id, host: ["client"], type: ["segment-sent"]);
        Assert.True(journal.Items.Any(e => e.Data.ToString()!.Contains("\"R.\"", StringComparison.Ordinal)),
            string.Join("\n", journal.Items.Select(e => e.Data.ToString())));
        Assert.Equal("CLOSED", (await api.GetSocketAsync(sim.Id, clientSocket)).State);
    }

    [Fact]
    public async Task Problems_404_409_412_ArriveTyped()
    {
        var api = Client();
        var sim = await api.CreateSimulationAsync(new CreateSimulationRequest { Name = "problems" });
        await api.AddHostAsync(sim.Id, new AddHostRequest { Name = "client", Address = "10.0.0.1" });

        var missing = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(() => api.GetSimulationAsync(Guid.NewGuid()));
        var notFound = Assert.IsType<SimulationNotFoundProblem>(missing.Result);
        Assert.Equal((int)HttpStatusCode.NotFound, missing.StatusCode);
        Assert.NotEqual(Guid.Empty, notFound.SimulationId);

        var taken = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(
            () => api.AddHostAsync(sim.Id, new AddHostRequest { Name = "client", Address = "10.0.0.9" }));
        var conflict = Assert.IsType<ConflictProblem>(taken.Result);
        Assert.Contains("name", conflict.Errors.Keys);

        var stale = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(
            () => api.AdvanceAsync(sim.Id, new AdvanceRequest { ByNs = 1000 }, "\"0\""));
        var mismatch = Assert.IsType<VersionMismatchProblem>(stale.Result);
        Assert.Equal(1, mismatch.CurrentVersion);

        var invalid = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(
            () => api.AddLinkAsync(sim.Id, new AddLinkRequest { Between = ["client", "client"], Loss = 2 }));
        Assert.Contains("loss", Assert.IsType<ValidationProblem>(invalid.Result).Errors.Keys);
    }

    [Fact]
    public async Task Batch_SeveralCommandTypes_AppliedInOrder()
    {
        var api = Client();
        var sim = await api.CreateSimulationAsync(new CreateSimulationRequest { Name = "batch", Seed = 7 });

        var applied = await api.ApplyCommandsAsync(sim.Id, new ApplyCommandsRequest
        {
            Commands =
            [
                new AddHostInput { Name = "client", Address = "10.0.0.1" },
                new AddHostInput { Name = "server", Address = "10.0.0.2" },
                new AddLinkInput { Between = ["client", "server"], DelayNs = 10_000_000 },
                new CallInput { Call = "listen", Host = "server", Port = 80 },
                new CallInput { Call = "connect", Host = "client", To = "server:80" },
                new AdvanceInput { ByNs = 100_000_000 },
                new KillInput { Host = "client", Process = "app" },
                new SetSysctlsInput { Host = "server", Values = new Dictionary<string, object> { ["net.ipv4.tcp_fin_timeout"] = 5 } },
            ],
        });

        Assert.Equal(8, applied.Results.Count);
        Assert.Equal(100_000_000, applied.NowNs);
        Assert.Equal(["add-host", "add-host", "add-link", "socket-call", "socket-call", "advance", "kill", "set-sysctl"],
            applied.Results.Take(8).Select(r => r.Type));
    }
}
