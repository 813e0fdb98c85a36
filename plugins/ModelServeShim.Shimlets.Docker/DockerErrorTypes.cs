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

    /// <summary>
    /// The daemon refused to start a container that requests GPUs (no device driver for <c>nvidia</c>: the NVIDIA
    /// Container Toolkit is not installed or not configured for Docker); not retryable.
    /// </summary>
    public const string GpuUnavailable = "GpuUnavailable";

    /// <summary>A replica's port on 127.0.0.1 is taken by a process that is not this service's container; not retryable.</summary>
    public const string PortInUse = "PortInUse";

    /// <summary>Scaling a service that has no container; not retryable.</summary>
    public const string ServiceNotFound = "ServiceNotFound";
}
