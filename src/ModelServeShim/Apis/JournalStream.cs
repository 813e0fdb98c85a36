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
        // Subscribe first, then replay what is stored: nothing falls between the two.
        using var subscription = broadcaster.Follow(instanceId);
        await ServerSentEvents.StartAsync(http.Response, ct);
        var last = afterSequence;
        var pending = new SortedDictionary<long, JournalRecord>();
        bool finished;
        await using (var wf = await workflowDb.CreateDbContextAsync(ct))
        {
            var stored = await wf.Journal.AsNoTracking().Where(j => j.InstanceId == instanceId && j.Sequence > afterSequence)
                .OrderBy(j => j.Sequence).ToListAsync(ct);
            foreach (var entry in stored)
            {
                await WriteEventAsync(http, entry, ct);
                last = entry.Sequence;
            }

            finished = await wf.Instances.AnyAsync(i => i.Id == instanceId
                && (i.Status == InstanceStatus.Completed || i.Status == InstanceStatus.Faulted || i.Status == InstanceStatus.Cancelled), ct);
        }

        while (!finished && !ct.IsCancellationRequested)
        {
            using var quiet = new CancellationTokenSource(ServerSentEvents.KeepAliveInterval, time);
            using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(ct, quiet.Token);
            JournalRecord? entry;
            try
            {
                entry = await subscription.Reader.ReadAsync(keepAlive.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                await ServerSentEvents.KeepAliveAsync(http.Response, ct);
                continue;
            }

            if (entry is null)
            {
                finished = true;
            }
            else if (entry.Sequence > last)
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

                while (pending.Remove(last + 1, out var next))
                {
                    await WriteEventAsync(http, next, ct);
                    last = next.Sequence;
                }
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
    }

    private static Task WriteEventAsync(HttpContext http, JournalRecord entry, CancellationToken ct) =>
        ServerSentEvents.WriteAsync(
            http.Response, "journal", JsonSerializer.Serialize(JournalEntry.From(entry), JsonSerializerOptions.Web), entry.Sequence.ToString(CultureInfo.InvariantCulture), ct);
}
