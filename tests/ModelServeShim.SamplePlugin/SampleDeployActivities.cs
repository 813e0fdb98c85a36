using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.SamplePlugin;

/// <summary>
/// Describes a model the way a third-party inspector would, under its own output names: the control plane learns the
/// facts from the declared kinds, not from the names.
/// </summary>
[Activity("Sample.InspectModel", Category = "Sample", Description = "Reports made-up facts about a model file.")]
[Output("summary", "object", Description = "architecture, parameterCount, file.", Kind = OutputKinds.ModelFacts)]
[Output("estimate", "object", Description = "totalBytes, fits.", Kind = OutputKinds.MemoryEstimate)]
public sealed class InspectModelActivity : Activity
{
    /// <summary>The model file.</summary>
    [Input(Required = true, Description = "The model file.")]
    public string ModelFile { get; set; } = "";

    /// <inheritdoc />
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetOutput("summary", new JsonObject { ["architecture"] = "sample", ["parameterCount"] = 42, ["file"] = ModelFile });
        context.SetOutput("estimate", new JsonObject { ["totalBytes"] = 4096, ["fits"] = true });
        return ValueTask.FromResult(ActivityResult.Done);
    }
}

/// <summary>Applies a minimal spec through a shimlet and reports where the service answers, under its own output names.</summary>
/// <param name="shimlets">The host's shimlets (plugins get host services through their constructor).</param>
[Activity("Sample.Provision", Category = "Sample", Description = "Applies a minimal spec through a shimlet; reports its URL and resource handles.")]
[Output("url", "string", Description = "Where the service answers.", Kind = OutputKinds.Endpoint)]
[Output("handles", "array", Description = "The resource ids.", Kind = OutputKinds.ResourceIds)]
public sealed class ProvisionActivity(IShimletProvider shimlets) : Activity
{
    /// <summary>The service id.</summary>
    [Input(Required = true, Description = "The service id.")]
    public string ServiceId { get; set; } = "";

    /// <summary>The model name.</summary>
    [Input(Required = true, Description = "The model name.")]
    public string ModelName { get; set; } = "";

    /// <summary>The model file.</summary>
    [Input(Required = true, Description = "The model file.")]
    public string ModelFile { get; set; } = "";

    /// <summary>The shimlet.</summary>
    [Input(Required = true, Description = "The shimlet.")]
    public string Shimlet { get; set; } = "";

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var shimlet = shimlets.Find(Shimlet) ?? throw StepException.NonRetryable("UnknownShimlet", $"No shimlet '{Shimlet}'.");
        var applied = await shimlet.ApplyAsync(new DeploymentSpec
        {
            ServiceId = ServiceId, ModelName = ModelName, Runtime = "sample", ModelPath = ModelFile, Resources = new ResourceSpec("1", "1Gi", null, 0),
        }, context.CancellationToken);
        var status = await shimlet.GetStatusAsync(new ServiceTarget(ServiceId, null), context.CancellationToken);
        context.SetOutput("url", status.Endpoint?.ToString());
        context.SetOutput("handles", new JsonArray([.. applied.ResourceIds.Select(id => (JsonNode?)JsonValue.Create(id))]));
        return ActivityResult.Done;
    }
}
