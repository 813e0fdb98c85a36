using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The <c>resource-deployment</c> step: hands the rendered <see cref="DeploymentSpec"/> to the chosen shimlet's
/// <see cref="IShimlet.ApplyAsync"/>, which is idempotent by contract, so running the step again converges
/// on the same resources instead of creating more.
/// </summary>
[Activity(TypeName, Category = "LLM pipeline", DisplayName = "Resource deployment",
    Description = "Creates or updates the service's resources in the environment through the shimlet (idempotent apply).")]
[Output("resourceIds", "array", Description = "The environment's resource ids.", Kind = OutputKinds.ResourceIds)]
[Output("changed", "boolean", Description = "False when everything already matched the spec.")]
[Output("shimlet", "string", Description = "The shimlet used.")]
public sealed class ResourceDeploymentActivity(IShimletProvider shimlets) : Activity
{
    /// <summary>The activity type name.</summary>
    public const string TypeName = "ModelServeShim.Llm.ResourceDeployment";

    /// <summary>The shimlet name.</summary>
    [Input(Required = true, Description = "The shimlet (environment adapter) to deploy with, e.g. k8s.")]
    public string Shimlet { get; set; } = "";

    /// <summary>The deployment spec.</summary>
    [Input(Required = true, Description = "The DeploymentSpec from config-rendering.", UiHint = "json")]
    public JsonObject Spec { get; set; } = [];

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = context.TimeProvider.GetTimestamp();
        var shimlet = FindShimlet(context, shimlets, Shimlet);
        DeploymentSpec spec;
        try
        {
            spec = Spec.Deserialize<DeploymentSpec>(JsonSerializerOptions.Web)
                ?? throw StepJournal.InvalidInput(context, "spec", "expected a DeploymentSpec object, got null.");
        }
        catch (JsonException e)
        {
            throw StepJournal.InvalidInput(context, "spec", $"not a DeploymentSpec: {e.Message}");
        }

        context.Log(LogLevel.Information, $"Applying {spec.ServiceId} with shimlet '{shimlet.Name}'", new Dictionary<string, object?>
        {
            ["shimlet"] = shimlet.Name,
            ["serviceId"] = spec.ServiceId,
            ["namespace"] = spec.Namespace,
            ["runtime"] = spec.Runtime,
            ["image"] = spec.Image,
            ["replicas"] = spec.Replicas,
            ["acceleratorType"] = spec.Resources.AcceleratorType,
            ["acceleratorCount"] = spec.Resources.AcceleratorCount,
        });

        ApplyResult result;
        try
        {
            result = await shimlet.ApplyAsync(spec, context.CancellationToken);
        }
        catch (StepException e)
        {
            context.Log(LogLevel.Error, e.Message, new Dictionary<string, object?> { ["errorType"] = e.ErrorType, ["retryable"] = e.Retryable, ["shimlet"] = shimlet.Name });
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ShimletFailed, $"Shimlet '{shimlet.Name}' failed to apply {spec.ServiceId}: {e.GetType().Name}: {e.Message}", retryable: true,
                new Dictionary<string, object?> { ["shimlet"] = shimlet.Name, ["exception"] = e.GetType().FullName }, e);
        }

        context.SetOutput("resourceIds", new JsonArray([.. result.ResourceIds.Select(id => (JsonNode?)JsonValue.Create(id))]));
        context.SetOutput("changed", result.Changed);
        context.SetOutput("shimlet", shimlet.Name);
        context.Log(LogLevel.Information, result.Changed ? $"Applied {result.ResourceIds.Count} resource(s)" : "Already up to date: nothing changed", new Dictionary<string, object?>
        {
            ["resourceIds"] = result.ResourceIds,
            ["changed"] = result.Changed,
            ["durationMs"] = StepJournal.ElapsedMs(context, started),
        });
        return ActivityResult.Done;
    }

    /// <summary>Finds a shimlet or fails with <see cref="LlmErrorTypes.UnknownShimlet"/> listing the names.</summary>
    internal static IShimlet FindShimlet(ActivityContext context, IShimletProvider shimlets, string name)
    {
        if (!string.IsNullOrWhiteSpace(name) && shimlets.Find(name.Trim()) is { } shimlet)
        {
            return shimlet;
        }

        var names = shimlets.Names;
        throw StepJournal.Fail(context, LlmErrorTypes.UnknownShimlet,
            $"Unknown shimlet '{name}'. Available: {(names.Count > 0 ? string.Join(", ", names) : "none (no shimlet is registered)")}.",
            retryable: false, new Dictionary<string, object?> { ["shimlet"] = name, ["available"] = names });
    }
}
