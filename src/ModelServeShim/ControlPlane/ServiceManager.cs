using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Hosting;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.ControlPlane;

/// <summary>A request the service's current state does not allow (HTTP 409).</summary>
public sealed class ServiceStateConflictException(string message, ServiceState state) : Exception(message)
{
    /// <summary>The current state.</summary>
    public ServiceState State { get; } = state;
}

/// <summary>A request with invalid fields (HTTP 400).</summary>
public sealed class ServiceRequestInvalidException(IReadOnlyList<FieldError> errors)
    : Exception(string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")))
{
    /// <summary>The errors.</summary>
    public IReadOnlyList<FieldError> Errors { get; } = errors;
}

/// <summary>The answer to a deploy.</summary>
/// <param name="Service">The stored service.</param>
/// <param name="Steps">The pipeline's steps in order.</param>
public sealed record DeployResult(ServiceRecord Service, IReadOnlyList<string> Steps);

/// <summary>
/// Deploys, scales, redeploys and undeploys model services, and drives each service's lifecycle from
/// its pipeline's events (it observes the workflow runtime). Every transition is stored with its time,
/// reason and operator, and every stored change is published to the event streams (<see cref="EventBroadcaster"/>).
/// </summary>
public sealed class ServiceManager(
    IDbContextFactory<ControlPlaneDbContext> db,
    IDbContextFactory<WorkflowDbContext> workflowDb,
    WorkflowEngine engine,
    Workflows.Definitions.DefinitionStore definitions,
    IShimletProvider shimlets,
    AcceleratorCatalog catalog,
    ModelPathResolver modelPaths,
    IOptions<ControlPlaneOptions> options,
    IOptions<ShimOptions> shim,
    ShimMetrics metrics,
    PipelineEventQueue events,
    EventBroadcaster broadcaster,
    TimeProvider time,
    ILogger<ServiceManager> logger) : BackgroundService
{
    /// <summary>Activity types whose outputs the service view shows.</summary>
    public static class OutputSources
    {
        /// <summary>Model facts and the memory estimate.</summary>
        public const string ModelValidation = "ModelServeShim.Llm.ModelValidation";

        /// <summary>The rendered deployment spec.</summary>
        public const string ConfigRendering = "ModelServeShim.Llm.ConfigRendering";

        /// <summary>The environment's resource ids.</summary>
        public const string ResourceDeployment = "ModelServeShim.Llm.ResourceDeployment";
    }

    /// <summary>Validates and stores a service, starts its pipeline, and returns at once.</summary>
    /// <exception cref="ServiceRequestInvalidException">A field is invalid.</exception>
    /// <exception cref="ServiceStateConflictException">A live service already has this model name.</exception>
    public async Task<DeployResult> DeployAsync(DeployRequest request, string @operator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = DeployRequestValidator.Validate(request, catalog, options.Value);
        if (!string.IsNullOrWhiteSpace(request.ModelFile) && !errors.Exists(e => e.Field == "modelFile")
            && !modelPaths.TryResolve(request.ModelFile, out _, out var pathError, mustExist: false))
        {
            // Confinement is checked here as well as in model-validation: a path outside the roots never becomes a service.
            errors.Add(new("modelFile", $"{pathError!.Message} (Setting: Models:Roots.)"));
        }

        var shimletName = request.Shimlet ?? shim.Value.Shimlet;
        var pipelineName = request.Pipeline ?? shim.Value.Pipeline;
        if (errors.Count == 0 && shimlets.Find(shimletName) is null)
        {
            errors.Add(new("shimlet", $"Unknown shimlet '{shimletName}'. Available: {string.Join(", ", shimlets.Names)}."));
        }

        var pipeline = errors.Count == 0 ? await definitions.GetCompiledAsync(pipelineName, null, cancellationToken) : null;
        if (errors.Count == 0 && pipeline is null)
        {
            var known = (await definitions.ListLatestAsync(cancellationToken)).Select(d => d.DefinitionId);
            errors.Add(new("pipeline", $"Unknown pipeline '{pipelineName}'. Available: {string.Join(", ", known)}."));
        }

        if (pipeline is not null)
        {
            var declared = pipeline.Definition.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var field in request.OptionalFieldsSet().Where(f => !declared.Contains(f)))
            {
                errors.Add(new(field, $"Pipeline '{pipelineName}' does not take '{field}' (its inputs: {string.Join(", ", declared.Order(StringComparer.Ordinal))}). Remove the field, or choose a pipeline that declares it{(field == "quantization" ? " (quant-llm)" : "")}."));
            }
        }

        if (errors.Count > 0)
        {
            throw new ServiceRequestInvalidException(errors);
        }

        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var live = await context.Services.AsNoTracking()
            .Where(s => s.ModelName == request.ModelName && s.State != ServiceState.Stopped && s.State != ServiceState.Failed)
            .Select(s => new { s.Id, s.State })
            .FirstOrDefaultAsync(cancellationToken);
        if (live is not null)
        {
            throw new ServiceStateConflictException(
                $"Model '{request.ModelName}' is already deployed as '{live.Id}' ({live.State}). Undeploy it (DELETE /api/v1/modserv/{live.Id}) or choose another modelName.",
                live.State);
        }

        var now = time.GetUtcNow();
        var id = $"{request.ModelName}-{Guid.NewGuid()}";
        var service = new ServiceRecord
        {
            Id = id,
            ModelName = request.ModelName!,
            State = ServiceState.Initializing,
            Desired = ServiceDesiredState.From(id, request, shimletName, pipelineName, pipeline!.Version, now, @operator),
            CreatedBy = @operator,
            CreatedAt = now,
            UpdatedAt = now,
        };
        context.Services.Add(service);
        context.DesiredStateChanges.Add(ServiceDesiredStateChange.Of(service.Desired, service.ModelName, $"deployed: pipeline {pipelineName} v{pipeline.Version}, {service.Desired.Replicas} replica(s)"));
        context.Transitions.Add(new ServiceTransitionRecord
        {
            ServiceId = service.Id, At = now, From = null, To = ServiceState.Initializing, Operator = @operator,
            Reason = $"deploy requested: pipeline {pipelineName} v{pipeline.Version}, shimlet {shimletName}{(request.DryRun == true ? ", dry run" : "")}",
        });
        await context.SaveChangesAsync(cancellationToken);
        broadcaster.OnServiceChanged(service);
        metrics.DeploymentStarted(pipelineName, shimletName, service.Desired.AcceleratorType, service.Desired.AcceleratorCount * service.Desired.Replicas);
        await StartPipelineAsync(service, pipeline, @operator, cancellationToken);
        return new DeployResult(service, [.. pipeline.Order.Select(s => s.Id)]);
    }

    /// <summary>Runs the deploy pipeline again (its latest version) with the service's current desired state.</summary>
    public async Task<DeployResult> RedeployAsync(string serviceId, string @operator, CancellationToken cancellationToken)
    {
        var service = await GetAsync(serviceId, cancellationToken) ?? throw new KeyNotFoundException(serviceId);
        var lifecycle = new ServiceLifecycle(service.State);
        if (!lifecycle.CanFire(ServiceTrigger.Redeploy))
        {
            throw new ServiceStateConflictException($"Service '{serviceId}' is {service.State}: redeploy is possible when it is Running, Degraded, Failed or Stopped.", service.State);
        }

        var pipeline = await definitions.GetCompiledAsync(service.Desired.Pipeline, null, cancellationToken)
            ?? throw new ServiceRequestInvalidException([new("pipeline", $"Pipeline '{service.Desired.Pipeline}' no longer exists.")]);
        var from = service.Desired.PipelineVersion;
        await ChangeDesiredAsync(serviceId, @operator, d =>
        {
            d.PipelineVersion = pipeline.Version;
            return from == pipeline.Version
                ? $"redeployed: pipeline {pipeline.DefinitionId} v{pipeline.Version}, {d.Replicas} replica(s)"
                : $"redeployed: pipeline {pipeline.DefinitionId} v{from} → v{pipeline.Version}, {d.Replicas} replica(s)";
        }, cancellationToken);
        await TransitionAsync(serviceId, ServiceTrigger.Redeploy, $"redeploy requested (pipeline {pipeline.DefinitionId} v{pipeline.Version})", @operator, s =>
        {
            s.LastError = null;
            s.LastErrorType = null;
            s.LastErrorStep = null;
        }, cancellationToken);
        service = (await GetAsync(serviceId, cancellationToken))!;
        metrics.DeploymentStarted(service.Desired.Pipeline, service.Desired.Shimlet, service.Desired.AcceleratorType, service.Desired.AcceleratorCount * service.Desired.Replicas);
        await StartPipelineAsync(service, pipeline, @operator, cancellationToken);
        return new DeployResult((await GetAsync(serviceId, cancellationToken))!, [.. pipeline.Order.Select(s => s.Id)]);
    }

    /// <summary>Scales a Running or Degraded service: its desired replicas change, then its shimlet applies them.</summary>
    public async Task<ServiceRecord> ScaleAsync(string serviceId, int replicas, string @operator, CancellationToken cancellationToken)
    {
        if (replicas < 0 || replicas > options.Value.MaxReplicas)
        {
            throw new ServiceRequestInvalidException([new("replicaCount", $"replicaCount must be 0 to {options.Value.MaxReplicas}.")]);
        }

        var service = await GetAsync(serviceId, cancellationToken) ?? throw new KeyNotFoundException(serviceId);
        if (service.State is not (ServiceState.Running or ServiceState.Degraded))
        {
            throw new ServiceStateConflictException($"Service '{serviceId}' is {service.State}: only Running or Degraded services can be scaled.", service.State);
        }

        var shimlet = shimlets.Find(service.Desired.Shimlet)
            ?? throw new ServiceStateConflictException($"Shimlet '{service.Desired.Shimlet}' is not loaded, so the service cannot be scaled.", service.State);
        await shimlet.ScaleAsync(new ServiceTarget(service.Id, service.Desired.Namespace), replicas, cancellationToken);
        var from = service.Desired.Replicas;
        await ChangeDesiredAsync(serviceId, @operator, d =>
        {
            d.Replicas = replicas;
            return $"replicas {from} → {replicas}";
        }, cancellationToken);
        await RecordAsync(serviceId, $"scaled from {from} to {replicas} replica(s)", @operator, _ => { }, cancellationToken);
        return (await GetAsync(serviceId, cancellationToken))!;
    }

    /// <summary>Undeploys: cancels a running pipeline, removes the resources through the shimlet, ends in Stopped.</summary>
    public async Task<ServiceRecord> UndeployAsync(string serviceId, string @operator, CancellationToken cancellationToken)
    {
        var service = await GetAsync(serviceId, cancellationToken) ?? throw new KeyNotFoundException(serviceId);
        if (!new ServiceLifecycle(service.State).CanFire(ServiceTrigger.StopRequested))
        {
            throw new ServiceStateConflictException($"Service '{serviceId}' is {service.State}: there is nothing to undeploy.", service.State);
        }

        await TransitionAsync(serviceId, ServiceTrigger.StopRequested, "undeploy requested", @operator, null, cancellationToken);
        if (service.InstanceId is { } instanceId)
        {
            engine.Cancel(instanceId, "the service is being undeployed", @operator);
        }

        _ = Task.Run(() => RemoveResourcesAsync(service, @operator), CancellationToken.None);
        return (await GetAsync(serviceId, cancellationToken))!;
    }

    /// <summary>A service, or null.</summary>
    public async Task<ServiceRecord?> GetAsync(string serviceId, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        return await context.Services.AsNoTracking().FirstOrDefaultAsync(s => s.Id == serviceId, cancellationToken);
    }

    /// <summary>Applies a lifecycle trigger from outside (the health monitor).</summary>
    internal Task<bool> FireAsync(string serviceId, ServiceTrigger trigger, string reason, string @operator, Action<ServiceRecord>? change, CancellationToken cancellationToken) =>
        TransitionAsync(serviceId, trigger, reason, @operator, change, cancellationToken);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReconcileAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Could not reconcile services with their pipelines after start");
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
    }

    /// <summary>
    /// After a restart: replays the end of pipelines that finished while their service's event was not yet
    /// applied, fails services whose pipeline never started, and finishes undeploys that were under way.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var open = await context.Services.AsNoTracking()
            .Where(s => s.State == ServiceState.Initializing || s.State == ServiceState.PipelineRunning
                || s.State == ServiceState.Deploying || s.State == ServiceState.HealthChecking || s.State == ServiceState.Stopping)
            .ToListAsync(cancellationToken);
        if (open.Count == 0)
        {
            return;
        }

        await using var wf = await workflowDb.CreateDbContextAsync(cancellationToken);
        foreach (var service in open)
        {
            if (service.State == ServiceState.Stopping)
            {
                _ = Task.Run(() => RemoveResourcesAsync(service, "control-plane"), CancellationToken.None);
                continue;
            }

            var instance = service.InstanceId is null ? null : await wf.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == service.InstanceId, cancellationToken);
            if (instance is null)
            {
                await TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, "the server stopped before the pipeline started; redeploy to run it", "control-plane", s =>
                {
                    s.LastErrorType = "PipelineNotStarted";
                    s.LastError = "The server stopped before the pipeline started.";
                }, cancellationToken);
            }
            else if (instance.Status is InstanceStatus.Completed or InstanceStatus.Faulted or InstanceStatus.Cancelled)
            {
                await HandleAsync(instance, null, cancellationToken);
            }
        }
    }

    private async Task HandleAsync(InstanceRecord instance, StepExecutionRecord? step, CancellationToken cancellationToken)
    {
        var service = await GetAsync(instance.CorrelationId!, cancellationToken);
        if (service is null || service.InstanceId != instance.Id)
        {
            return; // Not a service's pipeline, or an older run of it.
        }

        if (step is not null)
        {
            if (step.Status == StepStatus.Running)
            {
                var state = options.Value.StepStates.GetValueOrDefault(step.ActivityType, ServiceState.PipelineRunning);
                var trigger = state switch
                {
                    ServiceState.Deploying => ServiceTrigger.EnterDeploying,
                    ServiceState.HealthChecking => ServiceTrigger.EnterHealthChecking,
                    _ => ServiceTrigger.EnterPipeline,
                };
                await TransitionAsync(service.Id, trigger, $"step '{step.ActivityId}' started (attempt {step.Attempt})", "pipeline", null, cancellationToken);
            }
            else if (!step.IsFinal)
            {
                metrics.StepRetried(step.ActivityId);
            }

            return;
        }

        var duration = (instance.FinishedAt ?? time.GetUtcNow()) - (instance.StartedAt ?? instance.CreatedAt);
        if (instance.Status == InstanceStatus.Completed)
        {
            var outputs = await FinalOutputsAsync(instance.Id, cancellationToken);
            var endpoint = LatestOutput(outputs, null, "endpoint")?.GetValue<string>();
            if (outputs.Values.Any(o => o.Outcome == "DryRun"))
            {
                await TransitionAsync(service.Id, ServiceTrigger.PipelineCompletedWithoutDeploying, "dry run: the pipeline stopped after rendering; nothing was deployed", "pipeline", null, cancellationToken);
            }
            else
            {
                await TransitionAsync(service.Id, ServiceTrigger.PipelineSucceeded, $"pipeline completed in {duration.TotalSeconds:0.###} s", "pipeline", s => s.Endpoint = endpoint, cancellationToken);
            }

            metrics.DeploymentFinished(service.Desired.Pipeline, service.Desired.Shimlet, "succeeded", duration);
            return;
        }

        var reason = instance.Status == InstanceStatus.Cancelled
            ? $"pipeline cancelled: {instance.ErrorMessage}"
            : $"step '{instance.FaultedStep}' failed ({instance.ErrorType}): {instance.ErrorMessage}";
        await TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, reason, "pipeline", s =>
        {
            s.LastErrorType = instance.ErrorType;
            s.LastError = instance.ErrorMessage;
            s.LastErrorStep = instance.FaultedStep;
        }, cancellationToken);
        metrics.DeploymentFinished(service.Desired.Pipeline, service.Desired.Shimlet, instance.Status == InstanceStatus.Cancelled ? "cancelled" : "failed", duration);
    }

    /// <summary>
    /// The output <paramref name="name"/> of the last concluded step of <paramref name="activityType"/> (any type when
    /// null) that set it, as a copy; null when none did.
    /// </summary>
    public static JsonNode? LatestOutput(
        IReadOnlyDictionary<string, (string ActivityType, string? Outcome, JsonNode? Output)> outputs, string? activityType, string name) =>
        outputs.Values.Where(o => activityType is null || o.ActivityType == activityType)
            .Select(o => o.Output?[name]).LastOrDefault(v => v is not null)?.DeepClone();

    /// <summary>The final step results of an instance, by step id, in the order the steps started.</summary>
    public async Task<Dictionary<string, (string ActivityType, string? Outcome, JsonNode? Output)>> FinalOutputsAsync(string instanceId, CancellationToken cancellationToken)
    {
        await using var context = await workflowDb.CreateDbContextAsync(cancellationToken);
        var rows = await context.StepExecutions.AsNoTracking()
            .Where(s => s.InstanceId == instanceId && s.IsFinal)
            .Select(s => new { s.ActivityId, s.ActivityType, s.Outcome, s.OutputJson, s.StartedAt })
            .ToListAsync(cancellationToken);
        return rows.OrderBy(r => r.StartedAt).ToDictionary(
            r => r.ActivityId,
            r => (r.ActivityType, r.Outcome, r.OutputJson is null ? null : JsonNode.Parse(r.OutputJson)));
    }

    private async Task StartPipelineAsync(ServiceRecord service, CompiledWorkflow pipeline, string @operator, CancellationToken cancellationToken)
    {
        // The instance id is recorded before the first step can run, so every pipeline event finds its service.
        var instanceId = WorkflowEngine.NewInstanceId();
        await TransitionAsync(service.Id, ServiceTrigger.PipelineStarted, $"pipeline instance {instanceId} starting", "pipeline", s => s.InstanceId = instanceId, cancellationToken);
        var input = DeployRequestValidator.ToPipelineInput(
            service.Desired.ToRequest(service.ModelName), service.Id, service.Desired.Shimlet, pipeline.Definition.Inputs.Select(i => i.Name));
        try
        {
            await engine.StartAsync(new StartRequest(pipeline.DefinitionId, input, @operator, pipeline.Version, service.Id, instanceId), cancellationToken);
        }
        catch (InputInvalidException e)
        {
            await TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, $"the pipeline refused the request: {e.Message}", "pipeline", s =>
            {
                s.LastErrorType = "PipelineInputInvalid";
                s.LastError = e.Message;
            }, cancellationToken);
            throw new ServiceRequestInvalidException([.. e.Errors.Select(x => new FieldError(x.Path.Replace("$.input.", "", StringComparison.Ordinal), x.Message))]);
        }
    }

    private async Task RemoveResourcesAsync(ServiceRecord service, string @operator)
    {
        try
        {
            if (service.InstanceId is { } instanceId)
            {
                await engine.WaitAsync(instanceId).WaitAsync(TimeSpan.FromMinutes(2));
            }

            var shimlet = shimlets.Find(service.Desired.Shimlet)
                ?? throw new InvalidOperationException($"Shimlet '{service.Desired.Shimlet}' is not loaded, so the service's resources cannot be removed.");
            await shimlet.DeleteAsync(new ServiceTarget(service.Id, service.Desired.Namespace), CancellationToken.None);
            await TransitionAsync(service.Id, ServiceTrigger.StopCompleted, $"resources removed through shimlet {service.Desired.Shimlet}", @operator, s => s.Endpoint = null, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Undeploying service {Service} failed", service.Id);
            await TransitionAsync(service.Id, ServiceTrigger.StopFailed, $"removing resources failed: {e.Message}", @operator, s =>
            {
                s.LastErrorType = "UndeployFailed";
                s.LastError = e.Message;
            }, CancellationToken.None);
        }
    }

    private async Task<bool> TransitionAsync(
        string serviceId, ServiceTrigger trigger, string reason, string @operator, Action<ServiceRecord>? change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            var service = await context.Services.FirstOrDefaultAsync(s => s.Id == serviceId, cancellationToken);
            if (service is null)
            {
                return false;
            }

            var lifecycle = new ServiceLifecycle(service.State);
            var from = service.State;
            if (!lifecycle.TryFire(trigger))
            {
                logger.LogDebug("Service {Service} ignores {Trigger} in state {State}", serviceId, trigger, from);
                return false;
            }

            change?.Invoke(service);
            var now = time.GetUtcNow();
            service.State = lifecycle.State;
            service.UpdatedAt = now;
            service.Revision++;
            if (from != service.State)
            {
                context.Transitions.Add(new ServiceTransitionRecord { ServiceId = serviceId, At = now, From = from, To = service.State, Reason = reason, Operator = @operator });
            }

            try
            {
                await context.SaveChangesAsync(cancellationToken);
                broadcaster.OnServiceChanged(service);
                if (from != service.State)
                {
                    metrics.StateChanged(from, service.State);
                    logger.LogInformation("Service {Service}: {From} → {To} ({Reason}, by {Operator})", serviceId, from, service.State, reason, @operator);
                }

                return true;
            }
            catch (DbUpdateConcurrencyException)
            {
                // Another transition won the race: re-read and try again.
            }
        }

        throw new InvalidOperationException($"Service '{serviceId}' changed concurrently too often to apply {trigger}.");
    }

    /// <summary>Changes a service's desired state and keeps the change in its history; <paramref name="change"/> says what changed.</summary>
    private async Task ChangeDesiredAsync(string serviceId, string @operator, Func<ServiceDesiredState, string> change, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var service = await context.Services.FirstAsync(s => s.Id == serviceId, cancellationToken);
        var what = change(service.Desired);
        context.DesiredStateChanges.Add(service.Desired.Change(service.ModelName, what, time.GetUtcNow(), @operator));
        service.Revision++;
        await context.SaveChangesAsync(cancellationToken);
        broadcaster.OnServiceChanged(service);
    }

    private async Task RecordAsync(string serviceId, string reason, string @operator, Action<ServiceRecord> change, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var service = await context.Services.FirstAsync(s => s.Id == serviceId, cancellationToken);
        change(service);
        service.Revision++;
        service.UpdatedAt = time.GetUtcNow();
        context.Transitions.Add(new ServiceTransitionRecord { ServiceId = serviceId, At = service.UpdatedAt, From = service.State, To = service.State, Reason = reason, Operator = @operator });
        await context.SaveChangesAsync(cancellationToken);
        broadcaster.OnServiceChanged(service);
    }
}

/// <summary>
/// Receives the runtime's events for instances that belong to services (they carry a correlation id) and
/// queues them for <see cref="ServiceManager"/>, which applies them in order.
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
        if (instance.CorrelationId is not null && step.Status is StepStatus.Running or StepStatus.Failed or StepStatus.TimedOut)
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
