namespace ModelServeShim.Abstractions.Shimlets;

/// <summary>
/// The waits between readiness probes or status reads: <see cref="InitialInterval"/> first, then each wait
/// <see cref="Multiplier"/> times the previous one, capped at <see cref="MaxInterval"/>. <see cref="Reset"/> starts
/// over (a new process, a changed status). Only arithmetic: the caller waits, with its own <see cref="TimeProvider"/>.
/// </summary>
public sealed class ProbeBackoff
{
    private TimeSpan _next;

    /// <exception cref="ArgumentOutOfRangeException">An interval is not positive, the maximum is below the initial interval, or the multiplier is below 1.</exception>
    public ProbeBackoff(TimeSpan initialInterval, TimeSpan maxInterval, double multiplier = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initialInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInterval, initialInterval);
        if (!(multiplier >= 1) || double.IsInfinity(multiplier))
        {
            throw new ArgumentOutOfRangeException(nameof(multiplier), multiplier, "The multiplier must be a finite number of at least 1.");
        }

        InitialInterval = initialInterval;
        MaxInterval = maxInterval;
        Multiplier = multiplier;
        _next = initialInterval;
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
        var wait = _next;
        double grown = wait.Ticks * Multiplier;
        _next = grown >= MaxInterval.Ticks ? MaxInterval : TimeSpan.FromTicks((long)grown);
        return wait;
    }

    /// <summary>Starts the schedule over at <see cref="InitialInterval"/>.</summary>
    public void Reset() => _next = InitialInterval;
}
