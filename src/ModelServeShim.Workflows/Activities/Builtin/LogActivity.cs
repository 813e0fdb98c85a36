using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Activities.Builtin;

/// <summary>Writes a message to the instance's journal.</summary>
[Activity("ModelServeShim.Log", Category = "Primitives", DisplayName = "Log", Description = "Writes a message (a template may include inputs and earlier steps' outputs) to the journal.")]
public sealed class LogActivity : Activity
{
    /// <summary>The message.</summary>
    [Input(Required = true, Description = "The message; templates such as {{ input.modelName }} are allowed.", UiHint = "multiline")]
    public string Message { get; set; } = "";

    /// <summary>The level.</summary>
    [Input(DefaultJson = "\"Information\"", Description = "The journal level.")]
    public LogLevel Level { get; set; } = LogLevel.Information;

    /// <inheritdoc />
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Log(Level, Message);
        return ValueTask.FromResult(ActivityResult.Done);
    }
}
