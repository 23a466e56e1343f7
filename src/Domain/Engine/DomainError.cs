namespace SimService.Domain.Engine;

/// <summary>An expected refusal of a command (unknown host, bad value …): a value, never an exception.</summary>
public sealed record DomainError(string Code, string Message, string? Field = null)
{
    public static DomainError NotFound(string what, string field) => new("not-found", $"{what} does not exist", field);
    public static DomainError Invalid(string message, string field) => new("invalid", message, field);
    public static DomainError Conflict(string message, string? field = null) => new("conflict", message, field);
}
