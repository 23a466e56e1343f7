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
using SimService.Api.Infrastructure.Tenancy;
using SimService.Persistence;

var builder = WebApplication.CreateBuilder(args);
// A setting the service cannot take is one line and exit 1, before anything is built from it (it was an unhandled
// exception, a stack trace and SIGABRT): the key commands build the same services, and say it as their own errors ("keys: ").
if (ServiceSettings.Refusal(builder.Configuration) is { } badSetting)
{
    // The key commands' exit 3 is "the configuration or its database cannot be used"; 1 is theirs for an unknown key id.
    Console.Error.WriteLine($"{(args is ["keys", ..] ? "keys" : "SimService.Api")}: {badSetting}");
    Environment.ExitCode = args is ["keys", ..] ? 3 : 1;
    return;
}
// The key commands check their own arguments first, then build the services and prepare the database, and report any
// failure (a malformed connection string, an unknown provider) in one line; they print only their own output.
if (args is ["keys", ..])
{
    builder.Logging.ClearProviders();
    Environment.ExitCode = await ApiKeyCommands.RunAsync(() => AddServices(builder).Build().Services, args[1..]);
    return;
}
var app = AddServices(builder).Build();
try
{
    await app.Services.PrepareDatabaseAsync();
}
catch (Exception e) when (ServiceSettings.IsDatabaseFailure(e))
{
    // A database that is not there, not a database, or refuses us: one line and exit 1, as for a bad setting.
    Console.Error.WriteLine($"SimService.Api: {ServiceSettings.DatabaseFailure(e)}");
    Environment.ExitCode = 1;
    return;
}

app.UseHeadRequests();
app.UseAbsoluteLocations();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseApiHardening();
app.UseApiDocumentation();
app.UseTenancy();

app.MapHealthEndpoints();
app.MapServiceMetrics();
var api = app.MapTenantApi().AnswerHead();
api.MapSimulations().MapHosts().MapLinks().MapProcesses().MapSockets().MapConnections();
api.MapClock().MapCommands().MapJournal().MapScenarios();
api.MapOutputs();
api.MapPacketdrill();
api.MapWorkloads();

try
{
    await app.StartAsync();
}
catch (Exception e) when (ServiceSettings.IsListenFailure(e))
{
    // An address Kestrel cannot listen on (in use, not this machine's — tester39 MEDIUM-4 —, a port below 1024 without the
    // right, https without a certificate, a path base, a Kestrel:Endpoints entry): one line and exit 1, as the key commands
    // report theirs — it was .NET's unhandled exception, a 14- to 40-line trace and SIGABRT (134). The common mistakes in
    // --urls are refused before, with the settings (ServiceSettings); any other failure stays a stack trace (review39a S-5).
    Console.Error.WriteLine($"SimService.Api: cannot listen: {e.Message.ReplaceLineEndings(" ")}");
    Environment.ExitCode = 1;
    await app.DisposeAsync();
    return;
}
await app.WaitForShutdownAsync();
await app.DisposeAsync();

static WebApplicationBuilder AddServices(WebApplicationBuilder builder)
{
    builder.AddApiHardening();
    builder.Services.AddSingleton(TimeProvider.System);
    builder.Services.AddPersistence(builder.Configuration);
    builder.Services.AddSimulationEngines();
    builder.Services.AddApiMediator();
    builder.Services.AddApiErrorHandling();
    builder.Services.AddApiDocumentation();
    builder.Services.AddApiHealthChecks();
    builder.Services.AddServiceMetrics();
    builder.Services.AddOutputs();
    builder.Services.AddTenancy(builder.Configuration);
    return builder;
}

/// <summary>Entry point; public so that WebApplicationFactory&lt;Program&gt; can host the API in tests.</summary>
public partial class Program;
