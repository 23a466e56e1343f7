using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;

namespace SimService.Api.Features.Packetdrill;

public static class PacketdrillEndpoints
{
    public static IEndpointRouteBuilder MapPacketdrill(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/packetdrill").WithTags("Packetdrill")
            .MapPost("/run", RunPacketdrill).WithName(nameof(RunPacketdrill)).WithinQuotas()
            .WithWorkField("$", "Run a shorter script.")
            .Accepts<string>("text/plain")
            .ProducesValidationProblem()
            .WithExamples(
                "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+.01 < . 1:1(0) ack 1 win 257\n+.1 > R 1:1(0)\n",
                """{"passed":false,"simulationId":"019ae3c1-7a10-7c3e-9d2b-3f4e5a6b7c8d","checks":[{"passed":false,"kind":"packetdrill","path":"line 6","expected":"0.110000 R 1:1(0)","actual":"0.010000 R 1:1(0) win 0","at":"10ms","atNs":10000000}],"errors":[],"journal":"/api/v1/simulations/019ae3c1-7a10-7c3e-9d2b-3f4e5a6b7c8d/journal","journalEvents":13,"nowNs":10000000,"failure":{"line":6,"column":1,"message":"listener-rst.pkt:6: error handling packet: timing error: expected outbound packet at 0.110000 sec but happened at 0.010000 sec; tolerance 0.004000 sec\nscript packet:  0.110000 R 1:1(0)\nactual packet:  0.010000 R 1:1(0) win 0","expected":"0.110000 R 1:1(0)","actual":"0.010000 R 1:1(0) win 0","atNs":10000000},"output":"listener-rst.pkt:6: error handling packet: timing error: expected outbound packet at 0.110000 sec but happened at 0.010000 sec; tolerance 0.004000 sec\nscript packet:  0.110000 R 1:1(0)\nactual packet:  0.010000 R 1:1(0) win 0","log":["0.000000 line 1: socket(..., SOCK_STREAM, IPPROTO_TCP) = 3","0.000000 line 2: setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0","0.000000 line 3: bind(3, ..., ...) = 0","0.000000 line 4: listen(3, 1) = 0","0.010000 line 5: < . 1:1(0) ack 1 win 257"]}""")
            .WithSummary("Run a packetdrill script (text/plain) against a simulated Linux host: 200 with passed and, for a failure, the script line and packetdrill's message; 400 when the script does not parse or uses something the simulator does not run (each error keyed by line and column)");
        return app;
    }

    /// <param name="request">The script is the body, as text/plain.</param>
    /// <param name="profile">Kernel profile of the host under test: linux-6 (default) or linux-4.4.</param>
    /// <param name="seed">Seed of the simulation (ISNs, timestamp offsets, ports); default 1.</param>
    /// <param name="tolerance_usecs">packetdrill's --tolerance_usecs: 0 to 2147483647 µs, as a script's option line takes it (default 4000).</param>
    /// <param name="mss">packetdrill's --mss.</param>
    /// <param name="ip_version">packetdrill's --ip_version: only ipv4 runs.</param>
    /// <param name="name">The script's file name, used in messages ("close.pkt:12: …") and as the simulation's name.</param>
    /// <param name="sender">Mediator.</param>
    /// <param name="cancellationToken">Request abort.</param>
    private static async Task<Results<Ok<PacketdrillRunResponse>, ProblemHttpResult>> RunPacketdrill(HttpRequest request,
        string? profile, long? seed, long? tolerance_usecs, int? mss, string? ip_version, string? name,
        ISender sender, CancellationToken cancellationToken)
    {
        var (script, refused) = await TextBody.ReadUtf8Async(request, "script", cancellationToken);
        if (refused is not null) return refused;
        var errors = new Dictionary<string, string[]>();
        if (!KernelProfiles.TryParse(profile ?? "linux-6", out var kernel)) errors["profile"] = ["Unknown kernel profile; expected one of linux-6, linux-4.4."];
        if (seed is < 0) errors["seed"] = ["The seed must be zero or positive."];
        if (string.IsNullOrWhiteSpace(script)) errors["script"] = ["The body must be a packetdrill script (text/plain)."];
        // The binder reads "?name=" as no name: given empty, it is refused as POST /simulations refuses {"name":""}.
        if (name is null && request.Query.ContainsKey("name")) name = "";
        if (!Simulations.NoControlCharactersAttribute.IsFree(name)) errors["name"] = [Simulations.NoControlCharactersAttribute.Message];
        else if (name is not null && (string.IsNullOrWhiteSpace(name) || Domain.Text.TextLength.Characters(name) > Persistence.Entities.SimulationRun.NameMaxLength))
            errors["name"] = [$"The name is the simulation's name: 1 to {Persistence.Entities.SimulationRun.NameMaxLength} characters, not blank, as POST /simulations takes (leave name out for script.pkt)."];
        var options = new PacketdrillOptions();
        // packetdrill's own options, checked by its rule — the one a script's option line has (tolerance_usecs was any long
        // here, an int there: tester38 LOW-12) — and named by the query parameter (not "line 1, column 1" of the script),
        // in the API's words (its command line's were "--mss: bad value '0'").
        foreach (var (option, value) in new[]
        {
            ("tolerance_usecs", tolerance_usecs?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("mss", mss?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("ip_version", ip_version),
        })
        {
            if (value is null) continue;
            options = options.With(option, value, out var error, out _);
            if (error is not null) errors[option] = [$"{option} is packetdrill's --{option}: {PacketdrillOptions.Takes(option)}, not '{value}'."];
        }
        if (errors.Count > 0) return ErrorMapping.ToProblem(new RequestInvalid(errors));
        var outcome = await sender.Send(new RunPacketdrill(script, kernel, seed ?? 1, options, name ?? "script.pkt"), cancellationToken);
        return outcome.ToOk();
    }
}
