using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Gateway;

/// <summary>
/// One replica of a service as the gateway balances it: where it is, how to reach it, how many requests it has in
/// flight, and until when it is left out after a failure. Kept across status refreshes (by <see cref="Key"/>), so the
/// counters survive them.
/// </summary>
public sealed class Replica
{
    private int _inFlight;
    private long _outUntil;

    internal Replica(string key, RuntimeAccess access)
    {
        Key = key;
        Access = access;
    }

    /// <summary>The replica's address as its shimlet reports it (<c>127.0.0.1:41234</c>); the metrics label.</summary>
    public string Key { get; }

    /// <summary>How the control plane reaches it (refreshed with the status).</summary>
    public RuntimeAccess Access { get; internal set; }

    /// <summary>Requests forwarded to it that have not ended.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    internal int Enter() => Interlocked.Increment(ref _inFlight);

    internal int Leave() => Interlocked.Decrement(ref _inFlight);

    /// <summary>True while it is left out after a failure.</summary>
    public bool IsOut(DateTimeOffset now) => now.UtcTicks < Volatile.Read(ref _outUntil);

    /// <summary>When it comes back (or a past time).</summary>
    public DateTimeOffset OutUntil => new(Volatile.Read(ref _outUntil), TimeSpan.Zero);

    internal void TakeOut(DateTimeOffset until) => Volatile.Write(ref _outUntil, until.UtcTicks);
}
