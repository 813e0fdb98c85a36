using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.ControlPlane;

/// <summary>Control plane settings (section <c>ControlPlane</c>).</summary>
public sealed class ControlPlaneOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "ControlPlane";

    /// <summary>
    /// Which lifecycle state a step of a given activity type puts the service in while it runs
    /// (<c>Deploying</c>, <c>HealthChecking</c>, <c>AwaitingApproval</c>); any other step means <c>PipelineRunning</c>.
    /// </summary>
    public Dictionary<string, ServiceState> StepStates { get; set; } = new(StringComparer.Ordinal)
    {
        ["ModelServeShim.Approval"] = ServiceState.AwaitingApproval,
        ["ModelServeShim.Llm.ResourceDeployment"] = ServiceState.Deploying,
        ["ModelServeShim.Llm.HealthCheck"] = ServiceState.HealthChecking,
    };

    /// <summary>The pipeline an undeploy runs (a workflow definition id; built in: <c>workflows/undeploy.json</c>).</summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")]
    public string UndeployPipeline { get; set; } = "undeploy";

    /// <summary>The pipeline a scale runs (a workflow definition id; built in: <c>workflows/scale.json</c>).</summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")]
    public string ScalePipeline { get; set; } = "scale";

    /// <summary>How often the health monitor checks Running and Degraded services.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often an unchanged health probe result is journaled per service (a changed result always is). Probes in
    /// between are counted on the last entry.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan HealthJournalInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most replicas a request may ask for.</summary>
    [Range(1, 1000)]
    public int MaxReplicas { get; set; } = 64;

    /// <summary>The most accelerators per replica a request may ask for.</summary>
    [Range(1, 1024)]
    public int MaxAcceleratorsPerReplica { get; set; } = 16;
}
