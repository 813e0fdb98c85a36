using System.Collections.Concurrent;
using System.Threading.Channels;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.ControlPlane;

/// <summary>What a journal follower is told: an entry of this replica's runtime, the instance's end, or "look in the store".</summary>
/// <param name="Entry">A journal entry this replica's runtime wrote (or is writing).</param>
/// <param name="Ended">The instance finished on this replica.</param>
public readonly record struct JournalSignal(JournalRecord? Entry, bool Ended)
{
    /// <summary>New entries may be in the store (written by another replica, or while a notification was missed).</summary>
    public bool Wake => Entry is null && !Ended;
}

/// <summary>
/// Fans journal entries and instance ends out to live followers (server-sent events). Entries of instances that run on
/// this replica come from its runtime; entries written by other replicas (PostgreSQL) are announced by
/// <see cref="Wake"/> (the state writer's notification, read by <see cref="PostgresEventLog"/>) and read from the store.
/// </summary>
public sealed class JournalBroadcaster : IWorkflowObserver
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Channel<JournalSignal>, byte>> _followers = new(StringComparer.Ordinal);

    /// <summary>Follows one instance; the reader yields entries, wake-ups, then an end once the instance has finished here.</summary>
    public Subscription Follow(string instanceId)
    {
        // Bounded: a follower that stops reading loses entries rather than growing memory (it reads the store on a wake-up).
        var channel = Channel.CreateBounded<JournalSignal>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
        _followers.GetOrAdd(instanceId, _ => new())[channel] = 0;
        return new Subscription(channel.Reader, () =>
        {
            if (_followers.TryGetValue(instanceId, out var set))
            {
                set.TryRemove(channel, out _);
                if (set.IsEmpty)
                {
                    _followers.TryRemove(KeyValuePair.Create(instanceId, set));
                }
            }
        });
    }

    /// <summary>Tells the followers of these instances (null: of every instance) to read new entries from the store.</summary>
    public void Wake(IEnumerable<string>? instanceIds)
    {
        foreach (var set in instanceIds is null ? _followers.Values : instanceIds.Select(id => _followers.GetValueOrDefault(id)).OfType<ConcurrentDictionary<Channel<JournalSignal>, byte>>())
        {
            Send(set, new JournalSignal(null, false));
        }
    }

    /// <inheritdoc />
    public void OnJournal(JournalRecord entry)
    {
        if (_followers.TryGetValue(entry.InstanceId, out var set))
        {
            Send(set, new JournalSignal(entry, false));
        }
    }

    /// <inheritdoc />
    public void OnInstanceChanged(InstanceRecord instance)
    {
        if (instance.Status is InstanceStatus.Completed or InstanceStatus.Faulted or InstanceStatus.Cancelled
            && _followers.TryGetValue(instance.Id, out var set))
        {
            Send(set, new JournalSignal(null, true));
        }
    }

    private static void Send(ConcurrentDictionary<Channel<JournalSignal>, byte> set, JournalSignal signal)
    {
        foreach (var c in set.Keys)
        {
            c.Writer.TryWrite(signal);
        }
    }

    /// <summary>A live follow; dispose to stop.</summary>
    public sealed class Subscription(ChannelReader<JournalSignal> reader, Action unsubscribe) : IDisposable
    {
        /// <summary>Entries and wake-ups, then an end.</summary>
        public ChannelReader<JournalSignal> Reader => reader;

        /// <inheritdoc />
        public void Dispose() => unsubscribe();
    }
}
