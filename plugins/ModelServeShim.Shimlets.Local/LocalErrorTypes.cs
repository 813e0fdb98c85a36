namespace ModelServeShim.Shimlets.Local;

/// <summary>Error types of the local shimlet's <see cref="Abstractions.Activities.StepException"/>s.</summary>
public static class LocalErrorTypes
{
    /// <summary>The spec's program is not an executable file (not retryable).</summary>
    public const string ExecutableNotFound = "ExecutableNotFound";

    /// <summary>The spec cannot run locally as given (not retryable).</summary>
    public const string InvalidSpec = "InvalidSpec";

    /// <summary>The fixed port is taken, or no free port was found (retryable).</summary>
    public const string PortUnavailable = "PortUnavailable";

    /// <summary>Scaling a service that does not exist (not retryable).</summary>
    public const string ServiceNotFound = "ServiceNotFound";

    /// <summary>The operating system refused to start the process (retryable).</summary>
    public const string ProcessStartFailed = "ProcessStartFailed";
}
