using Microsoft.AspNetCore.Authentication;
using SimService.Persistence;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>
/// Tenants and API keys with ASP.NET Core's authentication and authorization: every <c>/api/v1</c> endpoint
/// needs the <see cref="Policy"/> policy (an authenticated caller — the single-tenant default counts while keys
/// are off) and the per-tenant rate limit. Health, metrics and Swagger stay open.
/// </summary>
public static class TenancySetup
{
    public const string Policy = "tenant";

    public static IServiceCollection AddTenancy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(new ApiKeyMode(configuration.GetValue("ApiKeys:Required", false)));
        services.AddScoped<ApiKeyStore>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy.RequireAuthenticatedUser());
        services.AddTenantRateLimits(configuration);
        return services;
    }

    public static WebApplication UseTenancy(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>The group every API endpoint is mapped in: authorized per tenant and rate-limited per tenant.</summary>
    public static RouteGroupBuilder MapTenantApi(this WebApplication app) =>
        app.MapGroup("").RequireAuthorization(Policy).RequireRateLimiting(TenantRateLimits.Policy)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
}
