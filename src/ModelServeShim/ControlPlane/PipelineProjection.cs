using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Hosting;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Replicas;

namespace ModelServeShim.ControlPlane;

/// <summary>
/// Projects the runtime's events for services' pipelines into their lifecycle, in order: a deploy's steps move the
/// service through PipelineRunning, Deploying and HealthChecking (<see cref="ControlPlaneOptions.StepStates"/>), and
/// each operation's end moves it on (Running, Stopped, Failed, Degraded), with the facts its steps declared
/// (<see cref="PipelineFactsReader"/>). After a restart it reconciles services with their pipelines. Each replica projects
/// the events of the instances it runs; the reconciliation runs on the elected leader (<see cref="ClusterLeader"/>): when
/// it becomes the leader and, with replicas, every <see cref="ReplicaOptions.ReconcileInterval"/> (a replica that died
/// may have left a finished pipeline whose end it had not applied yet).
/// </summary>
public sealed class PipelineProjection(
    IDbContextFactory<ControlPlaneDbContext> db,
    IDbContextFactory<WorkflowDbContext> workflowDb,
    ServiceStore store,
    ServiceOperations operations,
    WorkflowEngine engine,
    IOptions<ControlPlaneOptions> options,
    ShimMetrics metrics,
    PipelineEventQueue events,
    PipelineFactsReader facts,
    ActivityRegistry activities,
    ClusterLeader leader,
    ReplicaRegistry replicas,
    TimeProvider time,
    ILogger<PipelineProjection> logger) : QuietBackgroundService
{
    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        Task reconciling;
        if (replicas.IsShared)
        {
            reconciling = ReconcileWhileLeaderAsync(stoppingToken);
        }
        else
        {
            // One process, always the leader: reconcile before applying new events, as after any restart.
            await ReconcileOnceAsync(null, stoppingToken);
            reconciling = Task.CompletedTask;
        }

        await foreach (var (instance, step) in events.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await HandleAsync(instance, step, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Could not apply pipeline event of instance {Instance} to service {Service}", instance.Id, instance.CorrelationId);
            }
        }

        await reconciling;
    }

    /// <summary>On the leader: reconciles when it becomes the leader, then every <see cref="ReplicaOptions.ReconcileInterval"/>.</summary>
    private async Task ReconcileWhileLeaderAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            CancellationToken term;
            try
            {
                term = await leader.WaitForLeadershipAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (term.IsCancellationRequested)
            {
                // The term just ended and the election has not reset yet: wait for the next one.
                await Task.Delay(replicas.Options.PollInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            var first = true;
            while (!term.IsCancellationRequested)
            {
                // Services another replica is changing right now are left alone: only those unchanged for a lease. Alone on
                // the database (a restart of the only replica), the first round reconciles everything, as after a restart.
                var alone = first && await NoOtherReplicaAsync(term);
                first = false;
                await ReconcileOnceAsync(alone ? null : time.GetUtcNow() - replicas.Options.LeaseTtl, term);
                await Task.Delay(replicas.Options.ReconcileInterval, time, term).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task<bool> NoOtherReplicaAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await replicas.LiveOthersAsync(cancellationToken)).Count == 0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Could not read the replica registry ({Error}); reconciling only services unchanged for a lease", e.Message);
            return false;
        }
    }

    private async Task ReconcileOnceAsync(DateTimeOffset? unchangedSince, CancellationToken cancellationToken)
    {
        try
        {
            await ReconcileAsync(unchangedSince, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Could not reconcile services with their pipelines");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping, or no longer the leader.
        }
    }

    /// <summary>
    /// After a restart: replays the end of pipelines that finished while their service's event was not yet
    /// applied, fails services whose pipeline never started, and finishes undeploys that were under way.
    /// </summary>
    private async Task ReconcileAsync(DateTimeOffset? unchangedSince, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var open = await context.Services.AsNoTracking()
            .Where(s => s.State == ServiceState.Initializing || s.State == ServiceState.PipelineRunning || s.State == ServiceState.AwaitingApproval
                || s.State == ServiceState.Deploying || s.State == ServiceState.HealthChecking || s.State == ServiceState.Scaling
                || s.State == ServiceState.Stopping)
            .Where(s => unchangedSince == null || s.UpdatedAt < unchangedSince)
            .ToListAsync(cancellationToken);
        if (open.Count == 0)
        {
            return;
        }

        await using var wf = await workflowDb.CreateDbContextAsync(cancellationToken);
        foreach (var service in open)
        {
            var instance = service.InstanceId is null ? null : await wf.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == service.InstanceId, cancellationToken);
            if (instance is not null && instance.Status is InstanceStatus.Completed or InstanceStatus.Faulted or InstanceStatus.Cancelled)
            {
                await HandleAsync(instance, null, cancellationToken);
            }
            else if (instance is not null)
            {
                // Resumed by the runtime; an undeploy requested meanwhile still waits for it to end.
                if (service.State == ServiceState.Stopping && service.Operation != ServiceOperation.Undeploy)
                {
                    await engine.CancelAsync(instance.Id, "the service is being undeployed", "control-plane", cancellationToken);
                }
            }
            else if (service.State == ServiceState.Stopping)
            {
                await operations.StartUndeployAsync(service.Id, service.InstanceId, "control-plane", cancellationToken);
            }
            else if (service.State == ServiceState.Scaling)
            {
                await store.TransitionAsync(service.Id, ServiceTrigger.ScaleFailed, "the server stopped before the scale pipeline started; scale again", "control-plane", s =>
                {
                    s.LastErrorType = "PipelineNotStarted";
                    s.LastError = "The server stopped before the scale pipeline started.";
                }, cancellationToken);
            }
            else
            {
                await store.TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, "the server stopped before the pipeline started; redeploy to run it", "control-plane", s =>
                {
                    s.LastErrorType = "PipelineNotStarted";
                    s.LastError = "The server stopped before the pipeline started.";
                }, cancellationToken);
            }
        }
    }

    private async Task HandleAsync(InstanceRecord instance, StepExecutionRecord? step, CancellationToken cancellationToken)
    {
        var service = await store.GetAsync(instance.CorrelationId!, cancellationToken);
        if (service is null || service.InstanceId != instance.Id)
        {
            return; // Not a service's pipeline, or an older run of it.
        }

        if (step is not null)
        {
            if (step.Status is StepStatus.Running or StepStatus.Suspended && service.Operation == ServiceOperation.Deploy)
            {
                var state = options.Value.StepStates.GetValueOrDefault(step.ActivityType, ServiceState.PipelineRunning);
                // A waiting state is entered when the step waits (its attempt is Suspended, stored with its bookmark), so
                // whoever sees AwaitingApproval can already sign off; the step's start, and its run after the signal, leave
                // the state alone until then (the sign-off below moves it on).
                ServiceTrigger? trigger = (state, step.Status) switch
                {
                    (ServiceState.AwaitingApproval, StepStatus.Suspended) => ServiceTrigger.EnterAwaitingApproval,
                    (ServiceState.AwaitingApproval, _) => service.State == ServiceState.AwaitingApproval ? null : ServiceTrigger.EnterPipeline,
                    (_, StepStatus.Suspended) => null,
                    (ServiceState.Deploying, _) => ServiceTrigger.EnterDeploying,
                    (ServiceState.HealthChecking, _) => ServiceTrigger.EnterHealthChecking,
                    _ => ServiceTrigger.EnterPipeline,
                };
                if (trigger is { } t)
                {
                    var what = step.Status == StepStatus.Suspended ? "waits for its signal" : "started";
                    await store.TransitionAsync(service.Id, t, $"step '{step.ActivityId}' {what} (attempt {step.Attempt})", "pipeline", null, cancellationToken);
                }
            }
            else if (step.Status == StepStatus.Succeeded && SignOff(step) is { } signOff)
            {
                // A sign-off is the approver's doing: the history names them, with their comment.
                await store.TransitionAsync(service.Id, ServiceTrigger.EnterPipeline, signOff.Reason, signOff.By, null, cancellationToken);
            }
            else if (step.Status != StepStatus.Running && !step.IsFinal)
            {
                metrics.StepRetried(step.ActivityId);
            }

            return;
        }

        var duration = (instance.FinishedAt ?? time.GetUtcNow()) - (instance.StartedAt ?? instance.CreatedAt);
        if (service.State == ServiceState.Stopping && service.Operation != ServiceOperation.Undeploy)
        {
            // The pipeline an undeploy cancelled (or that ended on its own meanwhile) is over: remove the resources now.
            if (service.Operation == ServiceOperation.Deploy)
            {
                metrics.DeploymentFinished(service.Desired.Pipeline, service.Desired.Shimlet, "cancelled", duration);
            }

            await operations.StartUndeployAsync(service.Id, instance.Id, "control-plane", cancellationToken);
            return;
        }

        switch (service.Operation)
        {
            case ServiceOperation.Undeploy:
                await UndeployEndedAsync(service, instance, cancellationToken);
                return;
            case ServiceOperation.Scale:
                await ScaleEndedAsync(service, instance, duration, cancellationToken);
                return;
        }

        if (instance.Status == InstanceStatus.Completed)
        {
            var reported = await facts.ReadAsync(instance.Id, cancellationToken);
            if (reported.DryRun)
            {
                await store.TransitionAsync(service.Id, ServiceTrigger.PipelineCompletedWithoutDeploying, "dry run: the pipeline stopped after rendering; nothing was deployed", "pipeline", null, cancellationToken);
            }
            else
            {
                await store.TransitionAsync(service.Id, ServiceTrigger.PipelineSucceeded, $"pipeline completed in {duration.TotalSeconds:0.###} s", "pipeline", s => s.Endpoint = reported.Endpoint, cancellationToken);
            }

            metrics.DeploymentFinished(service.Desired.Pipeline, service.Desired.Shimlet, "succeeded", duration);
            return;
        }

        var reason = instance.Status == InstanceStatus.Cancelled
            ? $"pipeline cancelled: {instance.ErrorMessage}"
            : $"step '{instance.FaultedStep}' failed ({instance.ErrorType}): {instance.ErrorMessage}";
        await store.TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, reason, "pipeline", s =>
        {
            s.LastErrorType = instance.ErrorType;
            s.LastError = instance.ErrorMessage;
            s.LastErrorStep = instance.FaultedStep;
        }, cancellationToken);
        metrics.DeploymentFinished(service.Desired.Pipeline, service.Desired.Shimlet, instance.Status == InstanceStatus.Cancelled ? "cancelled" : "failed", duration);
    }

    /// <summary>The decision a step reported through an <see cref="OutputKinds.Approval"/> output, if its activity declares one.</summary>
    private (string Reason, string By)? SignOff(StepExecutionRecord step)
    {
        if (step.OutputJson is null || !activities.TryGet(step.ActivityType, out var descriptor)
            || descriptor.Outputs.FirstOrDefault(o => o.Kind == OutputKinds.Approval) is not { } declared
            || JsonNode.Parse(step.OutputJson)?[declared.Name] is not JsonObject approval)
        {
            return null;
        }

        var decision = approval["decision"]?.GetValue<string>();
        var by = approval["by"]?.GetValue<string>() ?? "pipeline";
        var comment = approval["comment"]?.GetValue<string>();
        var what = decision switch
        {
            "approve" => $"approved by {by}",
            "reject" => $"rejected by {by}",
            _ => "nobody approved in time",
        };
        return ($"step '{step.ActivityId}': {what}{(string.IsNullOrEmpty(comment) ? "" : $": {comment}")}", by);
    }

    // A lifecycle operation's end is recorded as its operator's doing: the pipeline ran on their behalf.
    private async Task ScaleEndedAsync(ServiceRecord service, InstanceRecord instance, TimeSpan duration, CancellationToken cancellationToken)
    {
        if (instance.Status == InstanceStatus.Completed)
        {
            await store.TransitionAsync(service.Id, ServiceTrigger.ScaleCompleted, $"scaled to {service.Desired.Replicas} replica(s): pipeline {instance.DefinitionId} completed in {duration.TotalSeconds:0.###} s", instance.Operator, null, cancellationToken);
            return;
        }

        var what = instance.Status == InstanceStatus.Cancelled ? $"cancelled: {instance.ErrorMessage}" : $"step '{instance.FaultedStep}' failed ({instance.ErrorType}): {instance.ErrorMessage}";
        await store.TransitionAsync(service.Id, ServiceTrigger.ScaleFailed, $"scaling to {service.Desired.Replicas} replica(s) failed, {what}", instance.Operator, s =>
        {
            s.LastErrorType = instance.ErrorType ?? "ScaleCancelled";
            s.LastError = $"Scaling to {service.Desired.Replicas} replica(s) failed: {instance.ErrorMessage} The replicas may not match the desired state; scale again.";
            s.LastErrorStep = instance.FaultedStep;
        }, cancellationToken);
    }

    private async Task UndeployEndedAsync(ServiceRecord service, InstanceRecord instance, CancellationToken cancellationToken)
    {
        if (instance.Status == InstanceStatus.Completed)
        {
            await store.TransitionAsync(service.Id, ServiceTrigger.StopCompleted, $"resources removed through shimlet {service.Desired.Shimlet} (pipeline {instance.DefinitionId})", instance.Operator, s => s.Endpoint = null, cancellationToken);
            return;
        }

        var remaining = (await facts.ReadAsync(service.DeployInstanceId, cancellationToken)).ResourceIds;
        var resources = remaining is { Count: > 0 } ? string.Join(", ", remaining.Select(i => i?.ToString())) : "unknown (the deploy pipeline reported no resource ids)";
        var what = instance.Status == InstanceStatus.Cancelled ? $"the undeploy was cancelled: {instance.ErrorMessage}" : $"step '{instance.FaultedStep}' failed ({instance.ErrorType}): {instance.ErrorMessage}";
        await store.TransitionAsync(service.Id, ServiceTrigger.StopFailed, $"removing resources failed, {what}; resources remain: {resources}", instance.Operator, s =>
        {
            s.LastErrorType = instance.ErrorType ?? "UndeployCancelled";
            s.LastError = $"Removing the service's resources failed: {instance.ErrorMessage} Resources remain: {resources}. Undeploy again to retry.";
            s.LastErrorStep = instance.FaultedStep;
        }, cancellationToken);
    }
}

/// <summary>
/// Receives the runtime's events for instances that belong to services (they carry a correlation id) and
/// queues them for <see cref="PipelineProjection"/>, which applies them in order.
/// </summary>
public sealed class PipelineEventQueue : IWorkflowObserver
{
    private readonly System.Threading.Channels.Channel<(InstanceRecord Instance, StepExecutionRecord? Step)> _events =
        System.Threading.Channels.Channel.CreateUnbounded<(InstanceRecord, StepExecutionRecord?)>(new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });

    /// <summary>The queued events.</summary>
    public System.Threading.Channels.ChannelReader<(InstanceRecord Instance, StepExecutionRecord? Step)> Reader => _events.Reader;

    /// <inheritdoc />
    public void OnStepChanged(InstanceRecord instance, StepExecutionRecord step)
    {
        if (instance.CorrelationId is not null && (step.Status is StepStatus.Running or StepStatus.Suspended or StepStatus.Failed or StepStatus.TimedOut || (step.Status == StepStatus.Succeeded && step.IsFinal)))
        {
            // Copy what is handled later: the runtime owns the record it reports and may change it after this
            // call (an attempt's start and end written in one batch leave the start's record Succeeded), and a
            // start read as Succeeded never moved the service into Deploying.
            _events.Writer.TryWrite((instance, new StepExecutionRecord
            {
                Id = step.Id,
                InstanceId = step.InstanceId,
                ActivityId = step.ActivityId,
                ActivityType = step.ActivityType,
                Attempt = step.Attempt,
                Status = step.Status,
                IsFinal = step.IsFinal,
                OutputJson = step.Status == StepStatus.Succeeded ? step.OutputJson : null,
            }));
        }
    }

    /// <inheritdoc />
    public void OnInstanceChanged(InstanceRecord instance)
    {
        if (instance.CorrelationId is not null && instance.Status is InstanceStatus.Completed or InstanceStatus.Faulted or InstanceStatus.Cancelled)
        {
            _events.Writer.TryWrite((instance, null));
        }
    }
}
