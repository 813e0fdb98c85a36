namespace ModelServeShim.Abstractions.Activities;

/// <summary>
/// A step of a workflow. The runtime creates one instance per attempt (through dependency injection),
/// sets the properties marked <see cref="InputAttribute"/> from the step's evaluated inputs, and calls
/// <see cref="ExecuteAsync"/>. Retry and timeout are not the activity's business: they are settings of
/// the step in the workflow definition and are applied by the runtime around this call.
/// </summary>
/// <remarks>
/// Activities must be idempotent: after a crash the runtime runs a step that was in flight again
/// (at-least-once execution).
/// </remarks>
public abstract class Activity
{
    /// <summary>Runs one attempt of the step.</summary>
    /// <returns>The outcome port to fire; <see cref="Outcomes.Done"/> in the common case.</returns>
    /// <exception cref="StepException">The step failed; the exception's data decides retry.</exception>
    public abstract ValueTask<ActivityResult> ExecuteAsync(ActivityContext context);
}

/// <summary>Well-known outcome port names.</summary>
public static class Outcomes
{
    /// <summary>The step completed.</summary>
    public const string Done = "Done";

    /// <summary>
    /// The step failed after its last attempt. Connecting this port routes the failure to other
    /// steps (compensation, notification) instead of faulting the instance.
    /// </summary>
    public const string Failed = "Failed";
}

/// <summary>What an activity reports when it finishes an attempt.</summary>
/// <param name="Outcome">The outcome port to fire.</param>
public readonly record struct ActivityResult(string Outcome)
{
    /// <summary>Set when the step suspends its instance instead of firing a port (<see cref="Suspend"/>).</summary>
    public Bookmark? Bookmark { get; init; }

    /// <summary>The step completed through its <c>Done</c> port.</summary>
    public static ActivityResult Done { get; } = new(Outcomes.Done);

    /// <summary>Fires the named port (it must be declared with <see cref="OutcomesAttribute"/>).</summary>
    public static ActivityResult Port(string outcome) => new(outcome);

    /// <summary>
    /// Suspends the instance until <paramref name="bookmark"/>'s signal or timeout arrives; the step then runs again
    /// with <see cref="ActivityContext.Signal"/> set. Outputs set before suspending are discarded.
    /// </summary>
    public static ActivityResult Suspend(Bookmark bookmark)
    {
        ArgumentNullException.ThrowIfNull(bookmark);
        return new ActivityResult("") { Bookmark = bookmark };
    }
}
