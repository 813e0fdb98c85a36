using System.Text.Json.Nodes;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Templates;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace ModelServeShim.Workflows.Execution;

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
