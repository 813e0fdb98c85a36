using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Templates;
using Polly;

namespace ModelServeShim.Workflows.Execution;

/// <summary>
/// Runs one step of one instance through the step's resilience pipeline and records every attempt.
/// This is the single invoker every step goes through; <see cref="StepRecorder"/> writes what it records.
/// </summary>
internal sealed class StepRun(StepRecorder recorder, InstanceRun run, CompiledStep step)
{
    private StepExecutionRecord? _current;
    private BookmarkRecord? _suspended;
    private SignalDelivery? _signal;

    public InstanceRun Run => run;

    public CompiledStep Step => step;

    /// <summary>Runs the step to its conclusion.</summary>
    public async Task<StepConclusion> ExecuteAsync(CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(WorkflowCompiler.StepRunKey, this);
        try
        {
            var result = await step.Pipeline.ExecuteAsync(
                static (ctx, self) => self.AttemptAsync(ctx.CancellationToken), context, this);
            return _suspended is { } bookmark ? StepConclusion.Suspend(bookmark) : StepConclusion.Success(result);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (run.CancelRequest is { } cancel)
            {
                await recorder.FinishAttemptAsync(run, _current, StepStatus.Cancelled, StepErrorTypes.Cancelled, $"Cancelled: {cancel.Reason} (by {cancel.By}).", false, null, final: true);
            }
            else
            {
                // The server is stopping: the step runs again when the instance resumes.
                await recorder.FinishAttemptAsync(run, _current, StepStatus.Interrupted, StepErrorTypes.Interrupted, "The server stopped while this attempt ran; the step runs again on resume.", true, null, final: false);
            }

            return StepConclusion.Cancelled();
        }
        catch (Exception e)
        {
            var (type, message, retryable, timedOut) = StepErrors.Classify(e);
            await recorder.FinishAttemptAsync(run, _current, timedOut ? StepStatus.TimedOut : StepStatus.Failed, type, message, retryable, null, final: true);
            return StepConclusion.Failure(type, message, retryable);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Called by the retry strategy between attempts: records the failed attempt and the delay.</summary>
    public async ValueTask OnRetryAsync(Exception error, int attemptNumber, TimeSpan delay)
    {
        var (type, message, retryable, timedOut) = StepErrors.Classify(error);
        await recorder.FinishAttemptAsync(run, _current, timedOut ? StepStatus.TimedOut : StepStatus.Failed, type, message, retryable, delay, final: false);
        recorder.Journal(run, LogLevel.Warning, "StepRetrying",
            $"Step '{step.Id}' attempt {_current?.Attempt} failed ({type}): {message} Retrying in {Durations.Format(delay)}.",
            step.Id, _current?.Attempt,
            new Dictionary<string, object?> { ["errorType"] = type, ["delayMs"] = delay.TotalMilliseconds, ["retryNumber"] = attemptNumber + 1 });
    }

    private async ValueTask<StepResult> AttemptAsync(CancellationToken cancellationToken)
    {
        var attempt = run.Attempts.AddOrUpdate(step.Id, 1, (_, n) => n + 1);
        _current = await recorder.BeginAttemptAsync(run, step, attempt);
        var started = recorder.TimeProvider.GetTimestamp();

        // One DI scope per attempt: the activity and the scoped services it uses live exactly as long as the attempt.
        await using var scope = recorder.Services.CreateAsyncScope();
        // The signal a waiting step resumes with is taken once and kept for this step's retries.
        if (_signal is null && run.Signals.TryRemove(step.Id, out var signal))
        {
            _signal = signal;
        }

        var context = new StepContext(recorder, run, step, attempt, scope.ServiceProvider, _signal, cancellationToken);
        try
        {
            var inputs = await EvaluateInputsAsync();
            _current.InputJson = inputs.ToJsonString();
            var activity = step.Descriptor.Factory(scope.ServiceProvider);
            Bind(activity, inputs);
            ActivityResult result;
            try
            {
                result = await activity.ExecuteAsync(context);
            }
            finally
            {
                if (activity is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync();
                }
                else if (activity is IDisposable disposable)
                {
                    disposable.Dispose();
                }
            }

            if (result.Bookmark is { } bookmark)
            {
                _suspended = await recorder.SuspendAttemptAsync(run, _current, bookmark);
                return new StepResult("", []);
            }

            if (!step.Descriptor.Outcomes.Contains(result.Outcome))
            {
                throw StepException.NonRetryable("InvalidOutcome", $"Activity '{step.Descriptor.Type}' fired port '{result.Outcome}', which it does not declare.");
            }

            var stepResult = new StepResult(result.Outcome, context.Output);
            await recorder.SucceedAttemptAsync(run, _current, stepResult, recorder.TimeProvider.GetElapsedTime(started));
            return stepResult;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            recorder.Logger.LogDebug(e, "Step {Step} of instance {Instance} attempt {Attempt} failed", step.Id, run.Id, attempt);
            throw;
        }
    }

    private async ValueTask<JsonObject> EvaluateInputsAsync()
    {
        var values = new JsonObject();
        if (step.Inputs.Count == 0)
        {
            return values;
        }

        TemplateScope? scope = null;
        foreach (var input in step.Inputs)
        {
            if (input.Reference is { } reference)
            {
                if (ResolveReference(reference, out var resolved))
                {
                    values[input.Descriptor.Name] = resolved?.DeepClone();
                }
                else if (reference.HasDefault)
                {
                    values[input.Descriptor.Name] = reference.Default?.DeepClone();
                }
                else if (input.Descriptor.Default is { } activityDefault)
                {
                    values[input.Descriptor.Name] = activityDefault.DeepClone();
                }
                else if (input.Descriptor.Required)
                {
                    throw StepException.NonRetryable(StepErrorTypes.InvalidInput,
                        $"Input '{input.Descriptor.Name}' of step '{step.Id}' is required, but {reference.Path} has no value in this run and the reference gives no default: add \"default\" to the reference or make sure the value is given.");
                }

                continue;
            }

            if (input.Template is null)
            {
                values[input.Descriptor.Name] = input.Literal?.DeepClone();
                continue;
            }

            scope ??= new TemplateScope
            {
                Input = run.Input,
                Steps = run.Completed,
                InstanceId = run.Id,
                CorrelationId = run.Record.CorrelationId,
                Operator = run.Record.Operator,
            };
            try
            {
                values[input.Descriptor.Name] = await recorder.Templates.EvaluateAsync(input.Template, scope);
            }
            catch (TemplateEvaluationException e)
            {
                throw StepException.NonRetryable(StepErrorTypes.InvalidInput, $"Input '{input.Descriptor.Name}' of step '{step.Id}': {e.Message}", e);
            }
        }

        return values;
    }

    /// <summary>Follows a typed reference through this run's data; false when it leads nowhere (the default applies).</summary>
    private bool ResolveReference(InputReference reference, out JsonNode? value)
    {
        value = null;
        var segments = reference.Segments;
        switch (reference.Root)
        {
            case "input":
                return reference.TryResolveFrom(run.Input, 1, out value);
            case "instance":
                var facts = new JsonObject
                {
                    ["id"] = run.Id,
                    ["correlationId"] = run.Record.CorrelationId,
                    ["operator"] = run.Record.Operator,
                };
                return reference.TryResolveFrom(facts, 1, out value);
            case "steps" when segments.Count >= 3 && segments[1].Name is { } stepId && run.Completed.TryGetValue(stepId, out var result):
                return segments[2].Name switch
                {
                    "output" => reference.TryResolveFrom(result.Output, 3, out value),
                    "outcome" when segments.Count == 3 => (value = JsonValue.Create(result.Outcome)) is not null,
                    _ => false,
                };
            default:
                return false;
        }
    }

    private void Bind(Activity activity, JsonObject inputs)
    {
        foreach (var input in step.Descriptor.Inputs)
        {
            if (!inputs.TryGetPropertyValue(input.Name, out var value))
            {
                if (input.Required)
                {
                    throw StepException.NonRetryable(StepErrorTypes.InvalidInput, $"Input '{input.Name}' of step '{step.Id}' is required but has no value.");
                }

                continue;
            }

            try
            {
                var converted = InputTypes.Convert(value, input.Property.PropertyType);
                if (converted is null && input.Required)
                {
                    throw new FormatException("a value is required, got null");
                }

                input.Property.SetValue(activity, converted);
            }
            catch (FormatException e)
            {
                throw StepException.NonRetryable(StepErrorTypes.InvalidInput, $"Input '{input.Name}' of step '{step.Id}': {e.Message}.", e);
            }
        }
    }

    private sealed class StepContext(
        StepRecorder recorder, InstanceRun run, CompiledStep step, int attempt, IServiceProvider services, SignalDelivery? signal, CancellationToken token) : ActivityContext
    {
        public override SignalDelivery? Signal => signal;

        public JsonObject Output { get; } = [];

        public override string InstanceId => run.Id;

        public override string DefinitionId => run.Workflow.DefinitionId;

        public override string ActivityId => step.Id;

        public override int Attempt => attempt;

        public override string? CorrelationId => run.Record.CorrelationId;

        public override string Operator => run.Record.Operator;

        public override JsonObject WorkflowInput => run.Input;

        public override CancellationToken CancellationToken => token;

        public override TimeProvider TimeProvider => recorder.TimeProvider;

        public override IServiceProvider Services => services;

        public override void SetOutput(string name, JsonNode? value)
        {
            lock (Output)
            {
                Output[name] = value;
            }
        }

        public override void Log(LogLevel level, string message, IReadOnlyDictionary<string, object?>? properties = null) =>
            recorder.Journal(run, level, "StepLog", message, step.Id, attempt, properties);
    }
}

/// <summary>How a step ended.</summary>
internal sealed record StepConclusion(StepResult? Result, string? ErrorType, string? Message, bool Retryable, bool WasCancelled)
{
    /// <summary>Set when the step suspended its instance: what it waits for.</summary>
    public BookmarkRecord? Bookmark { get; init; }

    public static StepConclusion Suspend(BookmarkRecord bookmark) => new(null, null, null, false, false) { Bookmark = bookmark };

    public static StepConclusion Success(StepResult r) => new(r, null, null, false, false);

    public static StepConclusion Failure(string type, string message, bool retryable) => new(null, type, message, retryable, false);

    public static StepConclusion Cancelled() => new(null, StepErrorTypes.Cancelled, null, false, true);
}
