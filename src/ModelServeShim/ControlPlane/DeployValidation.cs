using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Activities.Llm;
using ModelServeShim.Hosting;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;
using ModelServeShim.Workflows.Execution;

namespace ModelServeShim.ControlPlane;

/// <summary>A deploy request that passed validation: the shimlet it deploys with and the pipeline (version) it runs.</summary>
/// <param name="Shimlet">The shimlet's name (the request's, or the server's default).</param>
/// <param name="Pipeline">The deploy pipeline's latest version.</param>
public sealed record ValidatedDeploy(string Shimlet, CompiledWorkflow Pipeline);

/// <summary>
/// The one place a deploy request is validated, before anything is stored: its fields
/// (<see cref="DeployRequestValidator.Validate"/>), the model path's confinement to the model roots, the shimlet, the
/// pipeline, the optional fields the pipeline does not take, and the pipeline input the request becomes, bound to the
/// inputs the pipeline declares (<see cref="WorkflowInputs.Check"/>). Every error names the request's own JSON field
/// (<c>resourceRequirements.contextLength</c>): the pipeline input is made of the request's fields under their own
/// names, so an input error names its field by the input's name.
/// </summary>
public sealed class DeployValidation(
    Workflows.Definitions.DefinitionStore definitions,
    IShimletProvider shimlets,
    AcceleratorCatalog catalog,
    ModelPathResolver modelPaths,
    IOptions<ControlPlaneOptions> options,
    IOptions<ShimOptions> shim,
    TimeProvider time)
{
    /// <summary>The shimlet and pipeline of a valid request; Invalid with every field at fault otherwise.</summary>
    public async Task<ServiceCommandResult<ValidatedDeploy>> ValidateAsync(DeployRequest request, CancellationToken cancellationToken)
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
                errors.Add(new(field, $"Pipeline '{pipelineName}' does not take '{field}' (its inputs: {string.Join(", ", declared.Order(StringComparer.Ordinal))}). Remove the field, or choose a pipeline that declares it{(field == "quantization" ? " (quant-llm)" : "")}.{AlwaysVerifies(pipeline, field)}"));
            }
        }

        if (pipeline is not null && errors.Count == 0)
        {
            // The input exactly as the deploy will build it from the desired state (the service id's value stands in:
            // it is a string whatever it is), bound to the pipeline's declared inputs before anything is stored.
            var desired = ServiceDesiredState.From(request.ModelName!, request, shimletName, pipeline.DefinitionId, pipeline.Version, time.GetUtcNow(), "validation");
            var input = ServiceOperations.PipelineInput(desired, request.ModelName!, pipeline);
            errors.AddRange(WorkflowInputs.Check(pipeline.Definition, input).Select(e => PipelineInputError(pipeline, e)));
        }

        return errors.Count > 0
            ? ServiceCommandError.Invalid("The deploy request is invalid.", errors)
            : new ValidatedDeploy(shimletName, pipeline!);
    }

    /// <summary>
    /// For <c>verifyChecksums</c> sent to a pipeline that does not take it but whose checksum-verification step has the
    /// literal <c>true</c> (<c>privatellm</c>): why the field is refused, so the request is not retried elsewhere to skip it.
    /// </summary>
    private static string AlwaysVerifies(CompiledWorkflow pipeline, string field)
    {
        if (field != "verifyChecksums")
        {
            return "";
        }

        var step = pipeline.Order.FirstOrDefault(s => s.Definition.Type == ChecksumVerificationActivity.TypeName
            && s.Definition.Inputs.GetValueOrDefault("verifyChecksums") is JsonValue v && v.TryGetValue(out bool on) && on);
        return step is null ? "" : $" It verifies the model's checksums on every deploy (step '{step.Id}'); they cannot be skipped.";
    }

    /// <summary>
    /// An input the pipeline refused, as an error of the request field of the same name (the pipeline input is made of
    /// the request's fields under their own names); an input that is no request field (<c>serviceId</c>) is the request's as a whole.
    /// </summary>
    public static FieldError PipelineInputError(CompiledWorkflow pipeline, InputError error)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(error);
        return new FieldError(DeployRequestValidator.IsField(error.Input) ? error.Input : "$",
            $"Pipeline '{pipeline.DefinitionId}' v{pipeline.Version}: {error.Message}");
    }
}
