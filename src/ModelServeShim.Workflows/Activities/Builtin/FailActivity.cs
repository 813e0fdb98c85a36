using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Activities.Builtin;

/// <summary>Fails the step with a given error type (for routing tests and explicit failure branches).</summary>
[Activity("ModelServeShim.Fail", Category = "Primitives", DisplayName = "Fail", Description = "Fails the step with an error type and message; optionally only for the first N attempts.")]
public sealed class FailActivity : Activity
{
    /// <summary>The error type.</summary>
    [Input(DefaultJson = "\"Failed\"", Description = "The machine-readable error type.")]
    public string ErrorType { get; set; } = "Failed";

    /// <summary>The message.</summary>
    [Input(DefaultJson = "\"The step failed on purpose.\"", Description = "The error message.")]
    public string Message { get; set; } = "";

    /// <summary>Whether the error is retryable.</summary>
    [Input(DefaultJson = "true", Description = "Whether another attempt may succeed.")]
    public bool Retryable { get; set; } = true;

    /// <summary>Fail only while the attempt number is at most this; 0 means always.</summary>
    [Input(DefaultJson = "0", Description = "Fail only the first N attempts (0: every attempt). Useful to exercise retry.")]
    public int FailAttempts { get; set; }

    /// <inheritdoc />
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (FailAttempts > 0 && context.Attempt > FailAttempts)
        {
            return ValueTask.FromResult(ActivityResult.Done);
        }

        throw new StepException(ErrorType, Message, Retryable);
    }
}
