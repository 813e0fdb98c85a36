namespace ModelServeShim.Abstractions.Activities;

/// <summary>Describes an activity type to the registry and the designer's palette.</summary>
/// <param name="type">The type name used in workflow JSON (e.g. <c>ModelServeShim.Log</c>).</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ActivityAttribute(string type) : Attribute
{
    /// <summary>The type name used in workflow JSON.</summary>
    public string Type { get; } = type;

    /// <summary>The palette category.</summary>
    public string Category { get; set; } = "General";

    /// <summary>The name shown in the designer.</summary>
    public string? DisplayName { get; set; }

    /// <summary>What the activity does, shown as help text.</summary>
    public string? Description { get; set; }

    /// <summary>The activity's version; definitions pin it.</summary>
    public int Version { get; set; } = 1;
}

/// <summary>Declares the outcome ports an activity can fire, besides <c>Done</c> and <c>Failed</c>.</summary>
/// <param name="outcomes">Extra port names.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class OutcomesAttribute(params string[] outcomes) : Attribute
{
    /// <summary>Extra port names.</summary>
    public IReadOnlyList<string> Outcomes { get; } = outcomes;
}

/// <summary>Marks a property as an input of the step, settable from workflow JSON.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class InputAttribute : Attribute
{
    /// <summary>Help text for the designer.</summary>
    public string? Description { get; set; }

    /// <summary>Whether the definition must set this input.</summary>
    public bool Required { get; set; }

    /// <summary>The default value, as JSON text (e.g. <c>"5s"</c>, <c>3</c>, <c>"Information"</c>).</summary>
    public string? DefaultJson { get; set; }

    /// <summary>A hint for the designer's editor: <c>singleline</c>, <c>multiline</c>, <c>json</c>, <c>dropdown</c>, <c>path</c>.</summary>
    public string? UiHint { get; set; }

    /// <summary>The name in JSON; defaults to the camel-cased property name.</summary>
    public string? Name { get; set; }
}

/// <summary>Declares an output the step sets with <see cref="ActivityContext.SetOutput"/>.</summary>
/// <param name="name">The output name.</param>
/// <param name="type">The output type: <c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c>, <c>object</c>, <c>array</c>.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class OutputAttribute(string name, string type) : Attribute
{
    /// <summary>The output name.</summary>
    public string Name { get; } = name;

    /// <summary>The output type.</summary>
    public string Type { get; } = type;

    /// <summary>Help text.</summary>
    public string? Description { get; set; }

    /// <summary>
    /// What the output means to the control plane, one of <see cref="OutputKinds"/>; null for an output only later
    /// steps read. The control plane learns a service's facts from outputs of these kinds, whatever the activity.
    /// </summary>
    public string? Kind { get; set; }
}

/// <summary>
/// The facts a deploy pipeline's step can report to the control plane by declaring an output of the kind
/// (<c>[Output("url", "string", Kind = OutputKinds.Endpoint)]</c>). When several steps set one, the last to finish wins.
/// </summary>
public static class OutputKinds
{
    /// <summary>A string: the service's base URL (the service view's endpoint).</summary>
    public const string Endpoint = "endpoint";

    /// <summary>An object: the model's facts (architecture, parameter count, context length, …).</summary>
    public const string ModelFacts = "modelFacts";

    /// <summary>An object: the memory estimate and whether the model fits.</summary>
    public const string MemoryEstimate = "memoryEstimate";

    /// <summary>An array of strings: the environment's resource ids (reported as remaining if an undeploy fails).</summary>
    public const string ResourceIds = "resourceIds";

    /// <summary>A boolean: true when the pipeline deployed nothing on purpose (the service ends Stopped, not Running).</summary>
    public const string DryRun = "dryRun";

    /// <summary>An object: the rendered deployment spec (<c>GET /api/v1/modserv/{id}/manifests</c>).</summary>
    public const string DeploymentSpec = "deploymentSpec";

    /// <summary>
    /// An object: a person's sign-off (<c>decision</c> approve or reject, <c>by</c>, <c>comment</c>, <c>at</c>); the control plane
    /// records it in the service's history.
    /// </summary>
    public const string Approval = "approval";

    /// <summary>Every kind.</summary>
    public static readonly IReadOnlyList<string> All = [Endpoint, ModelFacts, MemoryEstimate, ResourceIds, DryRun, DeploymentSpec, Approval];
}
