using System.ComponentModel.DataAnnotations;

namespace ModelServeShim.ControlPlane;

/// <summary>Settings of the server-wide event stream's log (section <c>Events</c>).</summary>
public sealed class EventFeedOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Events";

    /// <summary>
    /// SQLite (one process): how many recent events the process keeps in memory, so that a client reconnecting with
    /// <c>Last-Event-ID</c> gets what it missed.
    /// </summary>
    [Range(100, 1_000_000)]
    public int MemoryCapacity { get; set; } = 5000;

    /// <summary>PostgreSQL: how long events stay in <c>server_events</c> (a client may resume within this time).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>PostgreSQL: the most events kept in <c>server_events</c>, whatever their age.</summary>
    [Range(1000, 100_000_000)]
    public int MaxRetained { get; set; } = 100_000;

    /// <summary>
    /// PostgreSQL: how often a replica reads the feed without being woken by a notification (the fallback when a
    /// notification is lost, e.g. while the listening connection is down).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>What a resuming stream gets: the events after the sequence it asked for, or the news that they are gone.</summary>
/// <param name="Events">The retained events after the requested sequence, oldest first (at most the page size).</param>
/// <param name="Reset">
/// Not null when the requested sequence is not in the log (older than what is retained, or unknown to it: a
/// sequence of another database or a process before a restart): the client must reload what it shows. The value is the
/// latest sequence, from which the stream continues.
/// </param>
public sealed record EventBacklog(IReadOnlyList<ServerEvent> Events, long? Reset);

/// <summary>
/// Numbers the server-wide events and keeps the recent ones for resuming streams. <see cref="MemoryEventLog"/> (SQLite:
/// one process) numbers them in memory; <see cref="PostgresEventLog"/> stores them in <c>server_events</c>, where every
/// replica reads them, so each replica's streams carry every replica's events with the same sequence numbers.
/// Either hands each numbered event, in sequence order, to the delivery <see cref="Connect"/> set.
/// </summary>
public abstract class EventLog
{
    private Action<ServerEvent>? _deliver;

    /// <summary>Sets where numbered events go (the broadcaster's subscribers); called once, by the broadcaster.</summary>
    public void Connect(Action<ServerEvent> deliver) => _deliver = deliver;

    /// <summary>Appends an event; it is delivered once numbered. Never blocks, never throws.</summary>
    public abstract void Append(string name, string data);

    /// <summary>The retained events after <paramref name="after"/>, at most <paramref name="max"/>, or a reset.</summary>
    public abstract Task<EventBacklog> ReadAfterAsync(long after, int max, CancellationToken cancellationToken);

    /// <summary>Runs what the log needs in the background (PostgreSQL: writer, reader, listener), until stopped.</summary>
    public virtual Task RunAsync(CancellationToken stoppingToken) => Task.CompletedTask;

    /// <summary>Hands a numbered event to the subscribers.</summary>
    protected void Deliver(ServerEvent e) => _deliver?.Invoke(e);
}

/// <summary>
/// The event log of one process (SQLite): sequence numbers from a counter and the last
/// <see cref="EventFeedOptions.MemoryCapacity"/> events in memory. The counter starts at the process's start time in
/// microseconds since 1970, so numbers keep growing across restarts and a client's <c>Last-Event-ID</c> from before a
/// restart is recognized as older than the log (a reset) rather than confused with a new event.
/// </summary>
public sealed class MemoryEventLog : EventLog
{
    private readonly Lock _gate = new();
    private readonly Queue<ServerEvent> _recent = new();
    private readonly int _capacity;
    private readonly long _start;
    private long _last;

    /// <summary>Creates the log.</summary>
    public MemoryEventLog(int capacity, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _capacity = capacity;
        _start = _last = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
    }

    /// <inheritdoc />
    public override void Append(string name, string data)
    {
        // Numbered and delivered under one lock: every subscriber sees the events in sequence order.
        lock (_gate)
        {
            var e = new ServerEvent(++_last, name, data);
            _recent.Enqueue(e);
            if (_recent.Count > _capacity)
            {
                _recent.Dequeue();
            }

            Deliver(e);
        }
    }

    /// <inheritdoc />
    public override Task<EventBacklog> ReadAfterAsync(long after, int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var oldest = _recent.TryPeek(out var first) ? first.Sequence : _last + 1;
            if (after > _last || after < oldest - 1 || after < _start)
            {
                return Task.FromResult(new EventBacklog([], _last));
            }

            return Task.FromResult(new EventBacklog([.. _recent.SkipWhile(e => e.Sequence <= after).Take(max)], null));
        }
    }
}
