using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ModelServeShim.Workflows.Definitions;

/// <summary>
/// A workflow definition as written in JSON (shaped like Elsa 3: a flowchart root with activities and
/// connections between their ports). Deserialized strictly: unknown properties are errors.
/// </summary>
public sealed record WorkflowDefinition
{
    /// <summary>The stable id; for pipelines the pipeline name (e.g. <c>opensourcellm</c>).</summary>
    public string DefinitionId { get; init; } = "";

    /// <summary>A human name.</summary>
    public string? Name { get; init; }

    /// <summary>What the workflow does.</summary>
    public string? Description { get; init; }

    /// <summary>Assigned by the server when saved; ignored on input.</summary>
    public int? Version { get; init; }

    /// <summary>The inputs the workflow accepts when started.</summary>
    public IReadOnlyList<WorkflowInputDefinition> Inputs { get; init; } = [];

    /// <summary>The root flowchart.</summary>
    public FlowchartDefinition? Root { get; init; }
}

/// <summary>A declared workflow input.</summary>
public sealed record WorkflowInputDefinition
{
    /// <summary>The name, used as <c>input.name</c> in templates.</summary>
    public string Name { get; init; } = "";

    /// <summary>One of <c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c>, <c>object</c>, <c>array</c>, <c>duration</c>.</summary>
    public string Type { get; init; } = "string";

    /// <summary>Whether a start request must give it.</summary>
    public bool Required { get; init; }

    /// <summary>The value used when a start request omits it.</summary>
    public JsonNode? Default { get; init; }

    /// <summary>Help text.</summary>
    public string? Description { get; init; }
}

/// <summary>The flowchart: the only root type.</summary>
public sealed record FlowchartDefinition
{
    /// <summary>Must be <c>Flowchart</c>.</summary>
    public string Type { get; init; } = "Flowchart";

    /// <summary>The steps.</summary>
    public IReadOnlyList<ActivityDefinition> Activities { get; init; } = [];

    /// <summary>Edges from a source activity's outcome port to a target activity.</summary>
    public IReadOnlyList<ConnectionDefinition> Connections { get; init; } = [];
}

/// <summary>One step of a flowchart.</summary>
public sealed record ActivityDefinition
{
    /// <summary>Unique within the definition; for pipelines, the step name.</summary>
    public string Id { get; init; } = "";

    /// <summary>The activity type (see <c>GET /api/v1/activities</c>).</summary>
    public string Type { get; init; } = "";

    /// <summary>The activity type's version; null means the latest.</summary>
    public int? Version { get; init; }

    /// <summary>The name shown in the designer and logs.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Input values: JSON literals, or strings with Liquid templates (<c>{{ input.modelFile }}</c>).</summary>
    public IReadOnlyDictionary<string, JsonNode?> Inputs { get; init; } = new Dictionary<string, JsonNode?>();

    /// <summary>Retry settings; absent means one attempt.</summary>
    public RetryDefinition? Retry { get; init; }

    /// <summary>Timeout of each attempt, e.g. <c>30s</c>, <c>5m</c>, <c>PT1M</c>; absent means none.</summary>
    public string? Timeout { get; init; }

    /// <summary>Free-form metadata; <c>designer.position</c> holds the node's position.</summary>
    public JsonObject? Metadata { get; init; }
}

/// <summary>Retry settings of a step, applied by the runtime with Polly.</summary>
public sealed record RetryDefinition
{
    /// <summary>Total attempts including the first (1 to 100).</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>The base delay between attempts, e.g. <c>2s</c>.</summary>
    public string? Delay { get; init; }

    /// <summary><c>constant</c>, <c>linear</c> or <c>exponential</c>.</summary>
    public string Backoff { get; init; } = "exponential";

    /// <summary>The largest delay, e.g. <c>1m</c>.</summary>
    public string? MaxDelay { get; init; }

    /// <summary>Randomise delays to avoid thundering herds.</summary>
    public bool Jitter { get; init; }
}

/// <summary>An edge of the flowchart.</summary>
public sealed record ConnectionDefinition
{
    /// <summary>The source activity and port.</summary>
    public Endpoint? Source { get; init; }

    /// <summary>The target activity (its port is its input; may be omitted).</summary>
    public Endpoint? Target { get; init; }
}

/// <summary>One end of a connection.</summary>
public sealed record Endpoint
{
    /// <summary>The activity id.</summary>
    public string Activity { get; init; } = "";

    /// <summary>The port; defaults to <c>Done</c> on a source.</summary>
    [JsonPropertyName("port")]
    public string? Port { get; init; }
}
