using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Templates;
using Polly;

namespace ModelServeShim.Workflows.Execution;

/// <summary>A validated definition version, ready to run: graph indexes, parsed templates, resilience pipelines.</summary>
public sealed class CompiledWorkflow
{
    internal CompiledWorkflow(WorkflowDefinition definition, int version, IReadOnlyList<CompiledStep> steps)
    {
        Definition = definition;
        Version = version;
        Order = steps;
        Steps = steps.ToDictionary(s => s.Id, StringComparer.Ordinal);
    }

    /// <summary>The definition.</summary>
    public WorkflowDefinition Definition { get; }

    /// <summary>The definition id.</summary>
    public string DefinitionId => Definition.DefinitionId;

    /// <summary>The version.</summary>
    public int Version { get; }

    /// <summary>Steps by id.</summary>
    public IReadOnlyDictionary<string, CompiledStep> Steps { get; }

    /// <summary>Steps in topological order (start first).</summary>
    public IReadOnlyList<CompiledStep> Order { get; }
}

/// <summary>One step, ready to run.</summary>
public sealed class CompiledStep
{
    /// <summary>The step id.</summary>
    public required string Id { get; init; }

    /// <summary>Its definition.</summary>
    public required ActivityDefinition Definition { get; init; }

    /// <summary>Its activity type.</summary>
    public required ActivityDescriptor Descriptor { get; init; }

    /// <summary>Inputs with literals, templates and defaults.</summary>
    public required IReadOnlyList<CompiledInput> Inputs { get; init; }

    /// <summary>Retry and timeout, built once per definition version.</summary>
    public required ResiliencePipeline Pipeline { get; init; }

    /// <summary>The per-attempt timeout, if any.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Total attempts allowed.</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>Connections into this step.</summary>
    public required IReadOnlyList<(string Source, string Port)> Incoming { get; init; }

    /// <summary>Whether a <c>Failed</c> connection handles this step's failure.</summary>
    public required bool HandlesFailure { get; init; }
}

/// <summary>An input of a step: a literal, a template or a typed reference.</summary>
/// <param name="Descriptor">The input's descriptor.</param>
/// <param name="Literal">The literal (or default) value.</param>
/// <param name="Template">The template, when the value is one.</param>
/// <param name="Reference">The typed reference, when the value is one.</param>
public sealed record CompiledInput(InputDescriptor Descriptor, JsonNode? Literal, ParsedTemplate? Template, InputReference? Reference = null);
