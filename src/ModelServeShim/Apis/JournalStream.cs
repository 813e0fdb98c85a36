using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using ModelServeShim.ControlPlane;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Apis;

/// <summary>
/// Follows one instance's journal as server-sent events (<c>id: &lt;sequence&gt;</c>, <c>event: journal</c>, the
/// <see cref="JournalEntry"/> as data), in sequence order without gaps or repeats, with keep-alive comments, and
/// ends with <c>event: end</c> once the instance has finished. Shared by the service logs and the instance journal.
/// </summary>
internal static class JournalStream
{
    /// <summary>Streams the entries after <paramref name="afterSequence"/> until the instance ends or the client leaves.</summary>
    public static async Task FollowAsync(
        HttpContext http, string instanceId, long afterSequence, IDbContextFactory<WorkflowDbContext> workflowDb, JournalBroadcaster broadcaster, CancellationToken ct)
    {
        var time = http.RequestServices.GetRequiredService<TimeProvider>();

        // A browser's EventSource reconnects to the same URL and says, in Last-Event-ID, how far it got.
        if (long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var resumed) && resumed > afterSequence)
        {
            afterSequence = resumed;
        }

        // Subscribe first, then replay what is stored: nothing falls between the two.
        using var subscription = broadcaster.Follow(instanceId);
        await ServerSentEvents.StartAsync(http.Response, ct);
        var last = afterSequence;
        var pending = new SortedDictionary<long, JournalRecord>();
        var finished = await CatchUpAsync();
        while (!finished && !ct.IsCancellationRequested)
        {
            using var quiet = new CancellationTokenSource(ServerSentEvents.KeepAliveInterval, time);
            using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(ct, quiet.Token);
            JournalSignal signal;
            try
            {
                signal = await subscription.Reader.ReadAsync(keepAlive.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                await ServerSentEvents.KeepAliveAsync(http.Response, ct);

                // A quiet follow also looks at the store now and then: the instance may run on another replica and a
                // notification may have been missed.
                finished = await CatchUpAsync();
                continue;
            }

            if (signal.Ended)
            {
                finished = true;
            }
            else if (signal.Wake)
            {
                // Another replica wrote entries (or ended the instance): they are in the store.
                finished = await CatchUpAsync();
            }
            else if (signal.Entry is { } entry && entry.Sequence > last)
            {
                // Entries arrive out of order (the runtime hands some out when they are queued for writing, others
                // once written): hold each until those before it are sent, taking the missing ones from the store.
                pending[entry.Sequence] = entry;
                if (!pending.ContainsKey(last + 1))
                {
                    await using var wf = await workflowDb.CreateDbContextAsync(ct);
                    var before = pending.Keys.First();
                    foreach (var stored in await wf.Journal.AsNoTracking().Where(j => j.InstanceId == instanceId && j.Sequence > last && j.Sequence < before).ToListAsync(ct))
                    {
                        pending[stored.Sequence] = stored;
                    }
                }

                await FlushAsync();
            }
        }

        if (!ct.IsCancellationRequested)
        {
            // The runtime reports an instance's end before it hands out the journal entry that records the end
            // (already stored by then): send what the store has past the last entry sent, then end.
            await using (var wf = await workflowDb.CreateDbContextAsync(ct))
            {
                var rest = await wf.Journal.AsNoTracking().Where(j => j.InstanceId == instanceId && j.Sequence > last)
                    .OrderBy(j => j.Sequence).ToListAsync(ct);
                foreach (var entry in rest)
                {
                    await WriteEventAsync(http, entry, ct);
                }
            }

            await ServerSentEvents.WriteAsync(http.Response, "end", "{}", null, ct);
        }

        // Sends what the store has after the last entry sent, up to the first gap (a later entry can be committed before
        // an earlier one: both are held until the earlier one is there, or the instance ends); returns whether the
        // instance has finished.
        async Task<bool> CatchUpAsync()
        {
            await using var wf = await workflowDb.CreateDbContextAsync(ct);
            foreach (var entry in await wf.Journal.AsNoTracking().Where(j => j.InstanceId == instanceId && j.Sequence > last).OrderBy(j => j.Sequence).ToListAsync(ct))
            {
                if (entry.Sequence == last + 1)
                {
                    pending.Remove(entry.Sequence);
                    await WriteEventAsync(http, entry, ct);
                    last = entry.Sequence;
                }
                else
                {
                    pending[entry.Sequence] = entry;
                }
            }

            await FlushAsync();
            return await wf.Instances.AnyAsync(i => i.Id == instanceId
                && (i.Status == InstanceStatus.Completed || i.Status == InstanceStatus.Faulted || i.Status == InstanceStatus.Cancelled), ct);
        }

        // Sends the held entries that follow the last one sent without a gap.
        async Task FlushAsync()
        {
            foreach (var old in pending.Keys.Where(k => k <= last).ToList())
            {
                pending.Remove(old);
            }

            while (pending.Remove(last + 1, out var next))
            {
                await WriteEventAsync(http, next, ct);
                last = next.Sequence;
            }
        }
    }

    private static Task WriteEventAsync(HttpContext http, JournalRecord entry, CancellationToken ct) =>
        ServerSentEvents.WriteAsync(
            http.Response, "journal", JsonSerializer.Serialize(JournalEntry.From(entry), JsonSerializerOptions.Web), entry.Sequence.ToString(CultureInfo.InvariantCulture), ct);
}
