using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Execution;

/// <summary>
/// Receives the runtime's events as they are committed: the control plane drives service lifecycles from
/// them, and live views (server-sent events) forward them. Handlers must be quick and must not throw.
/// </summary>
public interface IWorkflowObserver
{
    /// <summary>An instance's status changed (its current steps follow from <see cref="OnStepChanged"/>).</summary>
    void OnInstanceChanged(InstanceRecord instance) { }

    /// <summary>A step attempt started or ended.</summary>
    void OnStepChanged(InstanceRecord instance, StepExecutionRecord step) { }

    /// <summary>A journal entry was written.</summary>
    void OnJournal(JournalRecord entry) { }

    /// <summary>
    /// The instance was stored Suspended, waiting for <paramref name="waitingFor"/> (its open bookmarks). By default
    /// this is reported as a status change (<see cref="OnInstanceChanged"/>).
    /// </summary>
    void OnSuspended(InstanceRecord instance, IReadOnlyList<BookmarkRecord> waitingFor) => OnInstanceChanged(instance);
}

/// <summary>Fans events out to every registered observer, isolating their failures.</summary>
public sealed class WorkflowObservers(IEnumerable<IWorkflowObserver> observers, Microsoft.Extensions.Logging.ILogger<WorkflowObservers> logger)
{
    private readonly IWorkflowObserver[] _observers = [.. observers];

    internal void InstanceChanged(InstanceRecord instance) => Each(o => o.OnInstanceChanged(instance));

    internal void InstanceSuspended(InstanceRecord instance, IReadOnlyList<BookmarkRecord> waitingFor) => Each(o => o.OnSuspended(instance, waitingFor));

    internal void StepChanged(InstanceRun run, StepExecutionRecord step) => Each(o => o.OnStepChanged(run.Record, step));

    internal void JournalAppended(JournalRecord entry) => Each(o => o.OnJournal(entry));

    private void Each(Action<IWorkflowObserver> action)
    {
        foreach (var o in _observers)
        {
            try
            {
                action(o);
            }
            catch (Exception e)
            {
                Microsoft.Extensions.Logging.LoggerExtensions.LogError(logger, e, "Workflow observer {Observer} failed", o.GetType().Name);
            }
        }
    }
}
