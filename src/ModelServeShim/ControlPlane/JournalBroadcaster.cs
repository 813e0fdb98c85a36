using System.Collections.Concurrent;
using System.Threading.Channels;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.ControlPlane;

/// <summary>Fans journal entries and instance ends out to live followers (server-sent events).</summary>
public sealed class JournalBroadcaster : IWorkflowObserver
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Channel<JournalRecord?>, byte>> _followers = new(StringComparer.Ordinal);

    /// <summary>Follows one instance; the reader yields entries, then null once the instance has finished.</summary>
    public Subscription Follow(string instanceId)
    {
        // Bounded: a follower that stops reading loses entries rather than growing memory.
        var channel = Channel.CreateBounded<JournalRecord?>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
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

    /// <inheritdoc />
    public void OnJournal(JournalRecord entry)
    {
        if (_followers.TryGetValue(entry.InstanceId, out var set))
        {
            foreach (var c in set.Keys)
            {
                c.Writer.TryWrite(entry);
            }
        }
    }

    /// <inheritdoc />
    public void OnInstanceChanged(InstanceRecord instance)
    {
        if (instance.Status is InstanceStatus.Completed or InstanceStatus.Faulted or InstanceStatus.Cancelled
            && _followers.TryGetValue(instance.Id, out var set))
        {
            foreach (var c in set.Keys)
            {
                c.Writer.TryWrite(null);
            }
        }
    }

    /// <summary>A live follow; dispose to stop.</summary>
    public sealed class Subscription(ChannelReader<JournalRecord?> reader, Action unsubscribe) : IDisposable
    {
        /// <summary>Entries, then null at the end.</summary>
        public ChannelReader<JournalRecord?> Reader => reader;

        /// <inheritdoc />
        public void Dispose() => unsubscribe();
    }
}
