namespace ModelServeShim.Abstractions.Activities;

/// <summary>
/// A step failure described by data, not prose: the runtime decides retry from <see cref="Retryable"/>
/// and reports <see cref="ErrorType"/>; it never parses <see cref="Exception.Message"/>.
/// </summary>
public class StepException : Exception
{
    /// <summary>Creates a step failure.</summary>
    /// <param name="errorType">A stable, machine-readable error type, e.g. <c>ModelNotFound</c>.</param>
    /// <param name="message">What went wrong and what to change, for a person.</param>
    /// <param name="retryable">Whether another attempt may succeed.</param>
    /// <param name="innerException">The cause, if any.</param>
    public StepException(string errorType, string message, bool retryable = true, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(errorType);
        ErrorType = errorType;
        Retryable = retryable;
    }

    /// <summary>A stable, machine-readable error type.</summary>
    public string ErrorType { get; }

    /// <summary>Whether another attempt may succeed.</summary>
    public bool Retryable { get; }

    /// <summary>Structured details shown with the error (e.g. a diagnosis, sizes).</summary>
    public IDictionary<string, object?> Details { get; } = new Dictionary<string, object?>();

    /// <summary>A failure that retrying cannot fix.</summary>
    public static StepException NonRetryable(string errorType, string message, Exception? inner = null) =>
        new(errorType, message, retryable: false, inner);
}

/// <summary>Error types the runtime itself assigns.</summary>
public static class StepErrorTypes
{
    /// <summary>An attempt exceeded the step's <c>timeout</c>.</summary>
    public const string Timeout = "Timeout";

    /// <summary>The instance was cancelled while the step ran.</summary>
    public const string Cancelled = "Cancelled";

    /// <summary>An input could not be evaluated or converted to its declared type.</summary>
    public const string InvalidInput = "InvalidInput";

    /// <summary>The step was running when the server stopped; it runs again on resume.</summary>
    public const string Interrupted = "Interrupted";
}
