using System.Globalization;

namespace ModelServeShim.Shimlets.Docker;

/// <summary>The labels and names the Docker shimlet gives its containers.</summary>
public static class DockerLabels
{
    /// <summary>The service id.</summary>
    public const string ServiceId = "modelserveshim.io/service-id";

    /// <summary>Who manages the container.</summary>
    public const string ManagedBy = "app.kubernetes.io/managed-by";

    /// <summary>The value of <see cref="ManagedBy"/>.</summary>
    public const string ManagedByValue = "model-serve-shim";

    /// <summary>A hash of everything in the spec that the container's configuration derives from (not the replica count).</summary>
    public const string SpecHash = "modelserveshim.io/spec-hash";

    /// <summary>The replica index.</summary>
    public const string Replica = "modelserveshim.io/replica";

    /// <summary>The port the replica listens on.</summary>
    public const string Port = "modelserveshim.io/port";

    /// <summary>The runtime's health path.</summary>
    public const string HealthPath = "modelserveshim.io/health-path";

    /// <summary>The container name of a replica: <c>mss-&lt;serviceId&gt;-&lt;replica&gt;</c>.</summary>
    public static string ContainerName(string serviceId, int replica) =>
        string.Create(CultureInfo.InvariantCulture, $"mss-{serviceId}-{replica}");
}
