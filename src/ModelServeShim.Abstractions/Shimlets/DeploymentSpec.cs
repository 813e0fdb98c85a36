using System.Text.Json.Serialization;

namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>
/// A shimlet-neutral description of one model service, rendered by the <c>config-rendering</c> step
/// from the request and a runtime profile. Each shimlet maps it onto its environment.
/// </summary>
public sealed record DeploymentSpec
{
    /// <summary>The service id (<c>modelName-uuid</c>); names and labels derive from it.</summary>
    public required string ServiceId { get; init; }

    /// <summary>The model name from the request (a DNS-1123 label).</summary>
    public required string ModelName { get; init; }

    /// <summary>The namespace, when the environment has them; null means the shimlet's default.</summary>
    public string? Namespace { get; init; }

    /// <summary>Extra labels from the request.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The serving runtime profile's name (e.g. <c>llama-cpp</c>, <c>vllm</c>).</summary>
    public required string Runtime { get; init; }

    /// <summary>The container image, for container environments.</summary>
    public string? Image { get; init; }

    /// <summary>The program to run (container entrypoint or local executable).</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>Its arguments, already rendered.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Environment variables.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The port the runtime listens on inside its environment (0: the shimlet allocates one).</summary>
    public int Port { get; init; }

    /// <summary>The runtime's health path, e.g. <c>/health</c>.</summary>
    public string HealthPath { get; init; } = "/health";

    /// <summary>Resources per replica.</summary>
    public required ResourceSpec Resources { get; init; }

    /// <summary>Desired replicas.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>The model file or directory on the host (already validated inside a model root).</summary>
    public required string ModelPath { get; init; }

    /// <summary>Where the model directory appears inside a container (read-only).</summary>
    public string ModelMountPath { get; init; } = "/models";

    /// <summary>Ask for stable identity and per-replica storage (StatefulSet on Kubernetes).</summary>
    public bool StableIdentity { get; init; }

    /// <summary>How long the runtime may take to start before probes fail it.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>Resources for one replica.</summary>
/// <param name="Cpu">A Kubernetes quantity, e.g. <c>4</c> or <c>500m</c>.</param>
/// <param name="Memory">A Kubernetes quantity, e.g. <c>16Gi</c>.</param>
/// <param name="AcceleratorType">The accelerator catalog name, e.g. <c>NVIDIA H20</c>; null for none.</param>
/// <param name="AcceleratorCount">Accelerators per replica.</param>
public sealed record ResourceSpec(string Cpu, string Memory, string? AcceleratorType, int AcceleratorCount);

/// <summary>The coarse phase of a service in its environment.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ServicePhase>))]
public enum ServicePhase
{
    /// <summary>Nothing exists for the service.</summary>
    NotFound,
    /// <summary>Created, not ready yet.</summary>
    Pending,
    /// <summary>All desired replicas are ready.</summary>
    Running,
    /// <summary>Some replicas are ready, some are not.</summary>
    Degraded,
    /// <summary>It will not become ready without a change (see the reason).</summary>
    Failed,
    /// <summary>Stopped on purpose (scaled to zero or removed).</summary>
    Stopped,
}

/// <summary>Why a service is not ready: a fixed set, so the health check can decide to stop waiting.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<UnhealthyReason>))]
public enum UnhealthyReason
{
    /// <summary>Healthy, or no reason known.</summary>
    [JsonStringEnumMemberName("none")] None,
    /// <summary>Still starting; waiting may help.</summary>
    [JsonStringEnumMemberName("pending")] Pending,
    /// <summary>The image cannot be pulled.</summary>
    [JsonStringEnumMemberName("image-unavailable")] ImageUnavailable,
    /// <summary>The runtime keeps crashing.</summary>
    [JsonStringEnumMemberName("crash-loop")] CrashLoop,
    /// <summary>No node can take it (other than accelerators).</summary>
    [JsonStringEnumMemberName("unschedulable")] Unschedulable,
    /// <summary>Not enough accelerators anywhere.</summary>
    [JsonStringEnumMemberName("insufficient-accelerators")] InsufficientAccelerators,
    /// <summary>Failed for another reason.</summary>
    [JsonStringEnumMemberName("failed")] Failed,
}

/// <summary>A service's status as its shimlet sees it.</summary>
public sealed record ShimletStatus
{
    /// <summary>The coarse phase.</summary>
    public required ServicePhase Phase { get; init; }

    /// <summary>Replicas ready to serve.</summary>
    public int ReadyReplicas { get; init; }

    /// <summary>Replicas wanted.</summary>
    public int DesiredReplicas { get; init; }

    /// <summary>Where the service answers (base URL), when known.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>
    /// The base URL of each ready replica, when the environment runs replicas the control plane must balance itself
    /// (one local process per replica, one container per replica). Empty where the environment balances on its own
    /// (a Kubernetes Service): requests then go to <see cref="Endpoint"/>.
    /// </summary>
    public IReadOnlyList<Uri> ReplicaEndpoints { get; init; } = [];

    /// <summary>Why it is not ready.</summary>
    public UnhealthyReason Reason { get; init; } = UnhealthyReason.None;

    /// <summary>The environment's own words about the problem.</summary>
    public string? Message { get; init; }

    /// <summary>Whether waiting can fix the current problem.</summary>
    [JsonIgnore]
    public bool IsTerminalFailure => Reason is UnhealthyReason.ImageUnavailable or UnhealthyReason.CrashLoop
        or UnhealthyReason.Unschedulable or UnhealthyReason.InsufficientAccelerators or UnhealthyReason.Failed;

    /// <summary>
    /// Whether two statuses are in the same state: phase, reason, ready and desired replicas and endpoint (the message,
    /// which may carry times or log lines, is not compared). Null equals only null.
    /// </summary>
    public static bool SameState(ShimletStatus? a, ShimletStatus? b) =>
        a is null || b is null
            ? a is null && b is null
            : (a.Phase, a.Reason, a.ReadyReplicas, a.DesiredReplicas, a.Endpoint) == (b.Phase, b.Reason, b.ReadyReplicas, b.DesiredReplicas, b.Endpoint);
}
