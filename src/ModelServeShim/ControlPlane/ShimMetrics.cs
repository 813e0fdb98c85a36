using Microsoft.EntityFrameworkCore;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;
using Prometheus;

namespace ModelServeShim.ControlPlane;

/// <summary>
/// Prometheus metrics (served at <c>/metrics</c>; documented in docs/metrics.md). Step metrics cover every
/// workflow; deployment metrics cover model services.
/// </summary>
public sealed class ShimMetrics : IWorkflowObserver
{
    private static readonly Counter Started = Metrics.CreateCounter(
        "modserv_deployments_started_total", "Deployments (and redeploys) started.", new CounterConfiguration { LabelNames = ["pipeline", "shimlet"] });

    private static readonly Counter Finished = Metrics.CreateCounter(
        "modserv_deployments_finished_total", "Deployment pipelines finished, by result (succeeded, failed, cancelled).", new CounterConfiguration { LabelNames = ["pipeline", "shimlet", "result"] });

    private static readonly Histogram PipelineDuration = Metrics.CreateHistogram(
        "modserv_pipeline_duration_seconds", "Deployment pipeline duration, start to finish.",
        new HistogramConfiguration { LabelNames = ["pipeline", "result"], Buckets = Histogram.ExponentialBuckets(0.05, 2, 16) });

    private static readonly Histogram StepDuration = Metrics.CreateHistogram(
        "modserv_step_duration_seconds", "Duration of each step attempt, by step id and outcome (Succeeded, Failed, TimedOut, Cancelled, Interrupted).",
        new HistogramConfiguration { LabelNames = ["step", "outcome"], Buckets = Histogram.ExponentialBuckets(0.001, 2.5, 16) });

    private static readonly Counter StepRetries = Metrics.CreateCounter(
        "modserv_step_retries_total", "Step attempts that failed and were retried, by step id.", new CounterConfiguration { LabelNames = ["step"] });

    private static readonly Counter Transitions = Metrics.CreateCounter(
        "modserv_service_transitions_total", "Service lifecycle transitions.", new CounterConfiguration { LabelNames = ["from", "to"] });

    private static readonly Counter Accelerators = Metrics.CreateCounter(
        "modserv_accelerators_requested_total", "Accelerators requested by deployments (count × replicas), by type.", new CounterConfiguration { LabelNames = ["type"] });

    private static readonly Gauge ServicesByState = Metrics.CreateGauge(
        "modserv_services", "Model services by lifecycle state.", new GaugeConfiguration { LabelNames = ["state"] });

    private static readonly Counter ReplicaCpu = Metrics.CreateCounter(
        "modserv_replica_cpu_seconds_total", "CPU time used by each replica process since it started (user + system), where the shimlet can read it (local).",
        new CounterConfiguration { LabelNames = ["service", "model", "replica"] });

    private static readonly Gauge ReplicaResident = Metrics.CreateGauge(
        "modserv_replica_resident_memory_bytes", "Resident memory of each replica process, where the shimlet can read it (local).",
        new GaugeConfiguration { LabelNames = ["service", "model", "replica"] });

    /// <summary>How long one scrape waits for a shimlet's resource usage before leaving that service out.</summary>
    private static readonly TimeSpan UsageReadTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Refreshes the per-state gauge and the replicas' resource use from the store and the shimlets before each scrape.</summary>
    public static void RegisterCollector(IDbContextFactory<ControlPlaneDbContext> db, IShimletProvider shimlets, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(shimlets);
        ArgumentNullException.ThrowIfNull(logger);
        // The series this host set (a test process may run several hosts on the one static registry: each removes only its own).
        var series = new HashSet<(string Service, string Model, string Replica)>();
        Metrics.DefaultRegistry.AddBeforeCollectCallback(cancellationToken => CollectReplicaUsageAsync(db, shimlets, time, logger, series, cancellationToken));
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancellationToken =>
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            var counts = await context.Services.GroupBy(s => s.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
            foreach (var state in Enum.GetValues<ServiceState>())
            {
                ServicesByState.WithLabels(state.ToString()).Set(counts.FirstOrDefault(c => c.Key == state)?.Count ?? 0);
            }
        });
    }

    /// <summary>
    /// Sets the replica resource series of every serving service from its shimlet, and removes the series of replicas
    /// that are gone. A shimlet that fails or does not answer in time leaves its services out of this scrape.
    /// </summary>
    private static async Task CollectReplicaUsageAsync(
        IDbContextFactory<ControlPlaneDbContext> db, IShimletProvider shimlets, TimeProvider time, ILogger logger, HashSet<(string Service, string Model, string Replica)> series, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var services = await context.Services.AsNoTracking()
            .Where(s => s.State == ServiceState.Running || s.State == ServiceState.Degraded || s.State == ServiceState.Scaling)
            .ToListAsync(cancellationToken);
        var seen = new HashSet<(string, string, string)>();
        foreach (var service in services)
        {
            if (shimlets.Find(service.Desired.Shimlet) is not { } shimlet)
            {
                continue;
            }

            using var deadline = new CancellationTokenSource(UsageReadTimeout, time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            IReadOnlyList<ReplicaResourceUsage> usage;
            try
            {
                usage = await shimlet.GetResourceUsageAsync(new ServiceTarget(service.Id, service.Desired.Namespace), timeout.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogDebug(e, "Reading the resource use of {ServiceId} from shimlet {Shimlet} failed; left out of this scrape", service.Id, shimlet.Name);
                continue;
            }

            foreach (var replica in usage)
            {
                var key = (service.Id, service.ModelName, replica.Replica);
                seen.Add(key);
                if (replica.CpuSeconds is { } cpu)
                {
                    ReplicaCpu.WithLabels(key.Item1, key.Item2, key.Item3).IncTo(cpu);
                }

                if (replica.ResidentBytes is { } resident)
                {
                    ReplicaResident.WithLabels(key.Item1, key.Item2, key.Item3).Set(resident);
                }
            }
        }

        lock (series)
        {
            foreach (var gone in series.Where(k => !seen.Contains(k)).ToList())
            {
                ReplicaCpu.RemoveLabelled(gone.Service, gone.Model, gone.Replica);
                ReplicaResident.RemoveLabelled(gone.Service, gone.Model, gone.Replica);
                series.Remove(gone);
            }

            series.UnionWith(seen);
        }
    }

    internal void DeploymentStarted(string pipeline, string shimlet, string? acceleratorType, int accelerators)
    {
        Started.WithLabels(pipeline, shimlet).Inc();
        if (acceleratorType is not null && accelerators > 0)
        {
            Accelerators.WithLabels(acceleratorType).Inc(accelerators);
        }
    }

    internal void DeploymentFinished(string pipeline, string shimlet, string result, TimeSpan duration)
    {
        Finished.WithLabels(pipeline, shimlet, result).Inc();
        PipelineDuration.WithLabels(pipeline, result).Observe(duration.TotalSeconds);
    }

    internal void StepRetried(string step) => StepRetries.WithLabels(step).Inc();

    internal void StateChanged(ServiceState from, ServiceState to) => Transitions.WithLabels(from.ToString(), to.ToString()).Inc();

    /// <inheritdoc />
    public void OnStepChanged(InstanceRecord instance, StepExecutionRecord step)
    {
        if (step is { Status: not StepStatus.Running, EndedAt: { } ended })
        {
            StepDuration.WithLabels(step.ActivityId, step.Status.ToString()).Observe((ended - step.StartedAt).TotalSeconds);
        }
    }
}
