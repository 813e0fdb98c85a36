using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Bench.Engine;

/// <summary>Does nothing: what is left of a step's time is the engine's overhead.</summary>
[Activity("Bench.NoOp", Category = "Bench", Description = "Completes at once.")]
public sealed class NoOpActivity : Activity
{
    /// <inheritdoc />
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context) => ValueTask.FromResult(ActivityResult.Done);
}
