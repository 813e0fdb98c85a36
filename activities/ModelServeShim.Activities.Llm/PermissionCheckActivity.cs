using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The <c>permission-check</c> step: evaluates the deploy policy (<see cref="DeployPolicyOptions"/>) for the requester
/// (the instance's operator, the API key that started it, with the roles that key has now) and the deploy (model root,
/// model name, accelerators, namespace). A refusal fails the step, not retryable, quoting the rule that decided or the
/// rule that came closest. Reads only, so running it again is harmless.
/// </summary>
[Activity(TypeName, Category = "LLM pipeline", DisplayName = "Permission check",
    Description = "Refuses the deploy unless the deploy policy (Policies:Deploy) allows the requesting API key to deploy this model from this root on these accelerators in this namespace.")]
[Output("allowed", "boolean", Description = "Always true when the step completes (a refusal fails the step).")]
[Output("rule", "string", Description = "The name of the rule that allowed the deploy.")]
[Output("requester", "object", Description = "name and roles of the API key the decision was made for.")]
[Output("policy", "string", Description = "Where the policy came from: the file's path, or Policies:Deploy for inline rules.")]
public sealed class PermissionCheckActivity(
    DeployPolicySource policies,
    IRequesterDirectory requesters,
    ModelPathResolver paths,
    AcceleratorCatalog accelerators) : Activity
{
    /// <summary>The activity type name.</summary>
    public const string TypeName = "ModelServeShim.Llm.PermissionCheck";

    /// <summary>The model (service) name.</summary>
    [Input(Required = true, Description = "The model name the deploy would serve (matched against the rules' modelNames globs).")]
    public string ModelName { get; set; } = "";

    /// <summary>The model file or directory.</summary>
    [Input(Required = true, Description = "A .gguf file or a Hugging Face safetensors directory inside a model root (matched against the rules' modelRoots).", UiHint = "path")]
    public string ModelFile { get; set; } = "";

    /// <summary>The accelerator catalog name.</summary>
    [Input(Description = "Accelerator catalog name; required when acceleratorCount > 0.")]
    public string? AcceleratorType { get; set; }

    /// <summary>Accelerators per replica.</summary>
    [Input(DefaultJson = "0", Description = "Accelerators per replica; 0 serves on CPU.")]
    public int AcceleratorCount { get; set; }

    /// <summary>Replicas.</summary>
    [Input(DefaultJson = "1", Description = "Replicas (for the rules' maxTotalAccelerators).")]
    public int ReplicaCount { get; set; } = 1;

    /// <summary>The namespace; empty for the shimlet's default.</summary>
    [Input(Description = "The namespace; empty or absent: the shimlet's default (matched only by the glob '*').")]
    public string? Namespace { get; set; }

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        CheckInputs(context);
        string modelPath;
        try
        {
            modelPath = paths.Resolve(ModelFile, mustExist: false);
        }
        catch (ModelFormatException e)
        {
            throw StepJournal.Fail(context, ModelValidationActivity.ErrorTypeFor(e.ErrorCode), e.Message, retryable: false, new Dictionary<string, object?> { ["path"] = e.Path });
        }

        string? acceleratorType = null;
        if (AcceleratorCount > 0)
        {
            if (!accelerators.TryGet(AcceleratorType!, out var spec))
            {
                throw StepJournal.Fail(context, LlmErrorTypes.UnknownAccelerator,
                    $"Unknown accelerator '{AcceleratorType}'. Known: {string.Join(", ", accelerators.Entries.Select(e => e.Name))}.", retryable: false);
            }

            acceleratorType = spec.Name;
        }

        (CompiledDeployPolicy policy, string source) loaded;
        try
        {
            loaded = await policies.LoadAsync(context.CancellationToken);
        }
        catch (StepException e)
        {
            throw StepJournal.Fail(context, e.ErrorType, e.Message, e.Retryable, null, e.InnerException);
        }

        var requester = new DeployRequester(context.Operator, requesters.RolesOf(context.Operator));
        var request = new DeployPolicyRequest(ModelName, modelPath, acceleratorType, AcceleratorCount, ReplicaCount, string.IsNullOrEmpty(Namespace) ? null : Namespace);
        var decision = loaded.policy.Evaluate(requester, request);
        var details = new Dictionary<string, object?>
        {
            ["requester"] = requester.Name,
            ["roles"] = requester.Roles,
            ["modelName"] = request.ModelName,
            ["modelPath"] = request.ModelPath,
            ["acceleratorType"] = request.AcceleratorType,
            ["acceleratorCount"] = request.AcceleratorCount,
            ["replicas"] = request.Replicas,
            ["namespace"] = request.Namespace,
            ["policy"] = loaded.source,
            ["rule"] = decision.Rule,
            ["ruleJson"] = decision.RuleJson,
        };
        if (!decision.Allowed)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.PermissionDenied, decision.Reason, retryable: false, details);
        }

        context.Log(LogLevel.Information, decision.Reason, details);
        context.SetOutput("allowed", true);
        context.SetOutput("rule", decision.Rule);
        context.SetOutput("requester", new JsonObject
        {
            ["name"] = requester.Name,
            ["roles"] = new JsonArray([.. requester.Roles.Select(r => (JsonNode?)JsonValue.Create(r))]),
        });
        context.SetOutput("policy", loaded.source);
        return ActivityResult.Done;
    }

    private void CheckInputs(ActivityContext context)
    {
        if (string.IsNullOrWhiteSpace(ModelName))
        {
            throw StepJournal.InvalidInput(context, "modelName", "give the model name the deploy serves.");
        }

        if (string.IsNullOrWhiteSpace(ModelFile))
        {
            throw StepJournal.InvalidInput(context, "modelFile", "give a .gguf file or a Hugging Face model directory inside a model root.");
        }

        if (AcceleratorCount < 0)
        {
            throw StepJournal.InvalidInput(context, "acceleratorCount", $"{AcceleratorCount} is negative; use 0 for CPU.");
        }

        if (AcceleratorCount > 0 && string.IsNullOrWhiteSpace(AcceleratorType))
        {
            throw StepJournal.InvalidInput(context, "acceleratorType", $"required when acceleratorCount is {AcceleratorCount}.");
        }

        if (ReplicaCount < 1)
        {
            throw StepJournal.InvalidInput(context, "replicaCount", $"{ReplicaCount} must be at least 1.");
        }
    }
}
