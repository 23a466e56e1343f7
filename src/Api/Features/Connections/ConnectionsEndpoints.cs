using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using SimService.Api.Infrastructure;

namespace SimService.Api.Features.Connections;

public static class ConnectionsEndpoints
{
    public static IEndpointRouteBuilder MapConnections(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/simulations/{id:guid}/connections").WithTags("Connections")
            .MapPost("/", OpenConnection).WithName(nameof(OpenConnection)).AsCommand().ProducesValidationProblem()
            .WithSummary("Listen if needed, connect, accept, and run the clock until the pair is ESTABLISHED")
            .WithExamples("""{"client":"client","server":"server","port":80}""",
                """{"listen":{"callId":1,"call":"listen","host":"server","process":"app","socketId":1,"status":"returned","result":0,"errno":null,"issuedAtNs":0,"version":4},"listenerSocketId":1,"connect":{"callId":2,"call":"connect","host":"client","process":"app","socketId":2,"args":"to=server:80","status":"returned","result":0,"errno":null,"issuedAtNs":0,"returnedAtNs":20000000,"blockedNs":20000000},"accept":{"callId":3,"call":"accept","host":"server","process":"app","socketId":3,"args":"","status":"returned","result":3,"errno":null,"issuedAtNs":0,"returnedAtNs":30000000,"blockedNs":30000000},"clientSocketId":2,"serverSocketId":3,"established":true,"eventsProcessed":3,"truncated":false,"nowNs":30000000,"version":7}""");
        return app;
    }

    // 201 with the client socket's Location; 200 when the client's socket() failed EMFILE and made none (socket id 0).
    private static async Task<Results<Created<ConnectionResponse>, Ok<ConnectionResponse>, ProblemHttpResult>> OpenConnection(
        Guid id, OpenConnectionRequest request, HttpRequest http, ISender sender, CancellationToken cancellationToken) =>
        (await sender.Send(new OpenConnection(id, Versioning.ExpectedVersion(http), request), cancellationToken))
            .ToCreatedOrOk(http.HttpContext.Response, c => c.ClientSocketId == 0 ? null : $"/api/v1/simulations/{id}/sockets/{c.ClientSocketId}");
}
