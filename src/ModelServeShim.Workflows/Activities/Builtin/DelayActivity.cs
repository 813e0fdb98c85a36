using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Activities.Builtin;

/// <summary>Waits for a duration (on the runtime's clock, cancellable).</summary>
[Activity("ModelServeShim.Delay", Category = "Primitives", DisplayName = "Delay", Description = "Waits for a duration before continuing.")]
public sealed class DelayActivity : Activity
{
    /// <summary>How long to wait.</summary>
    [Input(Required = true, Description = "How long to wait, e.g. 5s or 2m.")]
    public TimeSpan Duration { get; set; }

    /// <inheritdoc />
    public override async ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await Task.Delay(Duration, context.TimeProvider, context.CancellationToken);
        return ActivityResult.Done;
    }
}
