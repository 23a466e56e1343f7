namespace SimService.Api.Infrastructure;

/// <summary>
/// An expected way for a use case to fail. Handlers return it as a value; <see cref="ErrorMapping"/>
/// is the one place that turns it into an HTTP problem.
/// </summary>
public abstract record Failure;

public sealed record SimulationNotFound(Guid SimulationId) : Failure;

/// <summary>The result of a use case that can fail in an expected way: a value or a <see cref="Failure"/>.</summary>
public readonly struct Outcome<T>
{
    private readonly T? _value;
    private readonly Failure? _failure;

    private Outcome(T? value, Failure? failure) => (_value, _failure) = (value, failure);

    public static implicit operator Outcome<T>(T value) => new(value, null);
    public static implicit operator Outcome<T>(Failure failure) => new(default, failure);

    public TResult Match<TResult>(Func<T, TResult> success, Func<Failure, TResult> failure) =>
        _failure is null ? success(_value!) : failure(_failure);
}
