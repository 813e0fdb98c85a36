using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>
/// Settings of the Kubernetes shimlet, bound from the configuration section <c>Shimlets:Kubernetes</c>.
/// </summary>
public sealed class KubernetesShimletOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shimlets:Kubernetes";

    /// <summary>
    /// The kubeconfig file. Null: the <c>KUBECONFIG</c> environment variable (a path list), then
    /// <c>~/.kube/config</c>, else the in-cluster service account.
    /// </summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>The kubeconfig context to use; null means the kubeconfig's current context.</summary>
    public string? Context { get; set; }

    /// <summary>The namespace used when a spec or target names none. Default <c>default</c>.</summary>
    [Required]
    public string DefaultNamespace { get; set; } = "default";

    /// <summary>The server-side apply field manager. Default <c>model-serve-shim</c>.</summary>
    [Required]
    [StringLength(128, MinimumLength = 1)]
    public string FieldManager { get; set; } = KubernetesLabels.ManagedByValue;

    /// <summary>
    /// Whether server-side apply forces ownership of fields another manager owns. Default false: such a
    /// conflict fails the apply with error type <c>ApplyConflict</c>.
    /// </summary>
    public bool ForceConflicts { get; set; }

    /// <summary>The container port used when the spec leaves the port to the shimlet (port 0). Default 8080.</summary>
    [Range(1, 65535)]
    public int DefaultContainerPort { get; set; } = 8080;

    /// <summary>How accelerator catalog names map onto a node selector.</summary>
    public AcceleratorNodeSelectorOptions Accelerators { get; set; } = new();

    /// <summary>Tolerations added to every pod (for example for GPU nodes tainted <c>nvidia.com/gpu:NoSchedule</c>).</summary>
    public IList<TolerationOptions> Tolerations { get; } = [];

    /// <summary>
    /// Names of <c>kubernetes.io/dockerconfigjson</c> Secrets, in the service's namespace, that the kubelet uses to pull
    /// runtime images from private registries (the pod's <c>imagePullSecrets</c>). Only the names are configured here and
    /// rendered into the pod; the shimlet never reads the Secrets, so their content is in no spec, journal or log.
    /// Create them with <c>kubectl create secret docker-registry &lt;name&gt; -n &lt;namespace&gt; ...</c>.
    /// </summary>
    public IList<string> ImagePullSecrets { get; } = [];

    /// <summary>Where the model files come from inside the cluster.</summary>
    public ModelVolumeOptions ModelVolume { get; set; } = new();

    /// <summary>Size limit of the memory-backed <c>/dev/shm</c> volume (a Kubernetes quantity). Default <c>8Gi</c>.</summary>
    [Required]
    public string ShmSize { get; set; } = "8Gi";

    /// <summary>
    /// The service endpoint template; <c>{service}</c>, <c>{namespace}</c> and <c>{port}</c> are replaced.
    /// Default <c>http://{service}.{namespace}.svc.cluster.local:{port}</c>; a port-forward test can use
    /// <c>http://127.0.0.1:18080</c>.
    /// </summary>
    [Required]
    public string EndpointTemplate { get; set; } = "http://{service}.{namespace}.svc.cluster.local:{port}";

    /// <summary>
    /// How the control plane reaches runtimes over HTTP (the health check's <c>/health</c> and <c>/v1/models</c>).
    /// Default <see cref="KubernetesRuntimeAccess.Auto"/>: direct to the endpoint when the shimlet runs inside the
    /// cluster with its service account, else through the API server's service proxy. The endpoint reported to
    /// users is <see cref="EndpointTemplate"/> whichever is chosen.
    /// </summary>
    public KubernetesRuntimeAccess RuntimeAccess { get; set; } = KubernetesRuntimeAccess.Auto;

    /// <summary>Timeout of one request through the API server's service proxy. Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:10:00")]
    public TimeSpan ProxyRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many log lines a crash-loop status quotes from the crashing container. Default 20.</summary>
    [Range(0, 1000)]
    public int CrashLogTailLines { get; set; } = 20;

    /// <summary>
    /// Timeout of reading the crashing container's log for a diagnosis (both reads together). Default 5 seconds.
    /// The log tail is best effort: when it cannot be read in time (or at all) the diagnosis is reported without it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:05:00")]
    public TimeSpan LogReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Server-side timeout of one watch request, after which it is re-established. Default 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>First delay before re-connecting a dropped watch; doubles up to <see cref="WatchReconnectMaxDelay"/>. Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan WatchReconnectInitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between watch re-connection attempts. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan WatchReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>How the control plane reaches a runtime's HTTP port (see <see cref="KubernetesShimletOptions.RuntimeAccess"/>).</summary>
public enum KubernetesRuntimeAccess
{
    /// <summary>Direct when the client uses the in-cluster service account, else <see cref="ApiServerProxy"/>.</summary>
    Auto,

    /// <summary>Straight to the endpoint from <see cref="KubernetesShimletOptions.EndpointTemplate"/> (in-cluster DNS, a port-forward, an ingress).</summary>
    Direct,

    /// <summary>
    /// Through the API server: <c>/api/v1/namespaces/{ns}/services/{name}:http/proxy/{path}</c>, with the shimlet's
    /// own credentials. Needs <c>get</c> on <c>services/proxy</c>.
    /// </summary>
    ApiServerProxy,
}

/// <summary>Maps accelerator catalog names (<c>NVIDIA H20</c>) onto a node label.</summary>
public sealed class AcceleratorNodeSelectorOptions
{
    /// <summary>The node label that names the accelerator model. Default <c>nvidia.com/gpu.product</c> (GPU feature discovery).</summary>
    [Required]
    public string LabelKey { get; set; } = "nvidia.com/gpu.product";

    /// <summary>The extended resource requested per accelerator. Default <c>nvidia.com/gpu</c>.</summary>
    [Required]
    public string ResourceName { get; set; } = "nvidia.com/gpu";

    /// <summary>
    /// Catalog name to label value. A name not listed here maps to itself with spaces replaced by dashes
    /// (<c>NVIDIA H20</c> → <c>NVIDIA-H20</c>), which is how GPU feature discovery names products.
    /// </summary>
    public IDictionary<string, string> Values { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One pod toleration.</summary>
public sealed class TolerationOptions
{
    /// <summary>The taint key; empty with operator <c>Exists</c> tolerates everything.</summary>
    public string? Key { get; set; }

    /// <summary><c>Equal</c> (default) or <c>Exists</c>.</summary>
    public string Operator { get; set; } = "Equal";

    /// <summary>The taint value, for <c>Equal</c>.</summary>
    public string? Value { get; set; }

    /// <summary><c>NoSchedule</c>, <c>PreferNoSchedule</c>, <c>NoExecute</c>, or null for all effects.</summary>
    public string? Effect { get; set; }

    /// <summary>For <c>NoExecute</c>: how long the pod stays bound after the taint appears.</summary>
    public long? TolerationSeconds { get; set; }
}

/// <summary>The kind of volume the model files are mounted from.</summary>
public enum ModelVolumeType
{
    /// <summary>A directory on the node (<c>hostPath</c>): the spec's model path as it is on the host.</summary>
    HostPath,

    /// <summary>A PersistentVolumeClaim holding the model root; the model is mounted by sub-path.</summary>
    Pvc,

    /// <summary>An NFS export holding the model root; the model is mounted by sub-path.</summary>
    Nfs,
}

/// <summary>Where model files come from inside the cluster.</summary>
public sealed class ModelVolumeOptions
{
    /// <summary>The volume kind. Default <see cref="ModelVolumeType.HostPath"/>.</summary>
    public ModelVolumeType Type { get; set; } = ModelVolumeType.HostPath;

    /// <summary>
    /// The model root on the control-plane host that spec model paths live under. For <c>Pvc</c> and <c>Nfs</c>
    /// the model's path relative to this root becomes the volume sub-path. Required for those types.
    /// </summary>
    public string? HostModelRoot { get; set; }

    /// <summary>For <c>HostPath</c>: the model root as seen on the nodes, when it differs from <see cref="HostModelRoot"/>.</summary>
    public string? NodeModelRoot { get; set; }

    /// <summary>For <c>Pvc</c>: the claim name (in the service's namespace).</summary>
    public string? ClaimName { get; set; }

    /// <summary>For <c>Nfs</c>: the server.</summary>
    public string? NfsServer { get; set; }

    /// <summary>For <c>Nfs</c>: the exported path that corresponds to <see cref="HostModelRoot"/>.</summary>
    public string? NfsPath { get; set; }
}
