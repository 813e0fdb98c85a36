namespace ModelServeShim.Shimlets.Local;

/// <summary>
/// Tells status watches that something may have changed (a replica started, exited, was restarted or became ready; a
/// service was applied, scaled or deleted). A watcher takes <see cref="Next"/> before it reads the status, so a change
/// during its read is not missed; <see cref="Notify"/> completes the current task and starts a new one.
/// </summary>
internal sealed class StatusSignal
{
    private TaskCompletionSource _current = New();

    /// <summary>Completes at the next <see cref="Notify"/>.</summary>
    public Task Next => Volatile.Read(ref _current).Task;

    /// <summary>Wakes every watcher waiting on <see cref="Next"/>.</summary>
    public void Notify() => Interlocked.Exchange(ref _current, New()).TrySetResult();

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
