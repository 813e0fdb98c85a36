using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows.Execution;

/// <summary>
/// Records steps' attempts and journal entries through the write queue, and holds what a <see cref="StepRun"/>
/// needs from the engine (services, clock, templates). Attempt starts and conclusions are awaited (committed before
/// the engine moves on); journal entries are queued in order. It runs nothing: <see cref="StepRun"/> does.
/// </summary>
internal sealed class StepRecorder(
    IServiceProvider services,
    TimeProvider timeProvider,
    TemplateEngine templates,
    WriteQueue writes,
    WorkflowObservers observers,
    ILogger<StepRecorder> logger)
{
    public IServiceProvider Services => services;

    public TimeProvider TimeProvider => timeProvider;

    public TemplateEngine Templates => templates;

    public ILogger Logger => logger;

    public Task<StepExecutionRecord> BeginAttemptAsync(InstanceRun run, CompiledStep step, int attempt)
    {
        var record = new StepExecutionRecord
        {
            Id = Guid.CreateVersion7(),
            InstanceId = run.Id,
            ActivityId = step.Id,
            ActivityType = step.Descriptor.Type,
            Attempt = attempt,
            Status = StepStatus.Running,
            StartedAt = timeProvider.GetUtcNow(),
        };
        var copy = Copy(record);

        // Queued, not awaited: the start commits with the writer's next batch, always before this attempt's
        // conclusion (the queue is FIFO), and the conclusion is awaited. A crash in between loses at most
        // the record of an attempt that had not concluded; the step runs again on resume either way.
        writes.Post(new StepStarted(copy));
        observers.StepChanged(run, copy);
        return Task.FromResult(record);
    }

    public async Task SucceedAttemptAsync(InstanceRun run, StepExecutionRecord record, StepResult result, TimeSpan elapsed)
    {
        record.Status = StepStatus.Succeeded;
        record.EndedAt = timeProvider.GetUtcNow();
        record.IsFinal = true;
        record.Outcome = result.Outcome;
        record.OutputJson = result.Output.ToJsonString();
        var copy = Copy(record);
        var entry = run.Journal(record.EndedAt.Value, LogLevel.Information, "StepCompleted",
            $"Step '{record.ActivityId}' completed in {elapsed.TotalMilliseconds:0.###} ms (attempt {record.Attempt}, outcome {result.Outcome}).",
            record.ActivityId, record.Attempt,
            new Dictionary<string, object?>
            {
                ["durationMs"] = elapsed.TotalMilliseconds,
                ["outcome"] = result.Outcome,
                ["parameters"] = record.InputJson is null ? null : JsonDocument.Parse(record.InputJson).RootElement,
            });
        await writes.EnqueueAsync(new StepEnded(copy), new JournalAppended(entry));
        observers.StepChanged(run, copy);
        observers.JournalAppended(entry);
    }

    /// <summary>
    /// Ends the attempt as Suspended (not final: the step runs again when its signal arrives) and stores its bookmark,
    /// in one batch, awaited: a signal can only find a bookmark that is committed.
    /// </summary>
    public async Task<BookmarkRecord> SuspendAttemptAsync(InstanceRun run, StepExecutionRecord record, Abstractions.Activities.Bookmark bookmark)
    {
        var now = timeProvider.GetUtcNow();
        var row = Bookmarks.NewRecord(run.Id, record.ActivityId, bookmark, now);
        record.Status = StepStatus.Suspended;
        record.EndedAt = now;
        record.IsFinal = false;
        var copy = Copy(record);
        var entry = run.Journal(now, LogLevel.Information, "StepSuspended",
            $"Step '{record.ActivityId}' waits for signal '{row.Name}'{(row.Roles.Length > 0 ? $" from a caller with role {row.Roles.Replace(",", " or ", StringComparison.Ordinal)}" : "")}"
            + (row.TimeoutAt is { } due ? $" until {due:u}, then takes its timeout path." : "."),
            record.ActivityId, record.Attempt,
            new Dictionary<string, object?> { ["signal"] = row.Name, ["roles"] = row.Roles, ["timeoutAt"] = row.TimeoutAt, ["description"] = row.Description });
        await writes.EnqueueAsync(new StepEnded(copy), new BookmarkCreated(row), new JournalAppended(entry));
        observers.StepChanged(run, copy);
        observers.JournalAppended(entry);
        return row;
    }

    public async Task FinishAttemptAsync(
        InstanceRun run, StepExecutionRecord? record, StepStatus status, string errorType, string message, bool retryable, TimeSpan? retryDelay, bool final)
    {
        if (record is null || record.Status != StepStatus.Running)
        {
            return;
        }

        record.Status = status;
        record.EndedAt = timeProvider.GetUtcNow();
        record.ErrorType = errorType;
        record.ErrorMessage = message;
        record.Retryable = retryable;
        record.RetryDelayMs = retryDelay?.TotalMilliseconds;
        record.IsFinal = final;
        var copy = Copy(record);
        JournalRecord? entry = null;
        if (final)
        {
            entry = run.Journal(record.EndedAt.Value, status == StepStatus.Cancelled ? LogLevel.Warning : LogLevel.Error,
                status == StepStatus.Cancelled ? "StepCancelled" : "StepFailed",
                $"Step '{record.ActivityId}' {(status == StepStatus.Cancelled ? "was cancelled" : "failed")} on attempt {record.Attempt} ({errorType}): {message}",
                record.ActivityId, record.Attempt,
                new Dictionary<string, object?>
                {
                    ["errorType"] = errorType,
                    ["retryable"] = retryable,
                    ["durationMs"] = (record.EndedAt.Value - record.StartedAt).TotalMilliseconds,
                });
        }

        await writes.EnqueueAsync(entry is null ? [new StepEnded(copy)] : [new StepEnded(copy), new JournalAppended(entry)]);
        observers.StepChanged(run, copy);
        if (entry is not null)
        {
            observers.JournalAppended(entry);
        }
    }

    public void Journal(InstanceRun run, LogLevel level, string eventName, string message, string? activityId, int? attempt, IReadOnlyDictionary<string, object?>? properties)
    {
        var entry = run.Journal(timeProvider.GetUtcNow(), level, eventName, message, activityId, attempt, properties);
        writes.Post(new JournalAppended(entry));
        observers.JournalAppended(entry);
    }

    private static StepExecutionRecord Copy(StepExecutionRecord r) => new()
    {
        Id = r.Id,
        InstanceId = r.InstanceId,
        ActivityId = r.ActivityId,
        ActivityType = r.ActivityType,
        Attempt = r.Attempt,
        Status = r.Status,
        StartedAt = r.StartedAt,
        EndedAt = r.EndedAt,
        ErrorType = r.ErrorType,
        ErrorMessage = r.ErrorMessage,
        Retryable = r.Retryable,
        RetryDelayMs = r.RetryDelayMs,
        IsFinal = r.IsFinal,
        Outcome = r.Outcome,
        OutputJson = r.OutputJson,
        InputJson = r.InputJson,
    };
}
