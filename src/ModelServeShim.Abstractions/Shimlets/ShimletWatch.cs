using System.Runtime.CompilerServices;

namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>A status watch for environments without change notifications: reads on a <see cref="ProbeBackoff"/> schedule.</summary>
public static class ShimletWatch
{
    /// <summary>
    /// Yields <paramref name="shimlet"/>'s status now and after each wait of <paramref name="backoff"/>, until cancelled. A
    /// read whose state (<see cref="ShimletStatus.SameState"/>) differs from the previous one starts the schedule over, so
    /// reads are frequent around changes (a deploy) and sparse while nothing happens.
    /// </summary>
    public static async IAsyncEnumerable<ShimletStatus> ReadOnBackoffAsync(
        IShimlet shimlet,
        ServiceTarget target,
        TimeProvider timeProvider,
        ProbeBackoff backoff,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(shimlet);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(backoff);
        ShimletStatus? last = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var status = await shimlet.GetStatusAsync(target, cancellationToken).ConfigureAwait(false);
            if (!ShimletStatus.SameState(status, last))
            {
                backoff.Reset();
            }

            last = status;
            yield return status;
            await Task.Delay(backoff.Next(), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
