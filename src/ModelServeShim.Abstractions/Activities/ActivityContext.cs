using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.Abstractions.Activities;

/// <summary>Everything an activity may know about the attempt it runs in.</summary>
public abstract class ActivityContext
{
    /// <summary>The workflow instance this step belongs to.</summary>
    public abstract string InstanceId { get; }

    /// <summary>The workflow definition id.</summary>
    public abstract string DefinitionId { get; }

    /// <summary>The step's id in the definition (for pipelines, the step name, e.g. <c>model-validation</c>).</summary>
    public abstract string ActivityId { get; }

    /// <summary>The attempt number, starting at 1.</summary>
    public abstract int Attempt { get; }

    /// <summary>The correlation id of the instance (for deployments, the service id).</summary>
    public abstract string? CorrelationId { get; }

    /// <summary>Who started the instance (the API key's name, or <c>anonymous</c>).</summary>
    public abstract string Operator { get; }

    /// <summary>The instance's input, as given when it started.</summary>
    public abstract JsonObject WorkflowInput { get; }

    /// <summary>Cancelled when the attempt times out or the instance is cancelled.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>The clock. Activities never read the wall clock or sleep directly.</summary>
    public abstract TimeProvider TimeProvider { get; }

    /// <summary>Services of the host.</summary>
    public abstract IServiceProvider Services { get; }

    /// <summary>
    /// The signal (or timeout) this attempt resumes from, when the step suspended earlier
    /// (<see cref="ActivityResult.Suspend"/>); null on a first run.
    /// </summary>
    public virtual SignalDelivery? Signal => null;

    /// <summary>Sets an output of this step, readable by later steps as <c>steps["id"].output.name</c>.</summary>
    public abstract void SetOutput(string name, JsonNode? value);

    /// <summary>
    /// Writes a journal entry for this step. The operator, step and attempt are added by the runtime;
    /// <paramref name="properties"/> carries structured data (parameters, durations, sizes).
    /// </summary>
    public abstract void Log(LogLevel level, string message, IReadOnlyDictionary<string, object?>? properties = null);
}
