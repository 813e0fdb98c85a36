namespace ModelServeShim.Shimlets.Docker;

/// <summary>Error types of the Docker shimlet's <see cref="Abstractions.Activities.StepException"/>s.</summary>
public static class DockerErrorTypes
{
    /// <summary>The spec cannot run on Docker as given (no image, no port, a bad quantity); not retryable.</summary>
    public const string InvalidSpec = "InvalidSpec";

    /// <summary>The Docker Engine is not reachable or answered with a server error; retryable.</summary>
    public const string DockerUnavailable = "DockerUnavailable";

    /// <summary>The Docker Engine refused a request (4xx other than a missing image); not retryable.</summary>
    public const string DockerRequestRefused = "DockerRequestRefused";

    /// <summary>Scaling a service that has no container; not retryable.</summary>
    public const string ServiceNotFound = "ServiceNotFound";
}
