using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>The typed objects rendered for one deployment spec.</summary>
/// <param name="Namespace">The namespace everything goes into.</param>
/// <param name="Name">The object name shared by the workload and its Service.</param>
/// <param name="ServiceIdLabel">The <c>modelserveshim.io/service-id</c> label value.</param>
/// <param name="Deployment">The Deployment, unless the spec asks for stable identity.</param>
/// <param name="StatefulSet">The StatefulSet, when the spec asks for stable identity.</param>
/// <param name="Service">The ClusterIP Service in front of the pods.</param>
/// <param name="HeadlessService">The headless governing Service of a StatefulSet (per-pod DNS names).</param>
public sealed record KubernetesManifests(
    string Namespace,
    string Name,
    string ServiceIdLabel,
    V1Deployment? Deployment,
    V1StatefulSet? StatefulSet,
    V1Service Service,
    V1Service? HeadlessService);

/// <summary>
/// Renders a <see cref="DeploymentSpec"/> into typed Kubernetes objects. Nothing is built from strings:
/// user input only ever lands in typed fields, which the client serializes.
/// </summary>
public sealed partial class KubernetesManifestRenderer(KubernetesShimletOptions options)
{
    /// <summary>The name of the model-serving container.</summary>
    public const string ContainerName = "model";

    /// <summary>The name of the container port and of the Service port.</summary>
    public const string PortName = "http";

    private const string ModelVolumeName = "model";
    private const string ShmVolumeName = "dshm";
    private const int ProbePeriodSeconds = 10;

    /// <summary>Renders the objects for <paramref name="spec"/>.</summary>
    /// <exception cref="StepException">The spec cannot be rendered (error type <c>InvalidInput</c>, not retryable).</exception>
    public KubernetesManifests Render(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);

        var ns = spec.Namespace ?? options.DefaultNamespace;
        var name = KubernetesNames.ObjectName(spec.ServiceId);
        var idLabel = KubernetesNames.ServiceIdLabel(spec.ServiceId);
        var port = spec.Port > 0 ? spec.Port : options.DefaultContainerPort;

        var selector = SelectorLabels(idLabel);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KubernetesLabels.Name] = spec.ModelName,
            [KubernetesLabels.Instance] = idLabel,
            [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue,
            [KubernetesLabels.ServiceId] = idLabel,
        };
        foreach (var (key, value) in spec.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            labels[key] = value;
        }

        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KubernetesLabels.ServiceIdAnnotation] = spec.ServiceId,
            [KubernetesLabels.RuntimeAnnotation] = spec.Runtime,
        };

        var template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels) },
            Spec = RenderPodSpec(spec, port),
        };

        V1Deployment? deployment = null;
        V1StatefulSet? statefulSet = null;
        V1Service? headless = null;
        if (spec.StableIdentity)
        {
            var headlessName = HeadlessServiceName(name);
            statefulSet = new V1StatefulSet
            {
                ApiVersion = "apps/v1",
                Kind = V1StatefulSet.KubeKind,
                Metadata = Metadata(name, ns, labels, annotations),
                Spec = new V1StatefulSetSpec
                {
                    Replicas = spec.Replicas,
                    ServiceName = headlessName,
                    PodManagementPolicy = "Parallel",
                    Selector = new V1LabelSelector { MatchLabels = selector },
                    Template = template,
                },
            };
            headless = RenderService(headlessName, ns, labels, annotations, selector, port, headless: true);
        }
        else
        {
            deployment = new V1Deployment
            {
                ApiVersion = "apps/v1",
                Kind = V1Deployment.KubeKind,
                Metadata = Metadata(name, ns, labels, annotations),
                Spec = new V1DeploymentSpec
                {
                    Replicas = spec.Replicas,
                    Selector = new V1LabelSelector { MatchLabels = selector },
                    Template = template,
                },
            };
        }

        var service = RenderService(name, ns, labels, annotations, selector, port, headless: false);
        return new KubernetesManifests(ns, name, idLabel, deployment, statefulSet, service, headless);
    }

    /// <summary>The name of a StatefulSet's headless governing Service.</summary>
    public static string HeadlessServiceName(string name) => name + "-hl";

    /// <summary>The labels a workload selects its pods by (immutable after creation).</summary>
    public static Dictionary<string, string> SelectorLabels(string serviceIdLabel) => new(StringComparer.Ordinal)
    {
        [KubernetesLabels.ServiceId] = serviceIdLabel,
        [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue,
    };

    /// <summary>The label selector string matching everything created for a service.</summary>
    public static string LabelSelector(string serviceIdLabel) =>
        $"{KubernetesLabels.ServiceId}={serviceIdLabel},{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue}";

    private V1PodSpec RenderPodSpec(DeploymentSpec spec, int port)
    {
        var requests = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal)
        {
            ["cpu"] = new(spec.Resources.Cpu),
            ["memory"] = new(spec.Resources.Memory),
        };
        var limits = new Dictionary<string, ResourceQuantity>(requests, StringComparer.Ordinal);
        IDictionary<string, string>? nodeSelector = null;
        if (spec.Resources.AcceleratorCount > 0)
        {
            limits[options.Accelerators.ResourceName] = new(spec.Resources.AcceleratorCount.ToString(CultureInfo.InvariantCulture));
        }

        if (spec.Resources.AcceleratorType is { } accelerator)
        {
            nodeSelector = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [options.Accelerators.LabelKey] = AcceleratorLabelValue(accelerator),
            };
        }

        var probeAction = new V1HTTPGetAction { Path = spec.HealthPath, Port = PortName };
        var startupFailures = (int)Math.Max(1, Math.Ceiling(spec.StartupTimeout.TotalSeconds / ProbePeriodSeconds));

        var container = new V1Container
        {
            Name = ContainerName,
            Image = spec.Image,
            Command = spec.Command.Count > 0 ? [.. spec.Command] : null,
            Args = spec.Args.Count > 0 ? [.. spec.Args] : null,
            Env = spec.Environment.Count > 0
                ? [.. spec.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new V1EnvVar { Name = e.Key, Value = e.Value })]
                : null,
            Ports = [new V1ContainerPort { Name = PortName, ContainerPort = port, Protocol = "TCP" }],
            Resources = new V1ResourceRequirements { Requests = requests, Limits = limits },
            VolumeMounts =
            [
                new V1VolumeMount { Name = ModelVolumeName, MountPath = spec.ModelMountPath, ReadOnlyProperty = true, SubPath = ModelSubPath(spec.ModelPath) },
                new V1VolumeMount { Name = ShmVolumeName, MountPath = "/dev/shm" },
            ],
            StartupProbe = new V1Probe
            {
                HttpGet = probeAction,
                PeriodSeconds = ProbePeriodSeconds,
                TimeoutSeconds = 5,
                FailureThreshold = startupFailures,
            },
            ReadinessProbe = new V1Probe
            {
                HttpGet = probeAction,
                PeriodSeconds = ProbePeriodSeconds,
                TimeoutSeconds = 5,
                FailureThreshold = 3,
            },
            LivenessProbe = new V1Probe
            {
                HttpGet = probeAction,
                PeriodSeconds = 20,
                TimeoutSeconds = 5,
                FailureThreshold = 3,
            },
        };

        return new V1PodSpec
        {
            Containers = [container],
            EnableServiceLinks = false,
            ImagePullSecrets = options.ImagePullSecrets.Count > 0 ? [.. options.ImagePullSecrets.Select(n => new V1LocalObjectReference { Name = n })] : null,
            NodeSelector = nodeSelector,
            Tolerations = options.Tolerations.Count > 0
                ? [.. options.Tolerations.Select(t => new V1Toleration
                {
                    Key = t.Key,
                    OperatorProperty = t.Operator,
                    Value = t.Value,
                    Effect = t.Effect,
                    TolerationSeconds = t.TolerationSeconds,
                })]
                : null,
            Volumes =
            [
                ModelVolume(spec.ModelPath),
                new V1Volume
                {
                    Name = ShmVolumeName,
                    EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity(options.ShmSize) },
                },
            ],
        };
    }

    private V1Volume ModelVolume(string modelPath)
    {
        var volume = options.ModelVolume;
        return volume.Type switch
        {
            ModelVolumeType.HostPath => new V1Volume
            {
                Name = ModelVolumeName,
                HostPath = new V1HostPathVolumeSource { Path = NodeModelPath(modelPath) },
            },
            ModelVolumeType.Pvc => new V1Volume
            {
                Name = ModelVolumeName,
                PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = volume.ClaimName, ReadOnlyProperty = true },
            },
            ModelVolumeType.Nfs => new V1Volume
            {
                Name = ModelVolumeName,
                Nfs = new V1NFSVolumeSource { Server = volume.NfsServer, Path = volume.NfsPath, ReadOnlyProperty = true },
            },
            _ => throw new InvalidOperationException($"Unknown model volume type {volume.Type}."),
        };
    }

    /// <summary>HostPath mounts the model path itself (mapped onto the node root); PVC and NFS mount the root and pick the model by sub-path.</summary>
    private string? ModelSubPath(string modelPath) =>
        options.ModelVolume.Type == ModelVolumeType.HostPath ? null : RelativeToHostRoot(modelPath);

    private string NodeModelPath(string modelPath)
    {
        var volume = options.ModelVolume;
        if (volume.NodeModelRoot is null || volume.HostModelRoot is null)
        {
            return modelPath;
        }

        var relative = RelativeToHostRoot(modelPath);
        return relative.Length == 0 ? volume.NodeModelRoot : volume.NodeModelRoot.TrimEnd('/') + "/" + relative;
    }

    private string RelativeToHostRoot(string modelPath)
    {
        var root = options.ModelVolume.HostModelRoot!.TrimEnd('/');
        var relative = modelPath.StartsWith(root + "/", StringComparison.Ordinal) ? modelPath[(root.Length + 1)..]
            : string.Equals(modelPath.TrimEnd('/'), root, StringComparison.Ordinal) ? string.Empty
            : throw InvalidInput(nameof(DeploymentSpec.ModelPath),
                $"The model path '{modelPath}' is not under the configured model root '{root}' ({KubernetesShimletOptions.SectionName}:ModelVolume:HostModelRoot).");
        return relative.TrimEnd('/');
    }

    private string AcceleratorLabelValue(string accelerator) =>
        options.Accelerators.Values.TryGetValue(accelerator, out var mapped) ? mapped : Whitespace().Replace(accelerator.Trim(), "-");

    private static V1ObjectMeta Metadata(string name, string ns, Dictionary<string, string> labels, Dictionary<string, string> annotations) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Labels = new Dictionary<string, string>(labels),
        Annotations = new Dictionary<string, string>(annotations),
    };

    private static V1Service RenderService(
        string name, string ns, Dictionary<string, string> labels, Dictionary<string, string> annotations,
        Dictionary<string, string> selector, int port, bool headless) => new()
    {
        ApiVersion = "v1",
        Kind = V1Service.KubeKind,
        Metadata = Metadata(name, ns, labels, annotations),
        Spec = new V1ServiceSpec
        {
            Type = headless ? null : "ClusterIP",
            ClusterIP = headless ? "None" : null,
            PublishNotReadyAddresses = headless ? true : null,
            Selector = new Dictionary<string, string>(selector),
            Ports = [new V1ServicePort { Name = PortName, Port = port, TargetPort = PortName, Protocol = "TCP" }],
        },
    };

    private void Validate(DeploymentSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.ServiceId))
        {
            throw InvalidInput(nameof(spec.ServiceId), "The service id is empty.");
        }

        if (!KubernetesNames.IsValidLabelValue(spec.ModelName) || spec.ModelName.Length == 0)
        {
            throw InvalidInput(nameof(spec.ModelName), $"The model name '{spec.ModelName}' is not a valid Kubernetes label value (at most 63 characters: letters, digits, '-', '_', '.').");
        }

        if (spec.Namespace is { } ns && !KubernetesNames.IsDns1123Label(ns))
        {
            throw InvalidInput(nameof(spec.Namespace), $"The namespace '{ns}' is not a DNS-1123 label.");
        }

        if (string.IsNullOrWhiteSpace(spec.Image))
        {
            throw InvalidInput(nameof(spec.Image), "The Kubernetes shimlet needs a container image; the runtime profile rendered none.");
        }

        foreach (var (key, value) in spec.Labels)
        {
            if (!KubernetesNames.IsValidLabelKey(key))
            {
                throw InvalidInput(nameof(spec.Labels), $"The label key '{key}' is not a valid Kubernetes label key ([prefix/]name, name at most 63 characters).");
            }

            if (!KubernetesNames.IsValidLabelValue(value))
            {
                throw InvalidInput(nameof(spec.Labels), $"The value '{value}' of label '{key}' is not a valid Kubernetes label value (at most 63 characters: letters, digits, '-', '_', '.').");
            }

            if (KubernetesLabels.Reserved.Contains(key))
            {
                throw InvalidInput(nameof(spec.Labels), $"The label '{key}' is set by the shimlet and cannot be set in a request.");
            }
        }

        foreach (var key in spec.Environment.Keys)
        {
            if (!EnvVarName().IsMatch(key))
            {
                throw InvalidInput(nameof(spec.Environment), $"The environment variable name '{key}' is not valid (letters, digits, '_', '-', '.', not starting with a digit).");
            }
        }

        if (!IsQuantity(spec.Resources.Cpu))
        {
            throw InvalidInput("Resources.Cpu", $"The CPU amount '{spec.Resources.Cpu}' is not a Kubernetes quantity (e.g. 4 or 500m).");
        }

        if (!IsQuantity(spec.Resources.Memory))
        {
            throw InvalidInput("Resources.Memory", $"The memory amount '{spec.Resources.Memory}' is not a Kubernetes quantity (e.g. 16Gi).");
        }

        if (spec.Resources.AcceleratorCount < 0)
        {
            throw InvalidInput("Resources.AcceleratorCount", "The accelerator count cannot be negative.");
        }

        if (spec.Resources.AcceleratorType is { } accelerator && !KubernetesNames.IsValidLabelValue(AcceleratorLabelValue(accelerator)))
        {
            throw InvalidInput("Resources.AcceleratorType",
                $"The accelerator '{accelerator}' maps to '{AcceleratorLabelValue(accelerator)}', which is not a valid node label value; add it to {KubernetesShimletOptions.SectionName}:Accelerators:Values.");
        }

        if (spec.Port is < 0 or > 65535)
        {
            throw InvalidInput(nameof(spec.Port), $"The port {spec.Port} is outside 0-65535.");
        }

        if (spec.Replicas < 0)
        {
            throw InvalidInput(nameof(spec.Replicas), "The replica count cannot be negative.");
        }

        if (!spec.HealthPath.StartsWith('/'))
        {
            throw InvalidInput(nameof(spec.HealthPath), $"The health path '{spec.HealthPath}' must start with '/'.");
        }

        if (!spec.ModelMountPath.StartsWith('/'))
        {
            throw InvalidInput(nameof(spec.ModelMountPath), $"The model mount path '{spec.ModelMountPath}' must be absolute.");
        }

        if (string.IsNullOrWhiteSpace(spec.ModelPath))
        {
            throw InvalidInput(nameof(spec.ModelPath), "The model path is empty.");
        }
    }

    /// <summary>Whether <paramref name="value"/> is a Kubernetes resource quantity.</summary>
    public static bool IsQuantity(string? value) => value is not null && Quantity().IsMatch(value);

    private static StepException InvalidInput(string field, string message)
    {
        var exception = StepException.NonRetryable(StepErrorTypes.InvalidInput, message);
        exception.Details["field"] = field;
        return exception;
    }

    [GeneratedRegex(@"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Quantity();

    [GeneratedRegex(@"^[-._a-zA-Z][-._a-zA-Z0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvVarName();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Whitespace();
}
