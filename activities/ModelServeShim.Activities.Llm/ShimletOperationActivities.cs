using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Activities.Llm;

/// <summary>
/// The common inputs of the shimlet operation steps: a pipeline can call any shimlet operation as a step,
/// with the step's own retry and timeout from the definition.
/// </summary>
public abstract class ShimletOperationActivity(IShimletProvider shimlets) : Activity
{
    /// <summary>The shimlet name.</summary>
    [Input(Required = true, Description = "The shimlet (environment adapter), e.g. k8s or local.")]
    public string Shimlet { get; set; } = "";

    /// <summary>The service id.</summary>
    [Input(Required = true, Description = "The service id, e.g. {{ input.serviceId }}.")]
    public string ServiceId { get; set; } = "";

    /// <summary>The namespace, if the environment has them.</summary>
    [Input(Description = "The namespace; empty for the shimlet's default.")]
    public string? Namespace { get; set; }

    /// <inheritdoc />
    public sealed override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            throw StepJournal.InvalidInput(context, "serviceId", "a service id is required.");
        }

        var shimlet = ResourceDeploymentActivity.FindShimlet(context, shimlets, Shimlet);
        var target = new ServiceTarget(ServiceId, string.IsNullOrWhiteSpace(Namespace) ? null : Namespace);
        var started = context.TimeProvider.GetTimestamp();
        try
        {
            await RunAsync(context, shimlet, target);
        }
        catch (StepException)
        {
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw StepJournal.Fail(context, LlmErrorTypes.ShimletFailed, $"Shimlet '{shimlet.Name}' failed on {ServiceId}: {e.GetType().Name}: {e.Message}", retryable: true,
                new Dictionary<string, object?> { ["shimlet"] = shimlet.Name, ["exception"] = e.GetType().FullName }, e);
        }

        context.Log(LogLevel.Information, $"{GetType().Name.Replace("Activity", "", StringComparison.Ordinal)} of {ServiceId} through '{shimlet.Name}' done",
            new Dictionary<string, object?> { ["shimlet"] = shimlet.Name, ["serviceId"] = ServiceId, ["durationMs"] = StepJournal.ElapsedMs(context, started) });
        return ActivityResult.Done;
    }

    /// <summary>Performs the operation.</summary>
    protected abstract Task RunAsync(ActivityContext context, IShimlet shimlet, ServiceTarget target);
}

/// <summary>Reads a service's status from its shimlet.</summary>
[Activity("ModelServeShim.Shimlet.Status", Category = "Shimlets", DisplayName = "Service status", Description = "Reads the service's status from its shimlet.")]
[Output("phase", "string")]
[Output("readyReplicas", "integer")]
[Output("desiredReplicas", "integer")]
[Output("endpoint", "string", Kind = OutputKinds.Endpoint)]
[Output("reason", "string")]
[Output("message", "string")]
public sealed class ShimletStatusActivity(IShimletProvider shimlets) : ShimletOperationActivity(shimlets)
{
    /// <inheritdoc />
    protected override async Task RunAsync(ActivityContext context, IShimlet shimlet, ServiceTarget target)
    {
        var status = await shimlet.GetStatusAsync(target, context.CancellationToken);
        context.SetOutput("phase", status.Phase.ToString());
        context.SetOutput("readyReplicas", status.ReadyReplicas);
        context.SetOutput("desiredReplicas", status.DesiredReplicas);
        context.SetOutput("endpoint", status.Endpoint?.ToString());
        context.SetOutput("reason", status.Reason.ToString());
        context.SetOutput("message", status.Message);
    }
}

/// <summary>Scales a service through its shimlet.</summary>
[Activity("ModelServeShim.Shimlet.Scale", Category = "Shimlets", DisplayName = "Scale service", Description = "Sets the service's replica count through its shimlet.")]
public sealed class ShimletScaleActivity(IShimletProvider shimlets) : ShimletOperationActivity(shimlets)
{
    /// <summary>The replicas wanted.</summary>
    [Input(Required = true, Description = "Replicas wanted (0 to 1000).")]
    public int Replicas { get; set; }

    /// <inheritdoc />
    protected override Task RunAsync(ActivityContext context, IShimlet shimlet, ServiceTarget target)
    {
        if (Replicas is < 0 or > 1000)
        {
            throw StepJournal.InvalidInput(context, "replicas", $"{Replicas} is out of range: use 0 to 1000.");
        }

        return shimlet.ScaleAsync(target, Replicas, context.CancellationToken);
    }
}

/// <summary>Removes a service's resources through its shimlet.</summary>
[Activity("ModelServeShim.Shimlet.Delete", Category = "Shimlets", DisplayName = "Delete service", Description = "Removes everything the shimlet created for the service (idempotent).")]
public sealed class ShimletDeleteActivity(IShimletProvider shimlets) : ShimletOperationActivity(shimlets)
{
    /// <inheritdoc />
    protected override Task RunAsync(ActivityContext context, IShimlet shimlet, ServiceTarget target) =>
        shimlet.DeleteAsync(target, context.CancellationToken);
}

/// <summary>Reads a service's recent logs into the journal and the step's output.</summary>
[Activity("ModelServeShim.Shimlet.Logs", Category = "Shimlets", DisplayName = "Service logs", Description = "Reads the service's last log lines (all replicas) into the step output and the journal.")]
[Output("lines", "array")]
public sealed class ShimletLogsActivity(IShimletProvider shimlets) : ShimletOperationActivity(shimlets)
{
    /// <summary>How many lines.</summary>
    [Input(DefaultJson = "100", Description = "How many of the last lines to read (1 to 10000).")]
    public int TailLines { get; set; } = 100;

    /// <inheritdoc />
    protected override async Task RunAsync(ActivityContext context, IShimlet shimlet, ServiceTarget target)
    {
        if (TailLines is < 1 or > 10_000)
        {
            throw StepJournal.InvalidInput(context, "tailLines", $"{TailLines} is out of range: use 1 to 10000.");
        }

        var lines = await shimlet.GetLogsAsync(target, TailLines, context.CancellationToken);
        context.SetOutput("lines", new JsonArray([.. lines.Select(l => (JsonNode?)JsonValue.Create(l))]));
        context.Log(LogLevel.Information, $"Last {lines.Count} log line(s) of {target.ServiceId}", new Dictionary<string, object?> { ["lines"] = lines });
    }
}
