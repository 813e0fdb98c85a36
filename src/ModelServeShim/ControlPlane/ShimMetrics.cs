using Microsoft.EntityFrameworkCore;
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

    /// <summary>Refreshes the per-state gauge from the store before each scrape.</summary>
    public static void RegisterCollector(IDbContextFactory<ControlPlaneDbContext> db)
    {
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
