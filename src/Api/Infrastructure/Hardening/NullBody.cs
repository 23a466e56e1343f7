using Microsoft.AspNetCore.Http.Metadata;

namespace SimService.Api.Infrastructure.Hardening;

/// <summary>
/// A body that holds bytes and binds to null is JSON null, which is no object: a 400 at <c>$</c>, as <c>[]</c> and
/// <c>"x"</c> are. An endpoint whose body is optional gets null for no body and for JSON null alike, so this filter tells
/// them apart by the bytes (<see cref="EmptyBodyDetection.HasBytes"/>); a required body's JSON null never reaches it (the
/// binding refuses it first: <see cref="ErrorMapping.FromBadRequest"/>).
/// </summary>
public sealed class NullBody : IEndpointFilter
{
    public static readonly NullBody Filter = new();

    public const string NoObject = "The request body must be a JSON object.";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is { } bodyType
            && EmptyBodyDetection.HasBytes(http.Request) && !Holds(context.Arguments, bodyType))
            return ValueTask.FromResult<object?>(ErrorMapping.ToProblem(new RequestInvalid("$", NoObject)));
        return next(context);
    }

    private static bool Holds(IList<object?> arguments, Type bodyType)
    {
        foreach (var argument in arguments)
            if (argument is not null && bodyType.IsInstanceOfType(argument)) return true;
        return false;
    }
}
