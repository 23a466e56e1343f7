using Microsoft.OpenApi;
using Microsoft.AspNetCore.Http.Metadata;
using SimService.Api.Features.Commands;

namespace SimService.Api.Infrastructure;

public static class SwaggerSetup
{
    public const string DocumentName = "v1";

    public static IServiceCollection AddApiDocumentation(this IServiceCollection services) =>
        services.AddEndpointsApiExplorer().AddSwaggerGen(options =>
        {
            options.SwaggerDoc(DocumentName, new OpenApiInfo
            {
                Title = "SimService",
                Version = DocumentName,
                Description = "Simulates, in virtual time, how the Linux kernel tears TCP connections down. " +
                    "To look at a simulation, open its page GET /api/v1/simulations/{id}/view (linked as links.view from each simulation): " +
                    "the ladder diagram, every host's socket table at any virtual time, the time series and the journal. " +
                    "Every GET also answers HEAD: the same status and headers, no body.",
            });
            // Every GET answers HEAD too (HeadRequests); listed per operation it would repeat each GET under its operation id.
            options.DocInclusionPredicate((document, api) => !HttpMethods.IsHead(api.HttpMethod ?? "") && (api.GroupName is null || api.GroupName == document));
            options.SupportNonNullableReferenceTypes();
            // Any JSON value, as the JsonElement it wraps: the schema is the scenario format's (docs/scenario.schema.json).
            options.MapType<Features.Scenarios.ScenarioBody>(() => new OpenApiSchema());
            options.SchemaFilter<AllowedValuesSchemaFilter>();
            options.SchemaFilter<DurationSchemaFilter>();
            options.OperationFilter<ExamplesOperationFilter>();
            options.OperationFilter<IfMatchOperationFilter>();
            options.OperationFilter<IfNoneMatchOperationFilter>();
            options.OperationFilter<ServiceProblemsOperationFilter>();
            options.AddSecurityDefinition(Tenancy.ApiKeyOperationFilter.SchemeId, Tenancy.ApiKeyOperationFilter.Scheme);
            options.OperationFilter<Tenancy.ApiKeyOperationFilter>();
            // Only the batch's CommandInput is polymorphic on the wire: the socket call requests and the problems
            // are documented by OpenApiDocumentFilter (plain objects; ProblemDetails with a mapping per type URN).
            options.UseAllOfForInheritance();
            options.SelectSubTypesUsing(type => type == typeof(CommandInput) ? CommandInput.Types.Select(t => t.Record) : []);
            options.DocumentFilter<OpenApiDocumentFilter>();
            // Paths in reading order: by tag as OpenApiDocumentFilter lists them (Simulations first), then by route.
            options.OrderActionsBy(api =>
                $"{OpenApiDocumentFilter.TagOrder(api.ActionDescriptor.EndpointMetadata.OfType<ITagsMetadata>().FirstOrDefault()?.Tags.FirstOrDefault()):D2} {api.RelativePath}");
            var xml = Path.Combine(AppContext.BaseDirectory, "SimService.Api.xml");
            if (File.Exists(xml)) options.IncludeXmlComments(xml);
        });

    /// <summary>Swagger UI at /swagger in every environment: it is a main way users meet the service.</summary>
    /// <remarks>
    /// Both live under /swagger (the document at /swagger/v1/swagger.json, the UI at /swagger/index.html), so only
    /// those requests pass through their middleware: every other request (a command) skipped two asynchronous
    /// steps and the UI's path pattern for nothing (README, W4).
    /// </remarks>
    public static WebApplication UseApiDocumentation(this WebApplication app)
    {
        var origins = AbsoluteLocations.Origins(app.Configuration);
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/swagger"), docs =>
        {
            // "Try it out" sends to the document's first server: the instance that served it (a service started with
            // --urls on another port sent to 5080), by the rule Location headers follow; a foreign Host header gets the
            // path base alone, which Swagger UI resolves against the page's own URL.
            docs.UseSwagger(swagger => swagger.PreSerializeFilters.Add((document, request) =>
                document.Servers = [new OpenApiServer
                {
                    Url = origins(request.HttpContext) ?? (request.PathBase.HasValue ? request.PathBase.Value : "/"),
                    Description = OpenApiDocumentFilter.ServerDescription,
                }]));
            docs.UseSwaggerUI(options =>
            {
                options.DocumentTitle = "SimService API";
                options.DisplayOperationId();
                options.DisplayRequestDuration();
            });
        });
        return app;
    }
}
