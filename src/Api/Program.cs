using SimService.Api.Features.Simulations;
using SimService.Api.Infrastructure;
using SimService.Persistence;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddPersistence(builder.Configuration);
builder.Services.AddApiMediator();
builder.Services.AddApiErrorHandling();
builder.Services.AddApiDocumentation();
builder.Services.AddApiHealthChecks();

var app = builder.Build();

await app.Services.PrepareDatabaseAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseApiDocumentation();

app.MapHealthEndpoints();
app.MapSimulations();

app.Run();

/// <summary>Entry point; public so that WebApplicationFactory&lt;Program&gt; can host the API in tests.</summary>
public partial class Program;
