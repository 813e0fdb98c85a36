using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows.Execution;

/// <summary>The in-memory state of one running instance. Only the engine mutates it.</summary>
public sealed class InstanceRun
{
    private long _journalSequence;

    internal InstanceRun(InstanceRecord record, CompiledWorkflow workflow, JsonObject input)
    {
        Record = record;
        Workflow = workflow;
        Input = input;
    }

    /// <summary>The instance id.</summary>
    public string Id => Record.Id;

    /// <summary>The stored row as last written (the engine writes copies).</summary>
    internal InstanceRecord Record { get; }

    /// <summary>The compiled definition version.</summary>
    public CompiledWorkflow Workflow { get; }

    /// <summary>The input.</summary>
    public JsonObject Input { get; }

    /// <summary>Steps that finished, with the port they fired.</summary>
    internal ConcurrentDictionary<string, StepResult> Completed { get; } = new(StringComparer.Ordinal);

    /// <summary>Steps on dead paths.</summary>
    internal HashSet<string> Skipped { get; } = new(StringComparer.Ordinal);

    /// <summary>Attempts already made per step (continues numbering after a resume).</summary>
    internal ConcurrentDictionary<string, int> Attempts { get; } = new(StringComparer.Ordinal);

    /// <summary>Steps that suspended the instance, with their open bookmark.</summary>
    internal ConcurrentDictionary<string, BookmarkRecord> Waiting { get; } = new(StringComparer.Ordinal);

    /// <summary>Signals (or timeouts) delivered to waiting steps, consumed when the step runs again.</summary>
    internal ConcurrentDictionary<string, Abstractions.Activities.SignalDelivery> Signals { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Guards the hand-over between a run that is about to suspend (<see cref="Parked"/>) and a signal delivered to it
    /// in memory: a signal either reaches the live run, or finds it parked and resumes the instance from the store.
    /// </summary>
    internal Lock Gate { get; } = new();

    /// <summary>True once the run decided to suspend: signals then resume the instance from the store.</summary>
    internal bool Parked { get; set; }

    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a signal is delivered to this live run (see <see cref="Wake"/>).</summary>
    internal Task Woken => Volatile.Read(ref _wake).Task;

    /// <summary>Wakes the engine's loop for this run: a waiting step has its signal.</summary>
    internal void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Cancelled by a user request.</summary>
    internal CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Completes when the instance stops running in this process.</summary>
    internal TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Why it was cancelled, and by whom.</summary>
    internal (string Reason, string By)? CancelRequest { get; set; }

    internal void SetJournalSequence(long value) => _journalSequence = value;

    internal long NextJournalSequence() => Interlocked.Increment(ref _journalSequence);

    /// <summary>A copy of the row, for a write.</summary>
    internal InstanceRecord Snapshot() => new()
    {
        Id = Record.Id,
        DefinitionId = Record.DefinitionId,
        DefinitionVersion = Record.DefinitionVersion,
        Status = Record.Status,
        InputJson = Record.InputJson,
        OutputJson = Record.OutputJson,
        CorrelationId = Record.CorrelationId,
        Operator = Record.Operator,
        CreatedAt = Record.CreatedAt,
        StartedAt = Record.StartedAt,
        UpdatedAt = Record.UpdatedAt,
        FinishedAt = Record.FinishedAt,
        FaultedStep = Record.FaultedStep,
        ErrorType = Record.ErrorType,
        ErrorMessage = Record.ErrorMessage,
        ResumeCount = Record.ResumeCount,
        Owner = Record.Owner,
        CancelReason = Record.CancelReason,
        CancelRequestedBy = Record.CancelRequestedBy,
    };

    /// <summary>Builds a journal entry with the next sequence number.</summary>
    internal JournalRecord Journal(
        DateTimeOffset at, LogLevel level, string eventName, string message, string? activityId = null, int? attempt = null,
        IReadOnlyDictionary<string, object?>? properties = null)
    {
        var props = new Dictionary<string, object?> { ["operator"] = Record.Operator };
        if (properties is not null)
        {
            foreach (var (k, v) in properties)
            {
                props[k] = v;
            }
        }

        return new JournalRecord
        {
            InstanceId = Id,
            Sequence = NextJournalSequence(),
            Timestamp = at,
            Level = level.ToString(),
            ActivityId = activityId,
            Attempt = attempt,
            Event = eventName,
            Message = message,
            PropertiesJson = JsonSerializer.Serialize(props, JsonOptions.Compact),
        };
    }
}

/// <summary>Shared serializer settings for stored JSON.</summary>
internal static class JsonOptions
{
    public static readonly JsonSerializerOptions Compact = new(JsonSerializerDefaults.Web);
}
