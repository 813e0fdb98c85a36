using System.Reflection;
using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Activities;

/// <summary>What the registry knows about an activity type; served to the designer's palette.</summary>
public sealed record ActivityDescriptor
{
    /// <summary>The type name used in workflow JSON.</summary>
    public required string Type { get; init; }

    /// <summary>The activity type's version.</summary>
    public required int Version { get; init; }

    /// <summary>The palette category.</summary>
    public required string Category { get; init; }

    /// <summary>The name shown in the designer.</summary>
    public required string DisplayName { get; init; }

    /// <summary>Help text.</summary>
    public string? Description { get; init; }

    /// <summary>Typed inputs.</summary>
    public required IReadOnlyList<InputDescriptor> Inputs { get; init; }

    /// <summary>Declared outputs.</summary>
    public required IReadOnlyList<OutputDescriptor> Outputs { get; init; }

    /// <summary>Outcome ports, always including <c>Done</c> and <c>Failed</c>.</summary>
    public required IReadOnlyList<string> Outcomes { get; init; }

    /// <summary>Where the type comes from: <c>builtin</c> or a plugin's name.</summary>
    public required string Source { get; init; }

    /// <summary>The CLR type (not serialized).</summary>
    // Not `required`: System.Text.Json refuses a [JsonIgnore] member marked required ("marked required but does not
    // specify a setter"), which made every serialization of descriptors throw. The registry always sets it.
    [System.Text.Json.Serialization.JsonIgnore]
    public Type ClrType { get; init; } = null!;

    /// <summary>Creates the activity for one attempt (not serialized).</summary>
    // Not `required`: System.Text.Json refuses a [JsonIgnore] member marked required ("marked required but does not
    // specify a setter"), which made every serialization of descriptors throw. The registry always sets it.
    [System.Text.Json.Serialization.JsonIgnore]
    public Func<IServiceProvider, Activity> Factory { get; init; } = null!;
}

/// <summary>One input of an activity type.</summary>
public sealed record InputDescriptor
{
    /// <summary>The JSON name.</summary>
    public required string Name { get; init; }

    /// <summary><c>string</c>, <c>integer</c>, <c>number</c>, <c>boolean</c>, <c>duration</c>, <c>object</c>, <c>array</c> or <c>enum</c>.</summary>
    public required string Type { get; init; }

    /// <summary>Allowed values of an <c>enum</c> input.</summary>
    public IReadOnlyList<string>? Options { get; init; }

    /// <summary>Whether definitions must set it.</summary>
    public bool Required { get; init; }

    /// <summary>The default when not set.</summary>
    public JsonNode? Default { get; init; }

    /// <summary>Help text.</summary>
    public string? Description { get; init; }

    /// <summary>A hint for the designer's editor.</summary>
    public string? UiHint { get; init; }

    /// <summary>The property the value is bound to (not serialized).</summary>
    // Not `required`: System.Text.Json refuses a [JsonIgnore] member marked required ("marked required but does not
    // specify a setter"), which made every serialization of descriptors throw. The registry always sets it.
    [System.Text.Json.Serialization.JsonIgnore]
    public PropertyInfo Property { get; init; } = null!;
}

/// <summary>One output of an activity type.</summary>
/// <param name="Name">The output name.</param>
/// <param name="Type">The output type.</param>
/// <param name="Description">Help text.</param>
/// <param name="Kind">What it means to the control plane (<see cref="OutputKinds"/>), if anything.</param>
public sealed record OutputDescriptor(string Name, string Type, string? Description, string? Kind = null);
