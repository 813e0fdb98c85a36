using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ModelServeShim.Workflows.Execution;

namespace ModelServeShim.ControlPlane;

/// <summary>The answer to a deploy.</summary>
/// <param name="Service">The stored service.</param>
/// <param name="Steps">The pipeline's steps in order.</param>
public sealed record DeployResult(ServiceRecord Service, IReadOnlyList<string> Steps);

/// <summary>
/// What operators ask of services: deploy, redeploy, scale, undeploy. Each validates, changes the desired state or the
/// lifecycle state through <see cref="ServiceStore"/>, starts the operation's pipeline (<see cref="ServiceOperations"/>)
/// and answers at once; <see cref="PipelineProjection"/> moves the service on as the pipeline runs.
/// </summary>
public sealed class ServiceCommands(
    IDbContextFactory<ControlPlaneDbContext> db,
    ServiceStore store,
    ServiceOperations operations,
    DeployValidation validation,
    WorkflowEngine engine,
    Workflows.Definitions.DefinitionStore definitions,
    IOptions<ControlPlaneOptions> options,
    ShimMetrics metrics,
    EventBroadcaster broadcaster,
    TimeProvider time)
{
    /// <summary>Validates (<see cref="DeployValidation"/>) and stores a service, starts its pipeline, and returns at once.</summary>
    /// <returns>The service and its steps; Invalid when a field is, Conflict when a live service already has the model name.</returns>
    public async Task<ServiceCommandResult<DeployResult>> DeployAsync(DeployRequest request, string @operator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validated = await validation.ValidateAsync(request, cancellationToken);
        if (validated.Error is { } invalid)
        {
            return invalid;
        }

        var (shimletName, pipeline) = validated.Value!;
        var pipelineName = pipeline.DefinitionId;
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
            Desired = ServiceDesiredState.From(id, request, shimletName, pipelineName, pipeline.Version, now, @operator),
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
        if (await operations.StartDeployAsync(service, pipeline, @operator, cancellationToken) is { } refused)
        {
            return refused;
        }

        return new DeployResult(service, [.. pipeline.Order.Select(s => s.Id)]);
    }

    /// <summary>Runs the deploy pipeline again (its latest version) with the service's current desired state.</summary>
    public async Task<ServiceCommandResult<DeployResult>> RedeployAsync(string serviceId, string @operator, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(serviceId, cancellationToken) is not { } service)
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

        // The desired state and the transition are one write: a redeploy that lost a race (another replica's request
        // changed the service first) stores nothing and is refused.
        if (!await store.TransitionAsync(serviceId, ServiceTrigger.Redeploy, $"redeploy requested (pipeline {pipeline.DefinitionId} v{pipeline.Version})", @operator, s =>
            {
                s.LastError = null;
                s.LastErrorType = null;
                s.LastErrorStep = null;
            }, cancellationToken, d =>
            {
                var from = d.PipelineVersion;
                d.PipelineVersion = pipeline.Version;
                return from == pipeline.Version
                    ? $"redeployed: pipeline {pipeline.DefinitionId} v{pipeline.Version}, {d.Replicas} replica(s)"
                    : $"redeployed: pipeline {pipeline.DefinitionId} v{from} → v{pipeline.Version}, {d.Replicas} replica(s)";
            }))
        {
            return await ChangedMeanwhileAsync(serviceId, "redeploy", cancellationToken);
        }

        service = (await store.GetAsync(serviceId, cancellationToken))!;
        metrics.DeploymentStarted(service.Desired.Pipeline, service.Desired.Shimlet, service.Desired.AcceleratorType, service.Desired.AcceleratorCount * service.Desired.Replicas);
        if (await operations.StartDeployAsync(service, pipeline, @operator, cancellationToken) is { } refused)
        {
            return refused;
        }

        return new DeployResult((await store.GetAsync(serviceId, cancellationToken))!, [.. pipeline.Order.Select(s => s.Id)]);
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

        if (await store.GetAsync(serviceId, cancellationToken) is not { } service)
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
        if (!await store.TransitionAsync(serviceId, ServiceTrigger.ScaleRequested, $"scale requested: from {from} to {replicas} replica(s) (pipeline {pipeline.DefinitionId} v{pipeline.Version})", @operator, null, cancellationToken, d =>
            {
                var before = d.Replicas;
                d.Replicas = replicas;
                return $"replicas {before} → {replicas}";
            }))
        {
            return await ChangedMeanwhileAsync(serviceId, "scale", cancellationToken);
        }

        await operations.StartOperationAsync(serviceId, service.InstanceId, ServiceOperation.Scale, pipeline, @operator, cancellationToken);
        return (await store.GetAsync(serviceId, cancellationToken))!;
    }

    /// <summary>
    /// Undeploys: the service moves to Stopping, a running pipeline is cancelled, and the undeploy pipeline removes
    /// the resources (once the cancelled pipeline has ended). Answers at once; the pipeline's end moves the service
    /// to Stopped, or to Failed with the resources that remain.
    /// </summary>
    public async Task<ServiceCommandResult<ServiceRecord>> UndeployAsync(string serviceId, string @operator, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(serviceId, cancellationToken) is not { } service)
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

        if (!await store.TransitionAsync(serviceId, ServiceTrigger.StopRequested, $"undeploy requested (pipeline {pipeline.DefinitionId} v{pipeline.Version})", @operator, null, cancellationToken))
        {
            return ServiceCommandError.Conflict($"Service '{serviceId}' changed state meanwhile: there is nothing to undeploy.", service.State);
        }

        // A running pipeline ends first (its end starts the undeploy, see HandleAsync), so it cannot apply after the delete.
        if (service.InstanceId is not { } instanceId || !await engine.CancelAsync(instanceId, "the service is being undeployed", @operator, cancellationToken))
        {
            await operations.StartOperationAsync(serviceId, service.InstanceId, ServiceOperation.Undeploy, pipeline, @operator, cancellationToken);
        }

        return (await store.GetAsync(serviceId, cancellationToken))!;
    }

    /// <summary>A request that lost the race to another one (possibly on another replica): a conflict with the state now.</summary>
    private async Task<ServiceCommandError> ChangedMeanwhileAsync(string serviceId, string what, CancellationToken cancellationToken)
    {
        var now = await store.GetAsync(serviceId, cancellationToken);
        return ServiceCommandError.Conflict(
            $"Service '{serviceId}' changed meanwhile (another request was applied first; it is {now?.State.ToString() ?? "gone"}): the {what} was not applied.",
            now?.State ?? ServiceState.Stopped);
    }

    /// <summary>A lifecycle pipeline that is not loaded: a conflict naming the setting.</summary>
    private static ServiceCommandError LifecyclePipelineMissing(string definitionId, ServiceRecord service) =>
        ServiceCommandError.Conflict(
                $"The lifecycle pipeline '{definitionId}' is not loaded (settings ControlPlane:ScalePipeline, ControlPlane:UndeployPipeline; built in: workflows/{definitionId}.json).", service.State);

}
