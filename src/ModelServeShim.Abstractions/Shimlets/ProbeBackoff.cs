namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>
/// The waits between readiness probes, status reads, reconnects or restarts: <see cref="InitialInterval"/> first, then
/// each wait <see cref="Multiplier"/> times the previous one, capped at <see cref="MaxInterval"/>. <see cref="Reset"/>
/// starts over (a new process, a changed status, a call that succeeded). Only arithmetic: the caller waits, with its own
/// <see cref="TimeProvider"/>.
/// </summary>
public sealed class ProbeBackoff
{
    private int _waits;

    /// <summary>Creates the schedule. A zero <paramref name="initialInterval"/> never waits (retry at once).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An interval is negative, the maximum is below the initial interval, or the multiplier is below 1.</exception>
    public ProbeBackoff(TimeSpan initialInterval, TimeSpan maxInterval, double multiplier = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInterval, initialInterval);
        if (!(multiplier >= 1) || double.IsInfinity(multiplier))
        {
            throw new ArgumentOutOfRangeException(nameof(multiplier), multiplier, "The multiplier must be a finite number of at least 1.");
        }

        InitialInterval = initialInterval;
        MaxInterval = maxInterval;
        Multiplier = multiplier;
    }

    /// <summary>The first wait, and the wait after <see cref="Reset"/>.</summary>
    public TimeSpan InitialInterval { get; }

    /// <summary>The longest wait.</summary>
    public TimeSpan MaxInterval { get; }

    /// <summary>The factor between consecutive waits.</summary>
    public double Multiplier { get; }

    /// <summary>The wait before the next probe; advances the schedule.</summary>
    public TimeSpan Next()
    {
        if (_waits < int.MaxValue)
        {
            _waits++;
        }

        return Wait(_waits);
    }

    /// <summary>Starts the schedule over at <see cref="InitialInterval"/>.</summary>
    public void Reset() => _waits = 0;

    /// <summary>
    /// The <paramref name="n"/>-th wait after a reset (1: <see cref="InitialInterval"/>), without advancing: for a caller
    /// that counts failures itself (crashes within a window).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is below 1.</exception>
    public TimeSpan Wait(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        double ticks = InitialInterval.Ticks * Math.Pow(Multiplier, n - 1);
        return ticks >= MaxInterval.Ticks ? MaxInterval : TimeSpan.FromTicks((long)ticks);
    }
}
