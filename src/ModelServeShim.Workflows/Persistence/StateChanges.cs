namespace ModelServeShim.Workflows.Persistence;

/// <summary>
/// One write the runtime makes: a row inserted, or the columns one transition changes. Changes carry their
/// own copies of the data (records built for the write, not objects the engine keeps mutating).
/// </summary>
internal abstract record StateChange;

/// <summary>A new instance (Pending), every column.</summary>
internal sealed record InstanceInserted(InstanceRecord Row) : StateChange;

/// <summary>The instance started running: Status, StartedAt, UpdatedAt.</summary>
internal sealed record InstanceStarted(string Id, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt) : StateChange;

/// <summary>The instance was resumed after a restart: ResumeCount, UpdatedAt.</summary>
internal sealed record InstanceResumed(string Id, int ResumeCount, DateTimeOffset UpdatedAt) : StateChange;

/// <summary>
/// The instance ended: Status, OutputJson, FinishedAt, UpdatedAt (= FinishedAt), FaultedStep, ErrorType, ErrorMessage.
/// </summary>
internal sealed record InstanceFinished(
    string Id, InstanceStatus Status, string? OutputJson, DateTimeOffset FinishedAt, string? FaultedStep, string? ErrorType, string? ErrorMessage)
    : StateChange;

/// <summary>A step attempt started, every column.</summary>
internal sealed record StepStarted(StepExecutionRecord Row) : StateChange;

/// <summary>
/// A step attempt ended: the columns an attempt's end sets (Status, EndedAt, ErrorType, ErrorMessage, Retryable,
/// RetryDelayMs, IsFinal, Outcome, OutputJson, InputJson). The attempt's identity and start are not rewritten.
/// </summary>
internal sealed record StepEnded(StepExecutionRecord Row) : StateChange;

/// <summary>A journal entry; the store assigns <see cref="JournalRecord.Id"/> when it commits.</summary>
internal sealed record JournalAppended(JournalRecord Row) : StateChange;

/// <summary>The instance suspended (waits for a signal) or runs again after one: Status, UpdatedAt.</summary>
internal sealed record InstanceStatusChanged(string Id, InstanceStatus Status, DateTimeOffset UpdatedAt) : StateChange;

/// <summary>A suspended step's bookmark, every column.</summary>
internal sealed record BookmarkCreated(BookmarkRecord Row) : StateChange;
