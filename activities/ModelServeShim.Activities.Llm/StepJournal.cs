using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Activities.Llm;

/// <summary>Journal and failure helpers shared by the pipeline's activities.</summary>
internal static class StepJournal
{
    /// <summary>
    /// Builds a <see cref="StepException"/> with <paramref name="details"/> and writes it to the journal first
    /// (the runtime stores the error type and message; the details would otherwise only live in memory).
    /// </summary>
    public static StepException Fail(
        ActivityContext context,
        string errorType,
        string message,
        bool retryable,
        IReadOnlyDictionary<string, object?>? details = null,
        Exception? inner = null)
    {
        var exception = new StepException(errorType, message, retryable, inner);
        var properties = new Dictionary<string, object?> { ["errorType"] = errorType, ["retryable"] = retryable };
        foreach (var (key, value) in details ?? new Dictionary<string, object?>())
        {
            exception.Details[key] = value;
            properties[key] = value;
        }

        context.Log(LogLevel.Error, message, properties);
        return exception;
    }

    /// <summary>An <see cref="StepErrorTypes.InvalidInput"/> failure naming the input.</summary>
    public static StepException InvalidInput(ActivityContext context, string input, string message) =>
        Fail(context, StepErrorTypes.InvalidInput, $"Input '{input}' of step '{context.ActivityId}': {message}", retryable: false, new Dictionary<string, object?> { ["input"] = input });

    /// <summary>Milliseconds since <paramref name="startedTimestamp"/> on the step's clock.</summary>
    public static double ElapsedMs(ActivityContext context, long startedTimestamp) =>
        Math.Round(context.TimeProvider.GetElapsedTime(startedTimestamp).TotalMilliseconds, 3);
}
