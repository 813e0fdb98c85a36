namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>Label and annotation keys the shimlet puts on everything it creates.</summary>
public static class KubernetesLabels
{
    /// <summary>The model name.</summary>
    public const string Name = "app.kubernetes.io/name";

    /// <summary>The (label-safe) service id.</summary>
    public const string Instance = "app.kubernetes.io/instance";

    /// <summary>Who manages the object.</summary>
    public const string ManagedBy = "app.kubernetes.io/managed-by";

    /// <summary>The value of <see cref="ManagedBy"/> on objects this shimlet owns.</summary>
    public const string ManagedByValue = "model-serve-shim";

    /// <summary>The (label-safe) service id; the shimlet finds its objects by it.</summary>
    public const string ServiceId = "modelserveshim.io/service-id";

    /// <summary>Annotation holding the full, unshortened service id.</summary>
    public const string ServiceIdAnnotation = "modelserveshim.io/service-id";

    /// <summary>Annotation naming the serving runtime profile.</summary>
    public const string RuntimeAnnotation = "modelserveshim.io/runtime";

    /// <summary>Labels a request may not set, because the shimlet relies on them.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.Ordinal)
    {
        Name, Instance, ManagedBy, ServiceId,
    };
}

/// <summary>Error types of the step exceptions the Kubernetes shimlet throws.</summary>
public static class KubernetesErrorTypes
{
    /// <summary>Server-side apply found fields owned by another field manager (HTTP 409). Not retryable.</summary>
    public const string ApplyConflict = "ApplyConflict";

    /// <summary>The API server rejected an object as invalid (HTTP 400/422). Not retryable.</summary>
    public const string InvalidResource = "InvalidKubernetesResource";

    /// <summary>The credentials lack a permission (HTTP 401/403). Not retryable.</summary>
    public const string Forbidden = "KubernetesForbidden";

    /// <summary>No kubeconfig or in-cluster configuration could be loaded. Not retryable.</summary>
    public const string NotConfigured = "KubernetesNotConfigured";

    /// <summary>The service has no workload to act on. Not retryable.</summary>
    public const string ServiceNotFound = "ServiceNotFound";

    /// <summary>A transient API failure (5xx, 429, connection). Retryable.</summary>
    public const string ApiUnavailable = "KubernetesApiUnavailable";
}
