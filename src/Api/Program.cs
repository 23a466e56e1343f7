using SimService.Api.Features.Clock;
using SimService.Api.Features.Commands;
using SimService.Api.Features.Connections;
using SimService.Api.Features.Hosts;
using SimService.Api.Features.Journal;
using SimService.Api.Features.Links;
using SimService.Api.Features.Outputs;
using SimService.Api.Features.Packetdrill;
using SimService.Api.Features.Processes;
using SimService.Api.Features.Scenarios;
using SimService.Api.Features.Simulations;
using SimService.Api.Features.Sockets;
using SimService.Api.Features.Workloads;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Infrastructure.Observability;
using SimService.Persistence;

var builder = WebApplication.CreateBuilder(args);
builder.AddApiHardening();

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddPersistence(builder.Configuration);
builder.Services.AddSimulationEngines();
builder.Services.AddApiMediator();
builder.Services.AddApiErrorHandling();
builder.Services.AddApiDocumentation();
builder.Services.AddApiHealthChecks();
builder.Services.AddServiceMetrics();

var app = builder.Build();

await app.Services.PrepareDatabaseAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseApiHardening();
app.UseApiDocumentation();

app.MapHealthEndpoints();
app.MapServiceMetrics();
app.MapSimulations().MapHosts().MapLinks().MapProcesses().MapSockets().MapConnections();
app.MapClock().MapCommands().MapJournal().MapScenarios();
app.MapOutputs();
app.MapPacketdrill();
app.MapWorkloads();

app.Run();

/// <summary>Entry point; public so that WebApplicationFactory&lt;Program&gt; can host the API in tests.</summary>
public partial class Program;
