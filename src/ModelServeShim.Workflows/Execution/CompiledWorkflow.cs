using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Templates;
using Polly;
using Polly.Retry;
using Polly.Timeout;

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

/// <summary>Turns definitions into <see cref="CompiledWorkflow"/>s.</summary>
public sealed class WorkflowCompiler(ActivityRegistry registry, TimeProvider timeProvider)
{
    /// <summary>The key under which the step's run state travels in the Polly context.</summary>
    internal static readonly ResiliencePropertyKey<StepRun> StepRunKey = new("modelserveshim.step");

    /// <summary>Validates and compiles.</summary>
    /// <exception cref="DefinitionInvalidException">The definition has errors.</exception>
    public CompiledWorkflow Compile(WorkflowDefinition definition, int version)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new WorkflowValidator(registry).Validate(definition);
        if (errors.Count > 0)
        {
            throw new DefinitionInvalidException(definition.DefinitionId, errors);
        }

        var root = definition.Root!;
        var incoming = root.Activities.ToDictionary(a => a.Id, _ => new List<(string, string)>());
        var failurePorts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in root.Connections)
        {
            var port = c.Source!.Port ?? Outcomes.Done;
            incoming[c.Target!.Activity].Add((c.Source.Activity, port));
            if (port == Outcomes.Failed)
            {
                failurePorts.Add(c.Source.Activity);
            }
        }

        var steps = new Dictionary<string, CompiledStep>(StringComparer.Ordinal);
        foreach (var a in root.Activities)
        {
            registry.TryGet(a.Type, out var descriptor);
            var timeout = a.Timeout is null ? (TimeSpan?)null : Parse(a.Timeout);
            steps[a.Id] = new CompiledStep
            {
                Id = a.Id,
                Definition = a,
                Descriptor = descriptor!,
                Inputs = CompileInputs(a, descriptor!),
                Pipeline = BuildPipeline(a.Retry, timeout),
                Timeout = timeout,
                MaxAttempts = a.Retry?.MaxAttempts ?? 1,
                Incoming = incoming[a.Id],
                HandlesFailure = failurePorts.Contains(a.Id),
            };
        }

        return new CompiledWorkflow(definition, version, TopologicalOrder(root, steps));
    }

    private static List<CompiledStep> TopologicalOrder(FlowchartDefinition root, Dictionary<string, CompiledStep> steps)
    {
        var order = new List<CompiledStep>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        while (order.Count < steps.Count)
        {
            foreach (var a in root.Activities)
            {
                if (!done.Contains(a.Id) && steps[a.Id].Incoming.All(i => done.Contains(i.Source)))
                {
                    done.Add(a.Id);
                    order.Add(steps[a.Id]);
                }
            }
        }

        return order;
    }

    private static List<CompiledInput> CompileInputs(ActivityDefinition a, ActivityDescriptor descriptor)
    {
        var inputs = new List<CompiledInput>();
        foreach (var input in descriptor.Inputs)
        {
            if (a.Inputs.TryGetValue(input.Name, out var value))
            {
                if (InputReference.IsReference(value) && InputReference.TryParse(value, out var reference, out _))
                {
                    inputs.Add(new CompiledInput(input, null, null, reference));
                    continue;
                }

                if (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String
                    && TemplateEngine.IsTemplate(v.GetValue<string>())
                    && TemplateEngine.TryParse(v.GetValue<string>(), out var template, out _))
                {
                    inputs.Add(new CompiledInput(input, null, template));
                    continue;
                }

                inputs.Add(new CompiledInput(input, value?.DeepClone(), null));
            }
            else if (input.Default is not null)
            {
                inputs.Add(new CompiledInput(input, input.Default.DeepClone(), null));
            }
        }

        return inputs;
    }

    private ResiliencePipeline BuildPipeline(RetryDefinition? retry, TimeSpan? timeout)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (retry is { MaxAttempts: > 1 })
        {
            var delay = retry.Delay is null ? TimeSpan.FromSeconds(1) : Parse(retry.Delay);
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                Delay = delay,
                MaxDelay = retry.MaxDelay is null ? null : Parse(retry.MaxDelay),
                BackoffType = retry.Backoff switch
                {
                    "constant" => DelayBackoffType.Constant,
                    "linear" => DelayBackoffType.Linear,
                    _ => DelayBackoffType.Exponential,
                },
                UseJitter = retry.Jitter,
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e
                    && !args.Context.CancellationToken.IsCancellationRequested
                    && StepErrors.Classify(e).Retryable),
                OnRetry = static args => args.Context.Properties.GetValue(StepRunKey, null!)
                    .OnRetryAsync(args.Outcome.Exception!, args.AttemptNumber, args.RetryDelay),
            });
        }

        if (timeout is { } t)
        {
            builder.AddTimeout(new TimeoutStrategyOptions { Timeout = t });
        }

        return builder.Build();
    }

    private static TimeSpan Parse(string duration) =>
        Durations.TryParse(duration, out var value) ? value : throw new InvalidOperationException($"Unvalidated duration '{duration}'.");
}

/// <summary>A definition failed validation.</summary>
public sealed class DefinitionInvalidException(string definitionId, IReadOnlyList<ValidationError> errors)
    : Exception($"Workflow definition '{definitionId}' is invalid: {string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}"))}")
{
    /// <summary>The errors.</summary>
    public IReadOnlyList<ValidationError> Errors { get; } = errors;
}

/// <summary>Maps exceptions to step error data, without reading messages to decide anything.</summary>
public static class StepErrors
{
    /// <summary>The error type, message and retryability of an exception from a step attempt.</summary>
    public static (string ErrorType, string Message, bool Retryable, bool TimedOut) Classify(Exception e) => e switch
    {
        TimeoutRejectedException t => (StepErrorTypes.Timeout, $"The attempt exceeded the step's timeout of {Durations.Format(t.Timeout)}.", true, true),
        StepException s => (s.ErrorType, s.Message, s.Retryable, false),
        TemplateEvaluationException x => (StepErrorTypes.InvalidInput, x.Message, false, false),
        OperationCanceledException => (StepErrorTypes.Cancelled, "The step was cancelled.", false, false),
        _ => (e.GetType().Name, e.Message, true, false),
    };
}
