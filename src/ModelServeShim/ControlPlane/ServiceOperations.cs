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

/// <summary>
/// Starts a service's pipelines — deploy (and redeploy), scale, undeploy — with the input built from its desired
/// state, recording the instance on the service before its first step can run, so every pipeline event finds it.
/// </summary>
public sealed class ServiceOperations(
    IDbContextFactory<ControlPlaneDbContext> db,
    ServiceStore store,
    WorkflowEngine engine,
    Workflows.Definitions.DefinitionStore definitions,
    IOptions<ControlPlaneOptions> options)
{
    /// <summary>Starts the deploy pipeline; the error when its definition refuses the input (the service is then Failed).</summary>
    public async Task<ServiceCommandError?> StartDeployAsync(ServiceRecord service, CompiledWorkflow pipeline, string @operator, CancellationToken cancellationToken)
    {
        // The instance id is recorded before the first step can run, so every pipeline event finds its service.
        var instanceId = WorkflowEngine.NewInstanceId();
        await store.TransitionAsync(service.Id, ServiceTrigger.PipelineStarted, $"pipeline instance {instanceId} starting", "pipeline", s =>
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
            await store.TransitionAsync(service.Id, ServiceTrigger.PipelineFailed, $"the pipeline refused the request: {e.Message}", "pipeline", s =>
            {
                s.LastErrorType = "PipelineInputInvalid";
                s.LastError = e.Message;
            }, cancellationToken);
            return ServiceCommandError.Invalid("The deploy request is invalid.", [.. e.Inputs.Select(x => DeployValidation.PipelineInputError(pipeline, x))]);
        }
    }

    /// <summary>The input of any of the service's pipelines: every fact of its desired state the pipeline declares.</summary>
    private static JsonObject PipelineInput(ServiceRecord service, CompiledWorkflow pipeline) => PipelineInput(service.Desired, service.ModelName, pipeline);

    /// <summary>The input a pipeline gets from a desired state: every fact of it the pipeline declares, under the deploy request's field names.</summary>
    internal static JsonObject PipelineInput(ServiceDesiredState desired, string modelName, CompiledWorkflow pipeline) =>
        DeployRequestValidator.ToPipelineInput(
            desired.ToRequest(modelName), desired.ServiceId, desired.Shimlet, pipeline.Definition.Inputs.Select(i => i.Name));

    /// <summary>Starts the undeploy pipeline, unless it already runs for the service.</summary>
    public async Task StartUndeployAsync(string serviceId, string? previousInstanceId, string @operator, CancellationToken cancellationToken)
    {
        var service = await store.GetAsync(serviceId, cancellationToken);
        var pipeline = service is null ? null : await definitions.GetCompiledAsync(options.Value.UndeployPipeline, null, cancellationToken);
        if (service is null)
        {
            return;
        }

        if (pipeline is null)
        {
            await store.TransitionAsync(serviceId, ServiceTrigger.StopFailed, $"the undeploy pipeline '{options.Value.UndeployPipeline}' is not loaded", @operator, s =>
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
    /// <paramref name="previousInstanceId"/> (so an operation is never started twice), then starts it; a definition that refuses the input ends the operation at once.
    /// </summary>
    public async Task StartOperationAsync(
        string serviceId, string? previousInstanceId, ServiceOperation operation, CompiledWorkflow pipeline, string @operator, CancellationToken cancellationToken)
    {
        var instanceId = WorkflowEngine.NewInstanceId();
        if (await store.ClaimOperationAsync(serviceId, previousInstanceId, operation, instanceId, cancellationToken) is not { } service)
        {
            return; // Gone, or another operation started meanwhile (an undeploy is not started twice).
        }

        try
        {
            await engine.StartAsync(new StartRequest(pipeline.DefinitionId, PipelineInput(service, pipeline), @operator, pipeline.Version, serviceId, instanceId), cancellationToken);
        }
        catch (InputInvalidException e)
        {
            var trigger = operation == ServiceOperation.Undeploy ? ServiceTrigger.StopFailed : ServiceTrigger.ScaleFailed;
            await store.TransitionAsync(serviceId, trigger, $"the {pipeline.DefinitionId} pipeline refused its input: {e.Message}", "pipeline", s =>
            {
                s.LastErrorType = "PipelineInputInvalid";
                s.LastError = $"The {pipeline.DefinitionId} pipeline refused its input: {e.Message} Check the definition's inputs.";
            }, cancellationToken);
        }
    }
}
