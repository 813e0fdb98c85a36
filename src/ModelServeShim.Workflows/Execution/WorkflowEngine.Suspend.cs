using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows.Execution;

/// <summary>
/// Suspend and resume: a step that returns <see cref="ActivityResult.Suspend"/> leaves a bookmark (<see cref="Bookmarks"/>);
/// once no step of the instance runs, the instance is stored Suspended and its run ends (no thread, no slot). A signal
/// or a timeout resolves the bookmark and resumes the instance from the store; the step runs again with the signal.
/// </summary>
public sealed partial class WorkflowEngine
{
    /// <summary>The bookmarks of suspended steps: signals, timeouts.</summary>
    public Bookmarks Bookmarks { get; }

    /// <summary>
    /// Loads an instance's run from the store: completed steps and attempt counts, the steps that wait for a signal
    /// (their latest bookmark is open: its timeout is re-armed) and those whose signal arrived (they run again with it).
    /// </summary>
    private async Task<(InstanceRun Run, List<StepExecutionRecord> Steps)> LoadRunAsync(
        WorkflowDbContext db, InstanceRecord record, CompiledWorkflow workflow, CancellationToken cancellationToken)
    {
        var steps = await db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == record.Id).ToListAsync(cancellationToken);
        var lastSequence = await db.Journal.Where(j => j.InstanceId == record.Id).MaxAsync(j => (long?)j.Sequence, cancellationToken) ?? 0;
        var run = new InstanceRun(record, workflow, JsonNode.Parse(record.InputJson) as JsonObject ?? []);
        run.SetJournalSequence(lastSequence);
        foreach (var s in steps)
        {
            run.Attempts.AddOrUpdate(s.ActivityId, s.Attempt, (_, n) => Math.Max(n, s.Attempt));
            if (s.IsFinal && s.Outcome is not null)
            {
                run.Completed[s.ActivityId] = new StepResult(s.Outcome, JsonNode.Parse(s.OutputJson ?? "{}") as JsonObject ?? []);
            }
        }

        var bookmarks = await db.Bookmarks.AsNoTracking().Where(b => b.InstanceId == record.Id).ToListAsync(cancellationToken);
        foreach (var latest in bookmarks.GroupBy(b => b.ActivityId, StringComparer.Ordinal).Select(g => g.MaxBy(b => b.CreatedAt)!))
        {
            if (run.Completed.ContainsKey(latest.ActivityId))
            {
                continue;
            }

            switch (latest.Resolution)
            {
                case null:
                    run.Waiting[latest.ActivityId] = latest;
                    Bookmarks.Arm(latest);
                    break;
                case nameof(SignalKind.Received) or nameof(SignalKind.TimedOut):
                    run.Signals[latest.ActivityId] = new SignalDelivery(
                        latest.Name, Enum.Parse<SignalKind>(latest.Resolution), latest.PayloadJson is null ? null : JsonNode.Parse(latest.PayloadJson),
                        latest.ResolvedBy ?? Bookmarks.RuntimeActor, latest.ResolvedAt ?? _time.GetUtcNow());
                    break;
                default:
                    // Cancelled while suspended, and the server stopped before the instance was ended: end it now.
                    run.CancelRequest ??= ("cancelled while waiting for a signal", latest.ResolvedBy ?? "runtime");
                    run.Cancellation.Cancel();
                    break;
            }
        }

        if (record.CancelReason is { } reason)
        {
            // Asked on another replica while this instance changed hands: carry it out now.
            run.CancelRequest ??= (reason, record.CancelRequestedBy ?? "unknown");
            run.Cancellation.Cancel();
        }

        return (run, steps);
    }

    /// <summary>
    /// Only waiting steps are left: stores the instance as Suspended and ends its run, unless a signal reached it
    /// meanwhile (false: the loop schedules it) or it is being cancelled (throws, the run ends Cancelled).
    /// </summary>
    private async Task<bool> TrySuspendAsync(InstanceRun run, CancellationToken cancellationToken)
    {
        lock (run.Gate)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (run.Waiting.Keys.Any(run.Signals.ContainsKey))
            {
                return false;
            }

            run.Parked = true;
        }

        var now = _time.GetUtcNow();
        run.Record.Status = InstanceStatus.Suspended;
        run.Record.UpdatedAt = now;
        var waiting = run.Waiting.Values.OrderBy(b => b.CreatedAt).ToList();
        var entry = run.Journal(now, LogLevel.Information, "InstanceSuspended",
            $"Suspended: waiting for {string.Join(", ", waiting.Select(b => $"signal '{b.Name}' (step '{b.ActivityId}')"))}; the instance holds no slot until it arrives.",
            properties: new Dictionary<string, object?> { ["signals"] = waiting.Select(b => b.Name).ToArray() });
        var snapshot = run.Snapshot();
        await _writes.EnqueueAsync(new InstanceStatusChanged(run.Id, InstanceStatus.Suspended, now), new JournalAppended(entry));
        Bookmarks.Parked(run.Id, waiting.Select(b => b.Id));
        _observers.InstanceSuspended(snapshot, waiting);
        _observers.JournalAppended(entry);
        return true;
    }

    /// <summary>Hands a resolved bookmark to the instance's live run; false when it has none (or it is suspending).</summary>
    internal bool TryDeliver(BookmarkRecord bookmark, SignalDelivery delivery)
    {
        if (!_runs.TryGetValue(bookmark.InstanceId, out var run))
        {
            return false;
        }

        lock (run.Gate)
        {
            if (run.Parked)
            {
                return false;
            }

            run.Signals[bookmark.ActivityId] = delivery;
        }

        JournalSignal(run, bookmark.ActivityId, delivery);
        run.Wake();
        return true;
    }

    /// <summary>Resumes a suspended instance from the store after one of its bookmarks was resolved.</summary>
    internal async Task ResumeSuspendedAsync(string instanceId, SignalDelivery delivery)
    {
        if (_runs.TryGetValue(instanceId, out var parked))
        {
            await parked.Finished.Task; // It is storing its suspension: resume once that is committed.
        }

        Bookmarks.Unpark(instanceId);
        await using var db = await _db.CreateDbContextAsync();
        var record = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == instanceId);
        if (record is null || record.Status is not (InstanceStatus.Suspended or InstanceStatus.Running) || _runs.ContainsKey(instanceId))
        {
            return;
        }

        if (_replicas.IsShared && record.Owner != _replicas.Id)
        {
            // Another replica runs it: its owner notices the resolved bookmark (ReplicaLeases) and resumes it there.
            _logger.LogDebug("Workflow instance {Instance} belongs to replica {Owner}, which resumes it after signal '{Signal}'", instanceId, record.Owner, delivery.Name);
            return;
        }

        var workflow = await _definitions.GetCompiledAsync(record.DefinitionId, record.DefinitionVersion);
        if (workflow is null)
        {
            await ResumeAsync(db, record, CancellationToken.None); // Faults it with the reason.
            return;
        }

        var (run, _) = await LoadRunAsync(db, record, workflow, CancellationToken.None);
        if (run.Signals.FirstOrDefault(kv => kv.Value.Name == delivery.Name).Key is { } step)
        {
            JournalSignal(run, step, delivery);
        }

        Launch(run);
    }

    /// <summary>After a restart: re-arms a suspended instance's timeouts, or resumes it if a signal arrived before the stop.</summary>
    private async Task RestoreSuspendedAsync(WorkflowDbContext db, InstanceRecord record, CancellationToken cancellationToken)
    {
        var workflow = await _definitions.GetCompiledAsync(record.DefinitionId, record.DefinitionVersion, cancellationToken);
        if (workflow is null)
        {
            await ResumeAsync(db, record, cancellationToken); // Faults it with the reason.
            return;
        }

        var (run, _) = await LoadRunAsync(db, record, workflow, cancellationToken);
        if (!run.Signals.IsEmpty || run.Waiting.IsEmpty || run.CancelRequest is not null)
        {
            var now = _time.GetUtcNow();
            var entry = run.Journal(now, LogLevel.Warning, "InstanceResumed",
                $"Resumed after a restart: {(run.Signals.IsEmpty ? "no step waits any more" : $"signal(s) {string.Join(", ", run.Signals.Values.Select(d => $"'{d.Name}'"))} arrived before the stop")}.");
            await _writes.EnqueueAsync(new JournalAppended(entry));
            Launch(run);
            return;
        }

        Bookmarks.Parked(record.Id, run.Waiting.Values.Select(b => b.Id));
        _logger.LogInformation("Workflow instance {Instance} is still suspended, waiting for {Signals}", record.Id, string.Join(", ", run.Waiting.Values.Select(b => b.Name)));
    }

    /// <summary>Cancels a suspended instance (after its parked run, if any, has ended); false when it is not suspended here.</summary>
    private bool CancelSuspended(InstanceRun? parked, string instanceId, string reason, string by)
    {
        if (parked is null && !Bookmarks.IsSuspended(instanceId))
        {
            return false;
        }

        _ = Task.Run(async () =>
        {
            if (parked is not null)
            {
                await parked.Finished.Task;
            }

            await Bookmarks.CancelSuspendedAsync(instanceId, reason, by);
        });
        return true;
    }

    /// <summary>Ends a suspended instance as Cancelled: its waiting steps' attempts are cancelled, the instance finishes.</summary>
    internal async Task FinishSuspendedAsync(string instanceId, string reason, string by)
    {
        await using var db = await _db.CreateDbContextAsync();
        var record = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == instanceId);
        if (record is null || record.Status != InstanceStatus.Suspended)
        {
            return;
        }

        var workflow = await _definitions.GetCompiledAsync(record.DefinitionId, record.DefinitionVersion);
        if (workflow is null)
        {
            var at = _time.GetUtcNow();
            await _writes.EnqueueAsync(new InstanceFinished(instanceId, InstanceStatus.Cancelled, null, at, null, StepErrorTypes.Cancelled, $"{reason} (by {by})"));
            return;
        }

        var (run, steps) = await LoadRunAsync(db, record, workflow, CancellationToken.None);
        run.CancelRequest = (reason, by);
        var now = _time.GetUtcNow();
        var waiting = steps.Where(s => s.Status == StepStatus.Suspended && !s.IsFinal)
            .GroupBy(s => s.ActivityId, StringComparer.Ordinal).Select(g => g.MaxBy(s => s.Attempt)!).ToList();
        foreach (var s in waiting)
        {
            s.Status = StepStatus.Cancelled;
            s.IsFinal = true;
            s.ErrorType = StepErrorTypes.Cancelled;
            s.ErrorMessage = $"Cancelled while waiting for a signal: {reason} (by {by}).";
            await _writes.EnqueueAsync(new StepEnded(s));
            _observers.StepChanged(run, s);
        }

        run.Waiting.Clear();
        record.UpdatedAt = now;
        await FinishAsync(run, InstanceStatus.Cancelled, waiting.FirstOrDefault()?.ActivityId, StepErrorTypes.Cancelled, CancelMessage(run));
    }

    private void JournalSignal(InstanceRun run, string activityId, SignalDelivery delivery)
    {
        var entry = run.Journal(delivery.At, LogLevel.Information, delivery.Kind == SignalKind.TimedOut ? "SignalTimedOut" : "SignalReceived",
            delivery.Kind == SignalKind.TimedOut
                ? $"Signal '{delivery.Name}' did not arrive in time; step '{activityId}' takes its timeout path."
                : $"Signal '{delivery.Name}' received from {delivery.By}; step '{activityId}' runs again.",
            activityId,
            properties: new Dictionary<string, object?> { ["signal"] = delivery.Name, ["by"] = delivery.By, ["kind"] = delivery.Kind.ToString(), ["payload"] = delivery.Payload?.ToJsonString() });
        _writes.Post(new JournalAppended(entry));
        _observers.JournalAppended(entry);
    }
}
