using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// Serialises every runtime write through one writer that commits them in batches (group commit): each
/// caller awaits its own changes' commit, and concurrent instances share transactions. Changes are
/// applied in the order they were queued, so an instance's later state never lands before its earlier one,
/// and changes queued together commit together.
/// </summary>
/// <remarks>
/// Changes must carry their own copies of the data (records built for the write, not shared objects the
/// engine keeps mutating). The <see cref="IStateWriter"/> chosen at registration does the writing.
/// </remarks>
public sealed class WriteQueue : IAsyncDisposable
{
    private const int MaxBatch = 2048;
    private readonly Channel<Pending> _channel = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IStateWriter _store;
    private readonly ILogger<WriteQueue> _logger;
    private readonly Task _writer;

    /// <summary>Starts the writer.</summary>
    internal WriteQueue(IStateWriter store, ILogger<WriteQueue> logger)
    {
        _store = store;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Number of batches committed (for diagnostics and benchmarks).</summary>
    public long Batches { get; private set; }

    /// <summary>Queues changes that commit together; the task completes when they are committed.</summary>
    internal Task EnqueueAsync(params StateChange[] changes)
    {
        var pending = new Pending(changes, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_channel.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The workflow store is shutting down.");
        }

        return pending.Done.Task;
    }

    /// <summary>Queues changes without waiting; they commit with the next batch, in order.</summary>
    internal void Post(params StateChange[] changes) => _ = EnqueueAsync(changes).ContinueWith(
        t => _logger.LogError(t.Exception, "A queued workflow state change failed to commit"),
        CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted,
        TaskScheduler.Default);

    /// <summary>Stops accepting changes and waits for queued ones to commit.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var changes = new List<StateChange>(MaxBatch * 2);
        while (await _channel.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _channel.Reader.TryRead(out var p))
            {
                batch.Add(p);
                changes.AddRange(p.Changes);
            }

            try
            {
                await _store.WriteAsync(changes).ConfigureAwait(false);
                foreach (var p in batch)
                {
                    p.Done.TrySetResult();
                }
            }
            catch (Exception e) when (batch.Count > 1)
            {
                // Isolate the change that failed so the others still land.
                _logger.LogWarning(e, "A batch of {Count} workflow state changes failed; committing them one by one", batch.Count);
                foreach (var p in batch)
                {
                    try
                    {
                        await _store.WriteAsync(p.Changes).ConfigureAwait(false);
                        p.Done.TrySetResult();
                    }
                    catch (Exception single)
                    {
                        p.Done.TrySetException(single);
                    }
                }
            }
            catch (Exception e)
            {
                batch[0].Done.TrySetException(e);
            }

            Batches++;
            batch.Clear();
            changes.Clear();
        }
    }

    private sealed record Pending(StateChange[] Changes, TaskCompletionSource Done);
}
