using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>
/// One token bucket per tenant (ASP.NET Core's rate limiter, partitioned by the tenant claim; every caller without
/// a key shares one anonymous partition while keys are off). A request takes a token; the bucket holds
/// <c>RateLimit:Burst</c> tokens (default 200) and gains <c>RateLimit:PerSecond</c> (default 100) each second.
/// An empty bucket is a 429 problem with <c>Retry-After</c> in seconds. <c>RateLimit:PerSecond</c> 0 turns it off.
/// </summary>
public static class TenantRateLimits
{
    public const string Policy = "per-tenant";
    public const int DefaultPerSecond = 100;
    public const int DefaultBurst = 200;

    /// <summary>
    /// <c>RateLimit:PeriodSeconds</c> as the token bucket's <see cref="TokenBucketRateLimiterOptions.ReplenishmentPeriod"/>:
    /// <see cref="TimeSpan.FromSeconds(double)"/> keeps whole 100-ns ticks and drops the rest. The bucket takes any period
    /// of at least one tick, up to <see cref="TimeSpan.MaxValue"/> (ASP.NET Core's partitioned limiter replenishes it from its
    /// own timer, so no Timer's 2^32 − 2 ms bound applies); a period of 0 ticks throws when the first request makes the
    /// tenant's bucket — every request a 500 (tester39 MEDIUM-6: 0.00000005 s passed the start-up check). Null: no such period.
    /// </summary>
    public static TimeSpan? Period(double seconds)
    {
        if (!(seconds > 0) || seconds > TimeSpan.MaxValue.TotalSeconds) return null;
        var period = TimeSpan.FromSeconds(seconds);
        return period.Ticks >= 1 ? period : null;
    }

    public static IServiceCollection AddTenantRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var perSecond = configuration.GetValue("RateLimit:PerSecond", DefaultPerSecond);
        var burst = configuration.GetValue("RateLimit:Burst", Math.Max(DefaultBurst, perSecond));
        var period = Period(configuration.GetValue("RateLimit:PeriodSeconds", 1.0));
        return services.AddRateLimiter(options =>
        {
            options.AddPolicy(Policy, context =>
            {
                if (perSecond <= 0) return RateLimitPartition.GetNoLimiter("");
                var tenant = context.User.FindFirst(ApiKeyAuthenticationHandler.TenantClaim)?.Value ?? "";
                return RateLimitPartition.GetTokenBucketLimiter(tenant, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = burst,
                    TokensPerPeriod = perSecond,
                    ReplenishmentPeriod = period!.Value,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            options.OnRejected = async (rejected, cancellationToken) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
                    ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
                    : 1;
                var response = rejected.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await TypedResults.Problem(
                    statusCode: StatusCodes.Status429TooManyRequests,
                    type: ProblemTypes.RateLimited,
                    title: "Too many requests.",
                    detail: $"This tenant sent more than its rate limit allows; retry after {seconds} s.",
                    extensions: new Dictionary<string, object?> { ["retryAfterSeconds"] = seconds }).ExecuteAsync(rejected.HttpContext);
            };
        });
    }
}
