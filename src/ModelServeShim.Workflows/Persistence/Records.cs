namespace ModelServeShim.Workflows.Persistence;

/// <summary>One version of a workflow definition.</summary>
public sealed class DefinitionRecord
{
    /// <summary>The definition id.</summary>
    public string DefinitionId { get; set; } = "";

    /// <summary>The version, from 1.</summary>
    public int Version { get; set; }

    /// <summary>The name.</summary>
    public string? Name { get; set; }

    /// <summary>The description.</summary>
    public string? Description { get; set; }

    /// <summary>The definition JSON, with this version.</summary>
    public string Json { get; set; } = "";

    /// <summary>SHA-256 of the JSON without its version, to detect unchanged saves.</summary>
    public string ContentHash { get; set; } = "";

    /// <summary>Where it came from: <c>api</c> or <c>file:workflows/x.json</c>.</summary>
    public string Source { get; set; } = "";

    /// <summary>Who saved it.</summary>
    public string CreatedBy { get; set; } = "";

    /// <summary>When it was saved.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Whether this is the newest version.</summary>
    public bool IsLatest { get; set; }

    /// <summary>Deleted definitions keep their versions for running instances but cannot start new ones.</summary>
    public bool IsDeleted { get; set; }
}

/// <summary>A workflow instance.</summary>
public sealed class InstanceRecord
{
    /// <summary>The instance id.</summary>
    public string Id { get; set; } = "";

    /// <summary>The definition id.</summary>
    public string DefinitionId { get; set; } = "";

    /// <summary>The definition version it runs.</summary>
    public int DefinitionVersion { get; set; }

    /// <summary>The status.</summary>
    public InstanceStatus Status { get; set; }

    /// <summary>The input JSON.</summary>
    public string InputJson { get; set; } = "{}";

    /// <summary>The output JSON (step outputs by step id) once finished.</summary>
    public string? OutputJson { get; set; }

    /// <summary>The correlation id (for deployments, the service id).</summary>
    public string? CorrelationId { get; set; }

    /// <summary>Who started it.</summary>
    public string Operator { get; set; } = "";

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it started running.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When it finished.</summary>
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The step that faulted it.</summary>
    public string? FaultedStep { get; set; }

    /// <summary>The error type that faulted or cancelled it.</summary>
    public string? ErrorType { get; set; }

    /// <summary>The error message.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>How many times it was resumed after a restart.</summary>
    public int ResumeCount { get; set; }

    /// <summary>
    /// The replica that runs it (<see cref="ReplicaRecord.Id"/>): the one that started it, or the one that took it over
    /// after its owner's lease expired. Null for rows written before leases existed (any replica may claim them).
    /// </summary>
    public string? Owner { get; set; }

    /// <summary>A cancel asked on a replica that does not run the instance, for its owner to carry out; null when none.</summary>
    public string? CancelReason { get; set; }

    /// <summary>Who asked for <see cref="CancelReason"/>.</summary>
    public string? CancelRequestedBy { get; set; }
}

/// <summary>
/// One control-plane process on the shared database (PostgreSQL): it heartbeats its row, and the instances it owns
/// (<see cref="InstanceRecord.Owner"/>) are taken over by another replica once the heartbeat is older than the lease.
/// </summary>
public sealed class ReplicaRecord
{
    /// <summary>The replica id (host, process id and a random suffix).</summary>
    public string Id { get; set; } = "";

    /// <summary>The machine (host name).</summary>
    public string Host { get; set; } = "";

    /// <summary>The process id on that machine.</summary>
    public int ProcessId { get; set; }

    /// <summary>When the process started.</summary>
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>The last heartbeat.</summary>
    public DateTimeOffset HeartbeatAt { get; set; }
}

/// <summary>Instance statuses.</summary>
public enum InstanceStatus
{
    /// <summary>Waiting for a free slot.</summary>
    Pending,
    /// <summary>Running.</summary>
    Running,
    /// <summary>Waiting for a signal (<see cref="BookmarkRecord"/>): no step runs, it holds no slot.</summary>
    Suspended,
    /// <summary>Finished: every reachable step completed.</summary>
    Completed,
    /// <summary>A step failed with no <c>Failed</c> connection.</summary>
    Faulted,
    /// <summary>Cancelled by a request.</summary>
    Cancelled,
}

/// <summary>One attempt of one step.</summary>
public sealed class StepExecutionRecord
{
    /// <summary>The attempt's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The instance.</summary>
    public string InstanceId { get; set; } = "";

    /// <summary>The step (activity id).</summary>
    public string ActivityId { get; set; } = "";

    /// <summary>The activity type.</summary>
    public string ActivityType { get; set; } = "";

    /// <summary>The attempt number, from 1.</summary>
    public int Attempt { get; set; }

    /// <summary>The attempt's status.</summary>
    public StepStatus Status { get; set; }

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>The error type, when it failed.</summary>
    public string? ErrorType { get; set; }

    /// <summary>The error message.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>Whether the error allowed another attempt.</summary>
    public bool? Retryable { get; set; }

    /// <summary>The delay before the next attempt, in milliseconds, when one followed.</summary>
    public double? RetryDelayMs { get; set; }

    /// <summary>True on the attempt that concluded the step.</summary>
    public bool IsFinal { get; set; }

    /// <summary>The outcome port the step fired (final attempts).</summary>
    public string? Outcome { get; set; }

    /// <summary>The step's outputs as JSON (final attempts).</summary>
    public string? OutputJson { get; set; }

    /// <summary>The inputs the attempt ran with, as JSON.</summary>
    public string? InputJson { get; set; }
}

/// <summary>Step attempt statuses.</summary>
public enum StepStatus
{
    /// <summary>Running now.</summary>
    Running,
    /// <summary>Completed.</summary>
    Succeeded,
    /// <summary>Failed (it may be retried).</summary>
    Failed,
    /// <summary>Exceeded its timeout.</summary>
    TimedOut,
    /// <summary>The instance was cancelled while it ran.</summary>
    Cancelled,
    /// <summary>The server stopped while it ran; it ran again on resume.</summary>
    Interrupted,
    /// <summary>The attempt suspended the instance: the step waits for a signal and runs again when it arrives.</summary>
    Suspended,
}

/// <summary>
/// What a suspended step waits for (a bookmark): a named signal or a timeout. Resolved exactly once, by the first of
/// the signal, the timeout or a cancel, through a conditional update (<see cref="ResolvedAt"/> still null).
/// </summary>
public sealed class BookmarkRecord
{
    /// <summary>The bookmark's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The instance.</summary>
    public string InstanceId { get; set; } = "";

    /// <summary>The step that suspended.</summary>
    public string ActivityId { get; set; } = "";

    /// <summary>The signal's name.</summary>
    public string Name { get; set; } = "";

    /// <summary>What the step waits for, for people.</summary>
    public string? Description { get; set; }

    /// <summary>The roles that may send the signal, comma-separated; empty for operators.</summary>
    public string Roles { get; set; } = "";

    /// <summary>The JSON Schema the payload must match, if any.</summary>
    public string? PayloadSchemaJson { get; set; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it times out, if it does.</summary>
    public DateTimeOffset? TimeoutAt { get; set; }

    /// <summary>When it was resolved; null while the step waits.</summary>
    public DateTimeOffset? ResolvedAt { get; set; }

    /// <summary>How: <c>Received</c>, <c>TimedOut</c> or <c>Cancelled</c>.</summary>
    public string? Resolution { get; set; }

    /// <summary>Who resolved it (the signal's sender; <c>runtime</c> for a timeout).</summary>
    public string? ResolvedBy { get; set; }

    /// <summary>The signal's payload as JSON.</summary>
    public string? PayloadJson { get; set; }
}

/// <summary>A journal entry: what happened, for people.</summary>
public sealed class JournalRecord
{
    /// <summary>Store id.</summary>
    public long Id { get; set; }

    /// <summary>The instance.</summary>
    public string InstanceId { get; set; } = "";

    /// <summary>The order within the instance, from 1.</summary>
    public long Sequence { get; set; }

    /// <summary>When.</summary>
    public DateTimeOffset Timestamp { get; set; }

    /// <summary>Trace, Debug, Information, Warning, Error or Critical.</summary>
    public string Level { get; set; } = "Information";

    /// <summary>The step, if any.</summary>
    public string? ActivityId { get; set; }

    /// <summary>The attempt, if any.</summary>
    public int? Attempt { get; set; }

    /// <summary>The event name, e.g. <c>StepCompleted</c>.</summary>
    public string Event { get; set; } = "";

    /// <summary>The message.</summary>
    public string Message { get; set; } = "";

    /// <summary>Structured properties (operator, duration, parameters) as JSON.</summary>
    public string? PropertiesJson { get; set; }
}
