namespace ModelServeShim.ControlPlane;

/// <summary>Why a service command was refused; the API family maps each kind to one HTTP status.</summary>
public enum ServiceCommandErrorKind
{
    /// <summary>A field is invalid (400).</summary>
    Invalid,
    /// <summary>No such service (404).</summary>
    NotFound,
    /// <summary>The service's state, or another service, does not allow it (409).</summary>
    Conflict,
}

/// <summary>A refused service command: what to change, per field when a field is at fault.</summary>
/// <param name="Kind">Why.</param>
/// <param name="Message">What went wrong and what to do instead.</param>
/// <param name="Errors">Per-field problems (Invalid).</param>
/// <param name="State">The service's state when it is what refused the command (Conflict).</param>
public sealed record ServiceCommandError(ServiceCommandErrorKind Kind, string Message, IReadOnlyList<FieldError> Errors, ServiceState? State = null)
{
    /// <summary>Invalid fields.</summary>
    public static ServiceCommandError Invalid(string message, IReadOnlyList<FieldError> errors) => new(ServiceCommandErrorKind.Invalid, message, errors);

    /// <summary>No such service.</summary>
    public static ServiceCommandError NotFound(string serviceId) =>
        new(ServiceCommandErrorKind.NotFound, $"No model service '{serviceId}'. GET /api/v1/modserv lists them.", []);

    /// <summary>Not allowed now.</summary>
    public static ServiceCommandError Conflict(string message, ServiceState? state) => new(ServiceCommandErrorKind.Conflict, message, [], state);
}

/// <summary>The outcome of a service command: its value, or the error that refused it (never both).</summary>
/// <typeparam name="T">The value's type.</typeparam>
public readonly record struct ServiceCommandResult<T>
{
    private ServiceCommandResult(T? value, ServiceCommandError? error)
    {
        Value = value;
        Error = error;
    }

    /// <summary>The value, when the command succeeded.</summary>
    public T? Value { get; }

    /// <summary>The error, when it was refused.</summary>
    public ServiceCommandError? Error { get; }

    /// <summary>A success.</summary>
    public static implicit operator ServiceCommandResult<T>(T value) => new(value, null);

    /// <summary>A refusal.</summary>
    public static implicit operator ServiceCommandResult<T>(ServiceCommandError error) => new(default, error);
}
