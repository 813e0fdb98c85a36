using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Templates;
using Polly.Timeout;

namespace ModelServeShim.Workflows.Execution;

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
