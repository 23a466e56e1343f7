namespace SimService.Domain.Engine;

/// <summary>A value or a <see cref="DomainError"/>.</summary>
public readonly struct Result<T>
{
    public T? Value { get; }
    public DomainError? Error { get; }
    public bool IsOk => Error is null;

    Result(T? value, DomainError? error)
    {
        Value = value;
        Error = error;
    }

    public static implicit operator Result<T>(T value) => new(value, null);
    public static implicit operator Result<T>(DomainError error) => new(default, error);
}
