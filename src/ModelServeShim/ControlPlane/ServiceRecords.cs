using System.Text.Json.Serialization;

namespace ModelServeShim.ControlPlane;

/// <summary>The lifecycle states of a model service.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ServiceState>))]
public enum ServiceState
{
    /// <summary>Accepted; the pipeline has not started.</summary>
    Initializing,
    /// <summary>Pipeline steps that are neither deployment nor health checking are running.</summary>
    PipelineRunning,
    /// <summary>Resources are being created in the environment.</summary>
    Deploying,
    /// <summary>Waiting for the service to answer.</summary>
    HealthChecking,
    /// <summary>Serving.</summary>
    Running,
    /// <summary>The pipeline failed; see the last error.</summary>
    Failed,
    /// <summary>Was running, now unhealthy.</summary>
    Degraded,
    /// <summary>The scale pipeline is changing its replica count.</summary>
    Scaling,
    /// <summary>Being removed.</summary>
    Stopping,
    /// <summary>Removed (or a dry run that deployed nothing).</summary>
    Stopped,
    /// <summary>The deploy pipeline waits for a person's sign-off (an approval step); nothing is deployed yet.</summary>
    AwaitingApproval,
}

/// <summary>The lifecycle operations, each run as a pipeline.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ServiceOperation>))]
public enum ServiceOperation
{
    /// <summary>The deploy pipeline (deploy and redeploy).</summary>
    Deploy,
    /// <summary>The scale pipeline.</summary>
    Scale,
    /// <summary>The undeploy pipeline.</summary>
    Undeploy,
}

/// <summary>A model service.</summary>
public sealed class ServiceRecord
{
    /// <summary><c>modelName-uuid</c>.</summary>
    public string Id { get; set; } = "";

    /// <summary>The model name (DNS-1123 label).</summary>
    public string ModelName { get; set; } = "";

    /// <summary>The state.</summary>
    public ServiceState State { get; set; }

    /// <summary>What the service should be: the one record scale, redeploy, the views and the pipelines read (always loaded).</summary>
    public ServiceDesiredState Desired { get; set; } = new();

    /// <summary>The latest pipeline instance, of any operation (what the pipeline view shows).</summary>
    public string? InstanceId { get; set; }

    /// <summary>The operation <see cref="InstanceId"/> runs.</summary>
    public ServiceOperation Operation { get; set; }

    /// <summary>The latest deploy pipeline instance (model facts, resource ids, the rendered spec).</summary>
    public string? DeployInstanceId { get; set; }

    /// <summary>The endpoint once known.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Who deployed it.</summary>
    public string CreatedBy { get; set; } = "";

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When its state last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The last error type.</summary>
    public string? LastErrorType { get; set; }

    /// <summary>The last error message (the diagnosis).</summary>
    public string? LastError { get; set; }

    /// <summary>The step the last error came from.</summary>
    public string? LastErrorStep { get; set; }

    /// <summary>Concurrency token: state changes never overwrite each other.</summary>
    public long Revision { get; set; }
}

/// <summary>One entry of a service's history.</summary>
public sealed class ServiceTransitionRecord
{
    /// <summary>Store id.</summary>
    public long Id { get; set; }

    /// <summary>The service.</summary>
    public string ServiceId { get; set; } = "";

    /// <summary>When.</summary>
    public DateTimeOffset At { get; set; }

    /// <summary>The state before (null for the first entry).</summary>
    public ServiceState? From { get; set; }

    /// <summary>The state after (equal to From for events that do not change state, such as a scale).</summary>
    public ServiceState To { get; set; }

    /// <summary>What caused it.</summary>
    public string Reason { get; set; } = "";

    /// <summary>Who caused it (API key name, or <c>pipeline</c>/<c>health-monitor</c>).</summary>
    public string Operator { get; set; } = "";
}

/// <summary>
/// One entry of a service's health journal: a probe by the health monitor (recorded when its result changes, else at
/// most once per <see cref="ControlPlaneOptions.HealthJournalInterval"/>) or a Degraded↔Running transition it caused.
/// </summary>
public sealed class ServiceHealthRecord
{
    /// <summary>Store id.</summary>
    public long Id { get; set; }

    /// <summary>The service.</summary>
    public string ServiceId { get; set; } = "";

    /// <summary>When.</summary>
    public DateTimeOffset At { get; set; }

    /// <summary><c>Probe</c>, <c>HealthLost</c> or <c>HealthRestored</c>.</summary>
    public string Event { get; set; } = "";

    /// <summary>Whether the service was healthy.</summary>
    public bool Healthy { get; set; }

    /// <summary>The phase the shimlet reported.</summary>
    public string Phase { get; set; } = "";

    /// <summary>Ready replicas.</summary>
    public int ReadyReplicas { get; set; }

    /// <summary>Desired replicas (as the shimlet sees them).</summary>
    public int DesiredReplicas { get; set; }

    /// <summary>What the entry says.</summary>
    public string Message { get; set; } = "";

    /// <summary>How many probes with the same result this entry stands for (rate limiting).</summary>
    public int Probes { get; set; } = 1;
}
