using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelServeShim.ControlPlane;

/// <summary>
/// What a service should be: model, resources, replicas, runtime, placement, labels and the pipeline (with its
/// version) that makes it so. It is the single owner of these facts: scale changes it, a redeploy runs the pipeline
/// with it, the views show it, and every change is kept in <see cref="ServiceDesiredStateChange"/>.
/// </summary>
public sealed class ServiceDesiredState
{
    /// <summary>The service (key; one record per service).</summary>
    public string ServiceId { get; set; } = "";

    /// <summary>Increases with every change; the history entry of a change carries it.</summary>
    public int Generation { get; set; }

    /// <summary>The model file or directory as requested.</summary>
    public string ModelFile { get; set; } = "";

    /// <summary>Resources per replica.</summary>
    public ResourceRequirements Resources { get; set; } = new();

    /// <summary>Replicas wanted.</summary>
    public int Replicas { get; set; } = 1;

    /// <summary>The runtime profile, when chosen.</summary>
    public string? Runtime { get; set; }

    /// <summary>The shimlet (fixed for the service's life: its resources live there).</summary>
    public string Shimlet { get; set; } = "";

    /// <summary>The namespace, when given (fixed like the shimlet).</summary>
    public string? Namespace { get; set; }

    /// <summary>Extra labels for the service's resources.</summary>
    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>The deploy pipeline (workflow definition id).</summary>
    public string Pipeline { get; set; } = "";

    /// <summary>The pipeline version the service was last deployed with.</summary>
    public int PipelineVersion { get; set; }

    /// <summary>How to quantize, for pipelines that take it.</summary>
    public QuantizationRequest? Quantization { get; set; }

    /// <summary>Verify checksums before deploying; null when the request did not say.</summary>
    public bool? VerifyChecksums { get; set; }

    /// <summary>The SHA-256 of the model's files as the request gave them, for pipelines that take them.</summary>
    public Dictionary<string, string>? Checksums { get; set; }

    /// <summary>Render without applying; null when the request did not say.</summary>
    public bool? DryRun { get; set; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Who last changed it.</summary>
    public string UpdatedBy { get; set; } = "";

    /// <summary>The accelerator type per replica (from <see cref="Resources"/>).</summary>
    public string? AcceleratorType => Resources.AcceleratorType;

    /// <summary>Accelerators per replica (from <see cref="Resources"/>).</summary>
    public int AcceleratorCount => Resources.AcceleratorCount ?? 0;

    /// <summary>The desired state of a validated deploy request.</summary>
    public static ServiceDesiredState From(string serviceId, DeployRequest request, string shimlet, string pipeline, int pipelineVersion, DateTimeOffset at, string by)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new()
        {
            ServiceId = serviceId,
            Generation = 1,
            ModelFile = request.ModelFile!,
            Resources = request.ResourceRequirements!,
            Replicas = request.ReplicaCount ?? 1,
            Runtime = request.Runtime,
            Shimlet = shimlet,
            Namespace = request.Namespace,
            Labels = request.Labels,
            Pipeline = pipeline,
            PipelineVersion = pipelineVersion,
            Quantization = request.Quantization,
            VerifyChecksums = request.VerifyChecksums,
            Checksums = request.Checksums,
            DryRun = request.DryRun,
            UpdatedAt = at,
            UpdatedBy = by,
        };
    }

    /// <summary>The desired state as a deploy request (what the pipeline input is built from, and what the views show).</summary>
    public DeployRequest ToRequest(string modelName) => new()
    {
        ModelName = modelName,
        ModelFile = ModelFile,
        ResourceRequirements = Resources,
        ReplicaCount = Replicas,
        Shimlet = Shimlet,
        Pipeline = Pipeline,
        Runtime = Runtime,
        Namespace = Namespace,
        Labels = Labels,
        DryRun = DryRun,
        Quantization = Quantization,
        VerifyChecksums = VerifyChecksums,
        Checksums = Checksums,
    };

    /// <summary>A snapshot for the history.</summary>
    public JsonObject Snapshot(string modelName)
    {
        var node = JsonSerializer.SerializeToNode(ToRequest(modelName), DeployRequestValidator.Json)!.AsObject();
        node["pipelineVersion"] = PipelineVersion;
        return node;
    }

    /// <summary>Records a change: bumps the generation and returns the history entry describing it.</summary>
    public ServiceDesiredStateChange Change(string modelName, string what, DateTimeOffset at, string by)
    {
        Generation++;
        UpdatedAt = at;
        UpdatedBy = by;
        return ServiceDesiredStateChange.Of(this, modelName, what);
    }
}

/// <summary>One change of a service's desired state: who changed what, when, and the state after it.</summary>
public sealed class ServiceDesiredStateChange
{
    /// <summary>Store id.</summary>
    public long Id { get; set; }

    /// <summary>The service.</summary>
    public string ServiceId { get; set; } = "";

    /// <summary>The generation the change produced.</summary>
    public int Generation { get; set; }

    /// <summary>When.</summary>
    public DateTimeOffset At { get; set; }

    /// <summary>Who (API key name).</summary>
    public string Operator { get; set; } = "";

    /// <summary>What changed, e.g. <c>replicas 1 → 3</c>.</summary>
    public string Change { get; set; } = "";

    /// <summary>The desired state after the change, as JSON.</summary>
    public string StateJson { get; set; } = "{}";

    /// <summary>The entry for the desired state as it is now.</summary>
    public static ServiceDesiredStateChange Of(ServiceDesiredState desired, string modelName, string what)
    {
        ArgumentNullException.ThrowIfNull(desired);
        return new()
        {
            ServiceId = desired.ServiceId,
            Generation = desired.Generation,
            At = desired.UpdatedAt,
            Operator = desired.UpdatedBy,
            Change = what,
            StateJson = desired.Snapshot(modelName).ToJsonString(),
        };
    }
}
