using System.Runtime.CompilerServices;

namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>A status watch that reads the status on a <see cref="ProbeBackoff"/> schedule, and sooner when told that it may have changed.</summary>
public static class ShimletWatch
{
    /// <summary>
    /// Yields <paramref name="shimlet"/>'s status now and after each wait of <paramref name="backoff"/>, until cancelled. A
    /// read whose state (<see cref="ShimletStatus.SameState"/>) differs from the previous one starts the schedule over, so
    /// reads are frequent around changes (a deploy) and sparse while nothing happens.
    /// </summary>
    public static IAsyncEnumerable<ShimletStatus> ReadOnBackoffAsync(
        IShimlet shimlet,
        ServiceTarget target,
        TimeProvider timeProvider,
        ProbeBackoff backoff,
        CancellationToken cancellationToken) =>
        ReadOnBackoffAsync(shimlet, target, timeProvider, backoff, changed: null, cancellationToken);

    /// <summary>
    /// As <see cref="ReadOnBackoffAsync(IShimlet, ServiceTarget, TimeProvider, ProbeBackoff, CancellationToken)"/>, and a
    /// wait also ends when the task <paramref name="changed"/> returns completes: for an environment that learns of some
    /// changes itself (a process exited, a replica became ready). <paramref name="changed"/> is called before each read,
    /// so a change during the read ends the next wait.
    /// </summary>
    public static async IAsyncEnumerable<ShimletStatus> ReadOnBackoffAsync(
        IShimlet shimlet,
        ServiceTarget target,
        TimeProvider timeProvider,
        ProbeBackoff backoff,
        Func<Task>? changed,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(shimlet);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(backoff);
        ShimletStatus? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var signal = changed?.Invoke();
            var status = await shimlet.GetStatusAsync(target, cancellationToken).ConfigureAwait(false);
            if (!ShimletStatus.SameState(status, last))
            {
                backoff.Reset();
            }

            last = status;
            yield return status;
            if (signal is null)
            {
                await Task.Delay(backoff.Next(), timeProvider, cancellationToken).ConfigureAwait(false);
                continue;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(Task.Delay(backoff.Next(), timeProvider, wait.Token), signal).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
        }
    }
}
