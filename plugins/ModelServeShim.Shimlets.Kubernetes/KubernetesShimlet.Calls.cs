using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.Shimlets.Kubernetes;

public sealed partial class KubernetesShimlet
{
    private static string ResourceId(string apiVersion, string kind, string ns, string name) => $"{apiVersion}/{kind}/{ns}/{name}";

    private static bool IsOwned(V1ObjectMeta? metadata, string serviceIdLabel) =>
        metadata?.Labels is { } labels
        && labels.TryGetValue(KubernetesLabels.ManagedBy, out var managedBy) && managedBy == KubernetesLabels.ManagedByValue
        && labels.TryGetValue(KubernetesLabels.ServiceId, out var id) && id == serviceIdLabel;

    /// <summary>
    /// Whether our own manager took <c>spec.replicas</c> through another operation (the scale subresource).
    /// Applying replicas again would then conflict with ourselves, so the replica count stays with the last scale,
    /// as it does for an autoscaler.
    /// </summary>
    private bool ReplicasOwnedBySubresource(V1ObjectMeta? metadata) =>
        metadata?.ManagedFields?.Any(entry =>
            entry.Manager == _options.FieldManager
            && (entry.Operation != "Apply" || !string.IsNullOrEmpty(entry.Subresource))
            && OwnsReplicas(entry.FieldsV1)) ?? false;

    private static bool OwnsReplicas(object? fieldsV1)
    {
        var element = fieldsV1 switch
        {
            null => default,
            JsonElement json => json,
            _ => JsonSerializer.SerializeToElement(fieldsV1),
        };
        return element.ValueKind == JsonValueKind.Object
            && element.TryGetProperty("f:spec", out var spec)
            && spec.ValueKind == JsonValueKind.Object
            && spec.TryGetProperty("f:replicas", out _);
    }

    /// <summary>Deletes owned objects of this service that the current spec no longer renders (kind switch, headless Service).</summary>
    private async Task<bool> PruneAsync(IKubernetes client, KubernetesManifests manifests, CancellationToken cancellationToken)
    {
        var ns = manifests.Namespace;
        var selector = KubernetesManifestRenderer.LabelSelector(manifests.ServiceIdLabel);
        var pruned = false;

        if (manifests.Deployment is not null)
        {
            var stale = await CallAsync(() => client.AppsV1.ListNamespacedStatefulSetAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list statefulsets in {ns}");
            foreach (var item in stale.Items.Where(i => IsOwned(i.Metadata, manifests.ServiceIdLabel)))
            {
                pruned |= await DeleteOneAsync(V1StatefulSet.KubeKind, ns, item.Metadata.Name,
                    () => client.AppsV1.DeleteNamespacedStatefulSetAsync(item.Metadata.Name, ns, ForegroundDeletion, cancellationToken: cancellationToken));
            }
        }
        else
        {
            var stale = await CallAsync(() => client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list deployments in {ns}");
            foreach (var item in stale.Items.Where(i => IsOwned(i.Metadata, manifests.ServiceIdLabel)))
            {
                pruned |= await DeleteOneAsync(V1Deployment.KubeKind, ns, item.Metadata.Name,
                    () => client.AppsV1.DeleteNamespacedDeploymentAsync(item.Metadata.Name, ns, ForegroundDeletion, cancellationToken: cancellationToken));
            }
        }

        var wanted = new HashSet<string>(StringComparer.Ordinal) { manifests.Service.Metadata.Name };
        if (manifests.HeadlessService is { } headless)
        {
            wanted.Add(headless.Metadata.Name);
        }

        var services = await CallAsync(() => client.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), $"list services in {ns}");
        foreach (var item in services.Items.Where(i => IsOwned(i.Metadata, manifests.ServiceIdLabel) && !wanted.Contains(i.Metadata.Name)))
        {
            pruned |= await DeleteOneAsync(V1Service.KubeKind, ns, item.Metadata.Name,
                () => client.CoreV1.DeleteNamespacedServiceAsync(item.Metadata.Name, ns, ForegroundDeletion, cancellationToken: cancellationToken));
        }

        return pruned;
    }

    /// <summary>Deletes one object; true when it existed. NotFound is success: it is already gone.</summary>
    private async Task<bool> DeleteOneAsync(string kind, string ns, string name, Func<Task> delete)
    {
        try
        {
            await delete();
            logger.LogInformation("Deleted {Kind}/{Name} in {Namespace} (foreground propagation)", kind, name, ns);
            return true;
        }
        catch (JsonException)
        {
            // The API server accepted the delete (errors never get this far) but answered with the object
            // itself, not the Status the typed client expects: a foreground deletion still removing dependents,
            // or a registry that returns deleted objects.
            logger.LogInformation("Deleting {Kind}/{Name} in {Namespace} (foreground propagation in progress)", kind, name, ns);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (HttpOperationException e)
        {
            throw KubernetesApiErrors.From(e, $"delete {kind} {ns}/{name}");
        }
        catch (HttpRequestException e)
        {
            throw KubernetesApiErrors.Unreachable(e, $"delete {kind} {ns}/{name}");
        }
    }

    private static async Task<T> CallAsync<T>(Func<Task<T>> call, string action)
    {
        try
        {
            return await call();
        }
        catch (HttpOperationException e)
        {
            throw KubernetesApiErrors.From(e, action);
        }
        catch (HttpRequestException e)
        {
            throw KubernetesApiErrors.Unreachable(e, action);
        }
    }

    private static async Task<T?> ReadOrNullAsync<T>(Func<Task<T>> read, string action)
        where T : class
    {
        try
        {
            return await read();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e)
        {
            throw KubernetesApiErrors.From(e, action);
        }
        catch (HttpRequestException e)
        {
            throw KubernetesApiErrors.Unreachable(e, action);
        }
    }

    /// <summary>
    /// The crashing container's last lines for a diagnosis, as a message part: <c>Last log lines:</c> and the lines,
    /// <c>logs unavailable: reason</c> when they cannot be read, or null when the container wrote nothing. While a
    /// container waits in CrashLoopBackOff its most recent instance is the one that crashed, so the current log is
    /// read first and the previous one as a fallback. Never throws but for <paramref name="cancellationToken"/>: any
    /// failure (an error status such as 500 when the kubelet is unreachable, 400 for a container that never started,
    /// 404 when the previous container is gone, no answer within <see cref="KubernetesShimletOptions.LogReadTimeout"/>,
    /// a broken connection) becomes the reason.
    /// </summary>
    private async Task<string?> DescribeCrashLogAsync(IKubernetes client, string ns, string pod, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.LogReadTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var reasons = new List<string>();
        foreach (var previous in (bool[])[false, true])
        {
            try
            {
                var lines = await ReadLogLinesAsync(client, ns, pod, _options.CrashLogTailLines, previous, timestamps: false, linked.Token);
                if (lines.Count > 0)
                {
                    return "Last log lines:\n" + string.Join('\n', lines);
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                reasons.Add($"no answer within {_options.LogReadTimeout.TotalSeconds:0.###} s");
                break;
            }
            catch (HttpOperationException e)
            {
                var code = (int)e.Response.StatusCode;
                var message = KubernetesApiErrors.ReadStatus(e)?.Message ?? e.Response.ReasonPhrase;
                reasons.Add($"{(previous ? "previous container: " : string.Empty)}{code} {message}".TrimEnd());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                reasons.Add($"{(previous ? "previous container: " : string.Empty)}{e.Message}");
            }
        }

        if (reasons.Count == 0)
        {
            return null;
        }

        logger.LogInformation("The log of pod {Namespace}/{Pod} could not be read for the diagnosis: {Reasons}", ns, pod, reasons);
        return "logs unavailable: " + string.Join("; ", reasons.Distinct(StringComparer.Ordinal));
    }

    /// <summary>A container log tail, or null when there is none to read (container not started, pod gone).</summary>
    private static async Task<IReadOnlyList<string>?> ReadLogAsync(
        IKubernetes client, string ns, string pod, int tailLines, bool previous, bool timestamps, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadLogLinesAsync(client, ns, pod, tailLines, previous, timestamps, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e)
        {
            throw KubernetesApiErrors.From(e, $"read the log of pod {ns}/{pod}");
        }
        catch (HttpRequestException e)
        {
            throw KubernetesApiErrors.Unreachable(e, $"read the log of pod {ns}/{pod}");
        }
    }

    /// <summary>A container log tail; API failures are thrown as the client throws them.</summary>
    private static async Task<IReadOnlyList<string>> ReadLogLinesAsync(
        IKubernetes client, string ns, string pod, int tailLines, bool previous, bool timestamps, CancellationToken cancellationToken)
    {
        using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod, ns, container: KubernetesManifestRenderer.ContainerName,
            previous: previous, tailLines: tailLines, timestamps: timestamps, cancellationToken: cancellationToken);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync(cancellationToken);
        return [.. text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0)];
    }

    private static DateTimeOffset ParseTimestamp(string value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : DateTimeOffset.MinValue;
}
