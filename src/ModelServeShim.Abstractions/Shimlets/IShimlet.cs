namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>
/// Adapts one environment (Kubernetes, Docker, local processes, …) to ModelServeShim. A new environment
/// needs only a new implementation of this interface, in a plugin assembly or built in.
/// </summary>
/// <remarks>
/// Every operation is idempotent and safe to retry: the runtime runs steps at least once. Errors that
/// retrying cannot fix are thrown as <see cref="Activities.StepException"/> with <c>retryable: false</c>.
/// </remarks>
public interface IShimlet
{
    /// <summary>The name users select it by (<c>--shimlet=k8s</c>, <c>"shimlet": "docker"</c>).</summary>
    string Name { get; }

    /// <summary>Creates or updates everything the spec describes. Applying the same spec twice changes nothing.</summary>
    Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken);

    /// <summary>Reports the service's current status; <see cref="ServicePhase.NotFound"/> when nothing exists.</summary>
    Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken);

    /// <summary>
    /// Yields the status now and again whenever it may have changed, until cancelled. The default reads
    /// <see cref="GetStatusAsync"/> on a <see cref="ProbeBackoff"/> schedule: <see cref="DefaultWatchInitialInterval"/>
    /// after a read that changed the phase, reason or replica counts, doubling up to <see cref="DefaultWatchMaxInterval"/>
    /// while nothing changes, so a change soon after a deploy is seen within tens of milliseconds without a fast poll
    /// forever (<see cref="ShimletWatch.ReadOnBackoffAsync(IShimlet, ServiceTarget, TimeProvider, ProbeBackoff, CancellationToken)"/>). Environments with change notifications (Kubernetes
    /// watches, the local shimlet's supervisors) override it; others may override it to choose their own schedule.
    /// </summary>
    IAsyncEnumerable<ShimletStatus> WatchStatusAsync(
        ServiceTarget target,
        TimeProvider timeProvider,
        CancellationToken cancellationToken) =>
        ShimletWatch.ReadOnBackoffAsync(this, target, timeProvider, new ProbeBackoff(DefaultWatchInitialInterval, DefaultWatchMaxInterval), cancellationToken);

    /// <summary>The default watch's first wait after a change: 50 ms.</summary>
    static TimeSpan DefaultWatchInitialInterval => TimeSpan.FromMilliseconds(50);

    /// <summary>The default watch's longest wait between reads: 1 s (its fixed poll interval before backoff).</summary>
    static TimeSpan DefaultWatchMaxInterval => TimeSpan.FromSeconds(1);

    /// <summary>Sets the number of replicas.</summary>
    Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken);

    /// <summary>Removes everything created for the service, and nothing else. Deleting what is gone is not an error.</summary>
    Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken);

    /// <summary>
    /// How the control plane reaches the runtime of a service whose <paramref name="status"/> is running with an
    /// endpoint. The default sends requests straight to <see cref="ShimletStatus.Endpoint"/> with
    /// <paramref name="direct"/>, the host's shared HTTP client; environments where the control plane may not reach
    /// that endpoint (a cluster-internal name seen from a workstation) override it, for example to go through the
    /// environment's API.
    /// </summary>
    /// <param name="target">The service.</param>
    /// <param name="status">Its current status; <see cref="ShimletStatus.Endpoint"/> must be set.</param>
    /// <param name="direct">The host's HTTP client for direct requests (not disposed by the shimlet).</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    ValueTask<RuntimeAccess> GetRuntimeAccessAsync(ServiceTarget target, ShimletStatus status, HttpMessageInvoker direct, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(direct);
        var endpoint = status.Endpoint ?? throw new ArgumentException("The status has no endpoint to reach.", nameof(status));
        return ValueTask.FromResult(new RuntimeAccess(endpoint, direct, RuntimeAccess.DirectRoute));
    }

    /// <summary>Reads the last <paramref name="tailLines"/> lines of the service's logs (all replicas, newest last).</summary>
    Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken);

    /// <summary>
    /// What each running replica of the service uses now (CPU time, resident memory), where the environment can read
    /// it cheaply; the host exports it as Prometheus metrics at every scrape. The default reports nothing: environments
    /// with their own resource metrics (Kubernetes: cAdvisor, DCGM) are joined by the service-id label instead.
    /// </summary>
    Task<IReadOnlyList<ReplicaResourceUsage>> GetResourceUsageAsync(ServiceTarget target, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ReplicaResourceUsage>>([]);
}

/// <summary>One replica's resource use at a moment.</summary>
/// <param name="Replica">The replica's name within the service (an index, a container or pod name).</param>
/// <param name="CpuSeconds">CPU time used since the replica started (user + system), in seconds; null when unknown.</param>
/// <param name="ResidentBytes">Resident memory, in bytes; null when unknown.</param>
public sealed record ReplicaResourceUsage(string Replica, double? CpuSeconds, long? ResidentBytes);

/// <summary>Identifies a deployed service to its shimlet.</summary>
/// <param name="ServiceId">The service id (<c>modelName-uuid</c>); resources carry it as a label.</param>
/// <param name="Namespace">The namespace or equivalent grouping, when the environment has one.</param>
public sealed record ServiceTarget(string ServiceId, string? Namespace = null);

/// <summary>What <see cref="IShimlet.ApplyAsync"/> created or updated.</summary>
/// <param name="ResourceIds">Environment resource ids, e.g. <c>apps/v1/Deployment/default/llama-abc</c> or a container id.</param>
/// <param name="Changed">False when everything already matched the spec.</param>
public sealed record ApplyResult(IReadOnlyList<string> ResourceIds, bool Changed);
