using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// Serialises every runtime write through one writer that commits them in batches (group commit): each
/// caller awaits its own change's commit, and concurrent instances share transactions. Changes are
/// applied in the order they were queued, so an instance's later state never lands before its earlier one.
/// </summary>
/// <remarks>
/// Changes must carry their own copies of the data (records built for the write, not shared objects the
/// engine keeps mutating). <see cref="Upsert{T}"/> merges several changes to one row in one batch.
/// </remarks>
public sealed class WriteQueue : IAsyncDisposable
{
    private const int MaxBatch = 2048;
    private readonly Channel<Pending> _channel = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IDbContextFactory<WorkflowDbContext> _factory;
    private readonly ILogger<WriteQueue> _logger;
    private readonly Task _writer;

    /// <summary>Starts the writer.</summary>
    public WriteQueue(IDbContextFactory<WorkflowDbContext> factory, ILogger<WriteQueue> logger)
    {
        _factory = factory;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Number of batches committed (for diagnostics and benchmarks).</summary>
    public long Batches { get; private set; }

    /// <summary>Queues a change; the task completes when it is committed.</summary>
    public Task EnqueueAsync(Action<WorkflowDbContext> change)
    {
        var pending = new Pending(change, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_channel.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The workflow store is shutting down.");
        }

        return pending.Done.Task;
    }

    /// <summary>Queues a change without waiting; it commits with the next batch, in order.</summary>
    public void Post(Action<WorkflowDbContext> change) => _ = EnqueueAsync(change).ContinueWith(
        t => _logger.LogError(t.Exception, "A queued workflow state change failed to commit"),
        CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted,
        TaskScheduler.Default);

    /// <summary>Adds the row, or copies its values onto the copy already queued in this batch.</summary>
    public static void Upsert<T>(WorkflowDbContext context, T row, bool isNew, params object[] key) where T : class
    {
        ArgumentNullException.ThrowIfNull(context);
        var tracked = context.Set<T>().Local.FindEntryUntyped(key);
        if (tracked is not null)
        {
            tracked.CurrentValues.SetValues(row);
            return;
        }

        if (isNew)
        {
            context.Add(row);
        }
        else
        {
            context.Update(row);
        }
    }

    /// <summary>Stops accepting changes and waits for queued ones to commit.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _channel.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _channel.Reader.TryRead(out var p))
            {
                batch.Add(p);
            }

            try
            {
                await CommitAsync(batch).ConfigureAwait(false);
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
                        await CommitAsync([p]).ConfigureAwait(false);
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
        }
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        await using var context = await _factory.CreateDbContextAsync().ConfigureAwait(false);
        context.ChangeTracker.AutoDetectChangesEnabled = false;
        foreach (var p in batch)
        {
            p.Change(context);
        }

        context.ChangeTracker.DetectChanges();
        await context.SaveChangesAsync().ConfigureAwait(false);
    }

    private sealed record Pending(Action<WorkflowDbContext> Change, TaskCompletionSource Done);
}
