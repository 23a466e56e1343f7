using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>
/// Swagger: the <c>apiKey</c> bearer scheme (Swagger UI's Authorize button), required by every operation that
/// needs the tenant policy.
/// </summary>
public sealed class ApiKeyOperationFilter : IOperationFilter
{
    public const string SchemeId = "apiKey";

    public static readonly OpenApiSecurityScheme Scheme = new()
    {
        Type = SecuritySchemeType.Http,
        Scheme = "bearer",
        Description = "An API key (ssk_…) created with `keys create --tenant TENANT`, sent as 'Authorization: Bearer <key>' " +
            "(or 'X-Api-Key: <key>'). Needed once keys exist or ApiKeys:Required is set; without keys the service is open.",
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any()) return;
        operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeId, context.Document)] = [] }];
    }
}
