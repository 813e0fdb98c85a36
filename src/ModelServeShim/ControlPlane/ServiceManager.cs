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
    PipelineFactsReader facts,
    TimeProvider time,
    ILogger<ServiceManager> logger) : BackgroundService
{
    /// <summary>Validates and stores a service, starts its pipeline, and returns at once.</summary>
    /// <returns>The service and its steps; Invalid when a field is, Conflict when a live service already has the model name.</returns>
    public async Task<ServiceCommandResult<DeployResult>> DeployAsync(DeployRequest request, string @operator, CancellationToken cancellationToken)
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

        if (errors.Count == 0 && (pipelineName == options.Value.UndeployPipeline || pipelineName == options.Value.ScalePipeline))
        {
            errors.Add(new("pipeline", $"'{pipelineName}' is a lifecycle pipeline (it scales or undeploys a service), not a deploy pipeline. Choose a deploy pipeline such as opensourcellm."));
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
            return ServiceCommandError.Invalid("The deploy request is invalid.", errors);
        }

        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var live = await context.Services.AsNoTracking()
            .Where(s => s.ModelName == request.ModelName && s.State != ServiceState.Stopped && s.State != ServiceState.Failed)
            .Select(s => new { s.Id, s.State })
            .FirstOrDefaultAsync(cancellationToken);
        if (live is not null)
        {
            return ServiceCommandError.Conflict(
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
        if (await StartPipelineAsync(service, pipeline, @operator, cancellationToken) is { } refused)
        {
            return refused;
        }

        return new DeployResult(service, [.. pipeline.Order.Select(s => s.Id)]);
    }

    /// <summary>Runs the deploy pipeline again (its latest version) with the service's current desired state.</summary>
    public async Task<ServiceCommandResult<DeployResult>> RedeployAsync(string serviceId, string @operator, CancellationToken cancellationToken)
    {
        if (await GetAsync(serviceId, cancellationToken) is not { } service)
        {
            return ServiceCommandError.NotFound(serviceId);
        }

        var lifecycle = new ServiceLifecycle(service.State);
        if (!lifecycle.CanFire(ServiceTrigger.Redeploy))
        {
            return ServiceCommandError.Conflict($"Service '{serviceId}' is {service.State}: redeploy is possible when it is Running, Degraded, Failed or Stopped.", service.State);
        }

        if (await definitions.GetCompiledAsync(service.Desired.Pipeline, null, cancellationToken) is not { } pipeline)
        {
            return ServiceCommandError.Invalid("The request is invalid.", [new("pipeline", $"Pipeline '{service.Desired.Pipeline}' no longer exists.")]);
        }

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
        if (await StartPipelineAsync(service, pipeline, @operator, cancellationToken) is { } refused)
        {
            return refused;
        }

        return new DeployResult((await GetAsync(serviceId, cancellationToken))!, [.. pipeline.Order.Select(s => s.Id)]);
    }

    /// <summary>
    /// Scales a Running or Degraded service: its desired replicas change, the service moves to Scaling and the scale
    /// pipeline starts; the answer comes at once and the pipeline's end moves the service on.
    /// </summary>
    public async Task<ServiceCommandResult<ServiceRecord>> ScaleAsync(string serviceId, int replicas, string @operator, CancellationToken cancellationToken)
    {
        if (replicas < 0 || replicas > options.Value.MaxReplicas)
        {
            return ServiceCommandError.Invalid("The request is invalid.", [new("replicaCount", $"replicaCount must be 0 to {options.Value.MaxReplicas}.")]);
        }

        if (await GetAsync(serviceId, cancellationToken) is not { } service)
        {
            return ServiceCommandError.NotFound(serviceId);
        }

        if (!new ServiceLifecycle(service.State).CanFire(ServiceTrigger.ScaleRequested))
        {
            return ServiceCommandError.Conflict($"Service '{serviceId}' is {service.State}: only Running or Degraded services can be scaled.", service.State);
        }

        if (await definitions.GetCompiledAsync(options.Value.ScalePipeline, null, cancellationToken) is not { } pipeline)
        {
            return LifecyclePipelineMissing(options.Value.ScalePipeline, service);
        }

        var from = service.Desired.Replicas;
        await ChangeDesiredAsync(serviceId, @operator, d =>
        {
            d.Replicas = replicas;
            return $"replicas {from} → {replicas}";
        }, cancellationToken);
        if (await TransitionAsync(serviceId, ServiceTrigger.ScaleRequested, $"scale requested: from {from} to {replicas} replica(s) (pipeline {pipeline.DefinitionId} v{pipeline.Version})", @operator, null, cancellationToken))
        {
            await StartOperationAsync(serviceId, service.InstanceId, ServiceOperation.Scale, pipeline, @operator, cancellationToken);
        }

        return (await GetAsync(serviceId, cancellationToken))!;
    }

    /// <summary>
    /// Undeploys: the service moves to Stopping, a running pipeline is cancelled, and the undeploy pipeline removes
    /// the resources (once the cancelled pipeline has ended). Answers at once; the pipeline's end moves the service
    /// to Stopped, or to Failed with the resources that remain.
    /// </summary>
    public async Task<ServiceCommandResult<ServiceRecord>> UndeployAsync(string serviceId, string @operator, CancellationToken cancellationToken)
    {
        if (await GetAsync(serviceId, cancellationToken) is not { } service)
        {
            return ServiceCommandError.NotFound(serviceId);
        }

        if (!new ServiceLifecycle(service.State).CanFire(ServiceTrigger.StopRequested))
        {
            return ServiceCommandError.Conflict($"Service '{serviceId}' is {service.State}: there is nothing to undeploy.", service.State);
        }

        if (await definitions.GetCompiledAsync(options.Value.UndeployPipeline, null, cancellationToken) is not { } pipeline)
        {
            return LifecyclePipelineMissing(options.Value.UndeployPipeline, service);
        }

        if (!await TransitionAsync(serviceId, ServiceTrigger.StopRequested, $"undeploy requested (pipeline {pipeline.DefinitionId} v{pipeline.Version})", @operator, null, cancellationToken))
        {
            return ServiceCommandError.Conflict($"Service '{serviceId}' changed state meanwhile: there is nothing to undeploy.", service.State);
        }

        // A running pipeline ends first (its end starts the undeploy, see HandleAsync), so it cannot apply after the delete.
        if (service.InstanceId is not { } instanceId || !engine.Cancel(instanceId, "the service is being undeployed", @operator))
        {
            await StartOperationAsync(serviceId, service.InstanceId, ServiceOperation.Undeploy, pipeline, @operator, cancellationToken);
        }

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
                || s.State == ServiceState.Deploying || s.State == ServiceState.HealthChecking || s.State == ServiceState.Scaling
                || s.State == ServiceState.Stopping)
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
                    engine.Cancel(instance.Id, "the service is being undeployed", "control-plane");
                }
            }
            else if (service.State == ServiceState.Stopping)
            {
                await StartUndeployAsync(service.Id, service.InstanceId, "control-plane", cancellationToken);
            }
            else if (service.State == ServiceState.Scaling)
            {
                await TransitionAsync(service.Id, ServiceTrigger.ScaleFailed, "the server stopped before the scale pipeline started; scale again", "control-plane", s =>
                {
                    s.LastErrorType = "PipelineNotStarted";
                    s.LastError = "The server stopped before the scale pipeline started.";
                }, cancellationToken);
            }
            else
            {
                await TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, "the server stopped before the pipeline started; redeploy to run it", "control-plane", s =>
                {
                    s.LastErrorType = "PipelineNotStarted";
                    s.LastError = "The server stopped before the pipeline started.";
                }, cancellationToken);
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
            if (step.Status == StepStatus.Running && service.Operation == ServiceOperation.Deploy)
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

            await StartUndeployAsync(service.Id, instance.Id, "control-plane", cancellationToken);
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
                await TransitionAsync(service.Id, ServiceTrigger.PipelineCompletedWithoutDeploying, "dry run: the pipeline stopped after rendering; nothing was deployed", "pipeline", null, cancellationToken);
            }
            else
            {
                await TransitionAsync(service.Id, ServiceTrigger.PipelineSucceeded, $"pipeline completed in {duration.TotalSeconds:0.###} s", "pipeline", s => s.Endpoint = reported.Endpoint, cancellationToken);
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

    // A lifecycle operation's end is recorded as its operator's doing: the pipeline ran on their behalf.
    private async Task ScaleEndedAsync(ServiceRecord service, InstanceRecord instance, TimeSpan duration, CancellationToken cancellationToken)
    {
        if (instance.Status == InstanceStatus.Completed)
        {
            await TransitionAsync(service.Id, ServiceTrigger.ScaleCompleted, $"scaled to {service.Desired.Replicas} replica(s): pipeline {instance.DefinitionId} completed in {duration.TotalSeconds:0.###} s", instance.Operator, null, cancellationToken);
            return;
        }

        var what = instance.Status == InstanceStatus.Cancelled ? $"cancelled: {instance.ErrorMessage}" : $"step '{instance.FaultedStep}' failed ({instance.ErrorType}): {instance.ErrorMessage}";
        await TransitionAsync(service.Id, ServiceTrigger.ScaleFailed, $"scaling to {service.Desired.Replicas} replica(s) failed, {what}", instance.Operator, s =>
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
            await TransitionAsync(service.Id, ServiceTrigger.StopCompleted, $"resources removed through shimlet {service.Desired.Shimlet} (pipeline {instance.DefinitionId})", instance.Operator, s => s.Endpoint = null, cancellationToken);
            return;
        }

        var remaining = (await facts.ReadAsync(service.DeployInstanceId, cancellationToken)).ResourceIds;
        var resources = remaining is { Count: > 0 } ? string.Join(", ", remaining.Select(i => i?.ToString())) : "unknown (the deploy pipeline reported no resource ids)";
        var what = instance.Status == InstanceStatus.Cancelled ? $"the undeploy was cancelled: {instance.ErrorMessage}" : $"step '{instance.FaultedStep}' failed ({instance.ErrorType}): {instance.ErrorMessage}";
        await TransitionAsync(service.Id, ServiceTrigger.StopFailed, $"removing resources failed, {what}; resources remain: {resources}", instance.Operator, s =>
        {
            s.LastErrorType = instance.ErrorType ?? "UndeployCancelled";
            s.LastError = $"Removing the service's resources failed: {instance.ErrorMessage} Resources remain: {resources}. Undeploy again to retry.";
            s.LastErrorStep = instance.FaultedStep;
        }, cancellationToken);
    }

    /// <summary>Starts the deploy pipeline; the error when its definition refuses the input (the service is then Failed).</summary>
    private async Task<ServiceCommandError?> StartPipelineAsync(ServiceRecord service, CompiledWorkflow pipeline, string @operator, CancellationToken cancellationToken)
    {
        // The instance id is recorded before the first step can run, so every pipeline event finds its service.
        var instanceId = WorkflowEngine.NewInstanceId();
        await TransitionAsync(service.Id, ServiceTrigger.PipelineStarted, $"pipeline instance {instanceId} starting", "pipeline", s =>
        {
            s.InstanceId = instanceId;
            s.DeployInstanceId = instanceId;
            s.Operation = ServiceOperation.Deploy;
        }, cancellationToken);
        var input = PipelineInput(service, pipeline);
        try
        {
            await engine.StartAsync(new StartRequest(pipeline.DefinitionId, input, @operator, pipeline.Version, service.Id, instanceId), cancellationToken);
            return null;
        }
        catch (InputInvalidException e)
        {
            await TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, $"the pipeline refused the request: {e.Message}", "pipeline", s =>
            {
                s.LastErrorType = "PipelineInputInvalid";
                s.LastError = e.Message;
            }, cancellationToken);
            return ServiceCommandError.Invalid("The deploy request is invalid.", [.. e.Errors.Select(x => new FieldError(x.Path.Replace("$.input.", "", StringComparison.Ordinal), x.Message))]);
        }
    }

    /// <summary>The input of any of the service's pipelines: every fact of its desired state the pipeline declares.</summary>
    private static JsonObject PipelineInput(ServiceRecord service, CompiledWorkflow pipeline) =>
        DeployRequestValidator.ToPipelineInput(
            service.Desired.ToRequest(service.ModelName), service.Id, service.Desired.Shimlet, pipeline.Definition.Inputs.Select(i => i.Name));

    /// <summary>A lifecycle pipeline that is not loaded: a conflict naming the setting.</summary>
    private static ServiceCommandError LifecyclePipelineMissing(string definitionId, ServiceRecord service) =>
        ServiceCommandError.Conflict(
                $"The lifecycle pipeline '{definitionId}' is not loaded (settings ControlPlane:ScalePipeline, ControlPlane:UndeployPipeline; built in: workflows/{definitionId}.json).", service.State);

    /// <summary>Starts the undeploy pipeline, unless it already runs for the service.</summary>
    private async Task StartUndeployAsync(string serviceId, string? previousInstanceId, string @operator, CancellationToken cancellationToken)
    {
        var service = await GetAsync(serviceId, cancellationToken);
        var pipeline = service is null ? null : await definitions.GetCompiledAsync(options.Value.UndeployPipeline, null, cancellationToken);
        if (service is null)
        {
            return;
        }

        if (pipeline is null)
        {
            await TransitionAsync(serviceId, ServiceTrigger.StopFailed, $"the undeploy pipeline '{options.Value.UndeployPipeline}' is not loaded", @operator, s =>
            {
                s.LastErrorType = "PipelineNotFound";
                s.LastError = $"The undeploy pipeline '{options.Value.UndeployPipeline}' is not loaded (setting ControlPlane:UndeployPipeline); the resources remain. Undeploy again once it is.";
            }, cancellationToken);
            return;
        }

        // The undeploy runs as whoever asked for it: the operator of the latest transition to Stopping.
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
        {
            @operator = await context.Transitions.AsNoTracking()
                .Where(t => t.ServiceId == serviceId && t.To == ServiceState.Stopping).OrderByDescending(t => t.Id)
                .Select(t => t.Operator).FirstOrDefaultAsync(cancellationToken) ?? @operator;
        }

        await StartOperationAsync(serviceId, previousInstanceId, ServiceOperation.Undeploy, pipeline, @operator, cancellationToken);
    }

    /// <summary>
    /// Records <paramref name="operation"/>'s new instance on the service if its latest instance is still
    /// <paramref name="previousInstanceId"/> (so an undeploy is never started twice), then starts it; a definition that refuses the input ends the operation at once.
    /// </summary>
    private async Task StartOperationAsync(
        string serviceId, string? previousInstanceId, ServiceOperation operation, CompiledWorkflow pipeline, string @operator, CancellationToken cancellationToken)
    {
        var instanceId = WorkflowEngine.NewInstanceId();
        ServiceRecord? service = null;
        for (var attempt = 0; attempt < 5 && service is null; attempt++)
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            var current = await context.Services.FirstOrDefaultAsync(s => s.Id == serviceId, cancellationToken);
            if (current is null || current.InstanceId != previousInstanceId)
            {
                return; // Gone, or another operation started meanwhile (an undeploy is not started twice).
            }

            current.InstanceId = instanceId;
            current.Operation = operation;
            current.Revision++;
            current.UpdatedAt = time.GetUtcNow();
            try
            {
                await context.SaveChangesAsync(cancellationToken);
                service = current;
            }
            catch (DbUpdateConcurrencyException)
            {
                // Changed meanwhile: re-read.
            }
        }

        if (service is null)
        {
            throw new InvalidOperationException($"Service '{serviceId}' changed concurrently too often to start its {operation} pipeline.");
        }

        broadcaster.OnServiceChanged(service);
        try
        {
            await engine.StartAsync(new StartRequest(pipeline.DefinitionId, PipelineInput(service, pipeline), @operator, pipeline.Version, serviceId, instanceId), cancellationToken);
        }
        catch (InputInvalidException e)
        {
            var trigger = operation == ServiceOperation.Undeploy ? ServiceTrigger.StopFailed : ServiceTrigger.ScaleFailed;
            await TransitionAsync(serviceId, trigger, $"the {pipeline.DefinitionId} pipeline refused its input: {e.Message}", "pipeline", s =>
            {
                s.LastErrorType = "PipelineInputInvalid";
                s.LastError = $"The {pipeline.DefinitionId} pipeline refused its input: {e.Message} Check the definition's inputs.";
            }, cancellationToken);
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
