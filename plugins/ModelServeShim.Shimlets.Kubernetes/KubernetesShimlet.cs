using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Kubernetes;

/// <summary>
/// The built-in Kubernetes shimlet (<c>--shimlet=k8s</c>): one Deployment (or StatefulSet) and Service per model
/// service, applied with server-side apply and found again by the <c>modelserveshim.io/service-id</c> label.
/// </summary>
public sealed partial class KubernetesShimlet(
    IKubernetesClientFactory clientFactory,
    IOptions<KubernetesShimletOptions> options,
    TimeProvider timeProvider,
    ILogger<KubernetesShimlet> logger) : IShimlet
{
    private static readonly V1DeleteOptions ForegroundDeletion = new() { PropagationPolicy = "Foreground" };

    private readonly KubernetesShimletOptions _options = options.Value;
    private readonly TimeProvider _time = timeProvider;
    private readonly KubernetesManifestRenderer _renderer = new(options.Value);

    /// <inheritdoc />
    public string Name => "k8s";

    /// <summary>Renders the typed objects for a spec without contacting the cluster.</summary>
    public KubernetesManifests Render(DeploymentSpec spec) => _renderer.Render(spec);

    /// <inheritdoc />
    public async Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        var manifests = _renderer.Render(spec);
        var client = clientFactory.GetClient();
        var ns = manifests.Namespace;
        var ids = new List<string>();
        var changed = false;

        if (manifests.Deployment is { } deployment)
        {
            var live = await ReadOrNullAsync(() => client.AppsV1.ReadNamespacedDeploymentAsync(manifests.Name, ns, cancellationToken: cancellationToken), $"read Deployment {ns}/{manifests.Name}");
            if (ReplicasOwnedBySubresource(live?.Metadata))
            {
                deployment.Spec.Replicas = null;
            }

            var applied = await ApplyObjectAsync(deployment, deployment.Kind, ns, manifests.Name, live?.Metadata?.ResourceVersion,
                (patch, force) => client.AppsV1.PatchNamespacedDeploymentAsync(patch, manifests.Name, ns, fieldManager: _options.FieldManager, force: force, cancellationToken: cancellationToken));
            changed |= applied;
            ids.Add(ResourceId("apps/v1", deployment.Kind, ns, manifests.Name));
        }

        if (manifests.StatefulSet is { } statefulSet)
        {
            var live = await ReadOrNullAsync(() => client.AppsV1.ReadNamespacedStatefulSetAsync(manifests.Name, ns, cancellationToken: cancellationToken), $"read StatefulSet {ns}/{manifests.Name}");
            if (ReplicasOwnedBySubresource(live?.Metadata))
            {
                statefulSet.Spec.Replicas = null;
            }

            var applied = await ApplyObjectAsync(statefulSet, statefulSet.Kind, ns, manifests.Name, live?.Metadata?.ResourceVersion,
                (patch, force) => client.AppsV1.PatchNamespacedStatefulSetAsync(patch, manifests.Name, ns, fieldManager: _options.FieldManager, force: force, cancellationToken: cancellationToken));
            changed |= applied;
            ids.Add(ResourceId("apps/v1", statefulSet.Kind, ns, manifests.Name));
        }

        foreach (var service in new[] { manifests.HeadlessService, manifests.Service }.OfType<V1Service>())
        {
            var name = service.Metadata.Name;
            var live = await ReadOrNullAsync(() => client.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: cancellationToken), $"read Service {ns}/{name}");
            changed |= await ApplyObjectAsync(service, service.Kind, ns, name, live?.Metadata?.ResourceVersion,
                (patch, force) => client.CoreV1.PatchNamespacedServiceAsync(patch, name, ns, fieldManager: _options.FieldManager, force: force, cancellationToken: cancellationToken));
            ids.Add(ResourceId("v1", service.Kind, ns, name));
        }

        changed |= await PruneAsync(client, manifests, cancellationToken);
        logger.LogInformation("Applied service {ServiceId} in {Namespace}: {Resources} (changed: {Changed})", spec.ServiceId, ns, ids, changed);
        return new ApplyResult(ids, changed);
    }

    /// <inheritdoc />
    public async Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var client = clientFactory.GetClient();
        var (ns, selector) = Locate(target);

        var workload = await FindWorkloadAsync(client, ns, selector, cancellationToken);
        if (workload is null)
        {
            return new ShimletStatus { Phase = ServicePhase.NotFound };
        }

        var pods = await CallAsync(() => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list pods in {ns}");
        var services = await CallAsync(() => client.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list services in {ns}");
        var service = services.Items.Where(s => s.Spec?.ClusterIP != "None").OrderBy(s => s.Metadata.Name, StringComparer.Ordinal).FirstOrDefault();

        var status = KubernetesStatusMapper.Map(workload, [.. pods.Items], Endpoint(service, ns), "Insufficient " + _options.Accelerators.ResourceName);
        if (status.Reason == UnhealthyReason.CrashLoop && _options.CrashLogTailLines > 0)
        {
            var problem = KubernetesStatusMapper.FindPodProblem(pods.Items, "Insufficient " + _options.Accelerators.ResourceName);
            if (problem is not null)
            {
                // Best effort: the diagnosis stands without the log tail, which never fails or delays the status read.
                var tail = await DescribeCrashLogAsync(client, ns, problem.PodName, cancellationToken);
                if (tail is not null)
                {
                    status = status with { Message = status.Message + "\n" + tail };
                }
            }
        }

        return status;
    }

    /// <inheritdoc />
    public async Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        var client = clientFactory.GetClient();
        var (ns, selector) = Locate(target);
        var workload = await FindWorkloadAsync(client, ns, selector, cancellationToken)
            ?? throw StepException.NonRetryable(KubernetesErrorTypes.ServiceNotFound, $"Service {target.ServiceId} has no Deployment or StatefulSet in namespace {ns} to scale.");

        // The scale subresource touches nothing but spec.replicas; a merge patch of the Scale object.
        var patch = new V1Patch(new V1Scale { Spec = new V1ScaleSpec { Replicas = replicas } }, V1Patch.PatchType.MergePatch);
        var action = $"scale {workload.Kind} {ns}/{workload.Name} to {replicas}";
        if (workload.Kind == V1Deployment.KubeKind)
        {
            await CallAsync(() => client.AppsV1.PatchNamespacedDeploymentScaleAsync(patch, workload.Name, ns, fieldManager: _options.FieldManager, cancellationToken: cancellationToken), action);
        }
        else
        {
            await CallAsync(() => client.AppsV1.PatchNamespacedStatefulSetScaleAsync(patch, workload.Name, ns, fieldManager: _options.FieldManager, cancellationToken: cancellationToken), action);
        }

        logger.LogInformation("Scaled {Kind}/{Name} in {Namespace} to {Replicas}", workload.Kind, workload.Name, ns, replicas);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var client = clientFactory.GetClient();
        var (ns, selector) = Locate(target);
        var idLabel = KubernetesNames.ServiceIdLabel(target.ServiceId);

        var deployments = await CallAsync(() => client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list deployments in {ns}");
        foreach (var item in deployments.Items.Where(i => IsOwned(i.Metadata, idLabel)))
        {
            await DeleteOneAsync(V1Deployment.KubeKind, ns, item.Metadata.Name,
                () => client.AppsV1.DeleteNamespacedDeploymentAsync(item.Metadata.Name, ns, ForegroundDeletion, cancellationToken: cancellationToken));
        }

        var statefulSets = await CallAsync(() => client.AppsV1.ListNamespacedStatefulSetAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list statefulsets in {ns}");
        foreach (var item in statefulSets.Items.Where(i => IsOwned(i.Metadata, idLabel)))
        {
            await DeleteOneAsync(V1StatefulSet.KubeKind, ns, item.Metadata.Name,
                () => client.AppsV1.DeleteNamespacedStatefulSetAsync(item.Metadata.Name, ns, ForegroundDeletion, cancellationToken: cancellationToken));
        }

        var services = await CallAsync(() => client.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list services in {ns}");
        foreach (var item in services.Items.Where(i => IsOwned(i.Metadata, idLabel)))
        {
            await DeleteOneAsync(V1Service.KubeKind, ns, item.Metadata.Name,
                () => client.CoreV1.DeleteNamespacedServiceAsync(item.Metadata.Name, ns, ForegroundDeletion, cancellationToken: cancellationToken));
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tailLines);
        var client = clientFactory.GetClient();
        var (ns, selector) = Locate(target);
        var pods = await CallAsync(() => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list pods in {ns}");
        var podNames = pods.Items.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal).ToList();

        var lines = new List<(string Timestamp, int Order, string Line)>();
        foreach (var pod in podNames)
        {
            var podLines = await ReadLogAsync(client, ns, pod, tailLines, previous: false, timestamps: true, cancellationToken);
            foreach (var line in podLines ?? [])
            {
                // With timestamps=true every line starts with an RFC 3339 timestamp and a space.
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var (stamp, text) = space > 0 ? (line[..space], line[(space + 1)..]) : (string.Empty, line);
                lines.Add((stamp, lines.Count, podNames.Count > 1 ? $"[{pod}] {text}" : text));
            }
        }

        return [.. lines
            .OrderBy(l => ParseTimestamp(l.Timestamp))
            .ThenBy(l => l.Order)
            .Select(l => l.Line)
            .TakeLast(tailLines)];
    }

    private (string Namespace, string Selector) Locate(ServiceTarget target)
    {
        var ns = target.Namespace ?? _options.DefaultNamespace;
        return (ns, KubernetesManifestRenderer.LabelSelector(KubernetesNames.ServiceIdLabel(target.ServiceId)));
    }

    private Uri? Endpoint(V1Service? service, string ns)
    {
        var port = service?.Spec?.Ports?.FirstOrDefault()?.Port;
        if (service is null || port is null)
        {
            return null;
        }

        var text = _options.EndpointTemplate
            .Replace("{service}", service.Metadata.Name, StringComparison.Ordinal)
            .Replace("{namespace}", ns, StringComparison.Ordinal)
            .Replace("{port}", port.Value.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : null;
    }

    /// <summary>The Deployment or StatefulSet of a service (a Deployment wins if both exist mid-switch), or null.</summary>
    private static async Task<WorkloadState?> FindWorkloadAsync(IKubernetes client, string ns, string selector, CancellationToken cancellationToken)
    {
        var deployments = await CallAsync(() => client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list deployments in {ns}");
        var deployment = deployments.Items.OrderBy(d => d.Metadata.DeletionTimestamp is null ? 0 : 1).ThenBy(d => d.Metadata.Name, StringComparer.Ordinal).FirstOrDefault();
        if (deployment is not null && deployment.Metadata.DeletionTimestamp is null)
        {
            return WorkloadState.From(deployment);
        }

        var statefulSets = await CallAsync(() => client.AppsV1.ListNamespacedStatefulSetAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list statefulsets in {ns}");
        var statefulSet = statefulSets.Items.OrderBy(s => s.Metadata.DeletionTimestamp is null ? 0 : 1).ThenBy(s => s.Metadata.Name, StringComparer.Ordinal).FirstOrDefault();
        if (statefulSet is not null && (statefulSet.Metadata.DeletionTimestamp is null || deployment is null))
        {
            return WorkloadState.From(statefulSet);
        }

        return deployment is null ? null : WorkloadState.From(deployment);
    }

    /// <summary>Applies one object; true when its resourceVersion moved (the server changed something).</summary>
    private async Task<bool> ApplyObjectAsync<T>(object body, string kind, string ns, string name, string? versionBefore, Func<V1Patch, bool, Task<T>> patch)
        where T : IMetadata<V1ObjectMeta>
    {
        T applied;
        try
        {
            // The typed object is the apply body; the client sends it as JSON, which is valid YAML for
            // application/apply-patch+yaml.
            applied = await patch(new V1Patch(body, V1Patch.PatchType.ApplyPatch), _options.ForceConflicts);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            throw ApplyConflict(kind, ns, name, e);
        }
        catch (HttpOperationException e)
        {
            throw KubernetesApiErrors.From(e, $"apply {kind} {ns}/{name}");
        }
        catch (HttpRequestException e)
        {
            throw KubernetesApiErrors.Unreachable(e, $"apply {kind} {ns}/{name}");
        }

        var versionAfter = applied.Metadata?.ResourceVersion;
        var changed = !string.Equals(versionBefore, versionAfter, StringComparison.Ordinal);
        if (changed)
        {
            logger.LogInformation("Applied {Kind}/{Name} in {Namespace} (resourceVersion {Before} -> {After})", kind, name, ns, versionBefore ?? "none", versionAfter);
        }

        return changed;
    }

    private StepException ApplyConflict(string kind, string ns, string name, HttpOperationException e)
    {
        var causes = KubernetesApiErrors.ReadStatus(e)?.Details?.Causes ?? [];
        var conflicts = causes.Select(c => $"{c.Field}: {c.Message}").ToList();
        var listed = conflicts.Count > 0 ? string.Join("; ", conflicts) : KubernetesApiErrors.ReadStatus(e)?.Message ?? "no details";
        var exception = StepException.NonRetryable(KubernetesErrorTypes.ApplyConflict,
            $"Server-side apply of {kind} {ns}/{name} as field manager '{_options.FieldManager}' conflicts with fields another manager owns: {listed}. "
            + $"Remove those fields from the other manager's configuration, delete the object, or set {KubernetesShimletOptions.SectionName}:ForceConflicts=true to take them over.",
            e);
        exception.Details["kind"] = kind;
        exception.Details["namespace"] = ns;
        exception.Details["name"] = name;
        exception.Details["conflicts"] = causes.Select(c => new Dictionary<string, string?> { ["field"] = c.Field, ["manager"] = c.Message }).ToList();
        return exception;
    }
}
