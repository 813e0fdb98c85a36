using System.Globalization;
using System.Text.Json.Nodes;
using ModelServeShim.Workflows.Persistence;
using static ModelServeShim.Apis.Elsa.ElsaDefinitionMapper;

namespace ModelServeShim.Apis.Elsa;

/// <summary>Our instances, step attempts and journal as Elsa 3's instance, activity execution and journal models.</summary>
public static class ElsaInstanceMapper
{
    /// <summary>
    /// Elsa's status and sub-status of one of ours. Read by name, so that a status this build does not know (another
    /// build's, e.g. Suspended) maps sensibly: unknown and unfinished is Running/Executing, unknown and finished is
    /// Finished/Finished.
    /// </summary>
    public static (string Status, string SubStatus) Status(string status, bool finished) => status switch
    {
        "Pending" => ("Running", "Pending"),
        "Running" => ("Running", "Executing"),
        "Suspended" => ("Running", "Suspended"),
        "Completed" or "Finished" => ("Finished", "Finished"),
        "Faulted" or "Failed" => ("Finished", "Faulted"),
        "Cancelled" or "Canceled" => ("Finished", "Cancelled"),
        _ => finished ? ("Finished", "Finished") : ("Running", "Executing"),
    };

    /// <summary>Elsa's activity status of one attempt.</summary>
    public static string ActivityStatus(StepStatus status) => status.ToString() switch
    {
        "Running" => "Running",
        "Succeeded" => "Completed",
        "Cancelled" => "Canceled",
        "Interrupted" => "Pending",
        "Failed" or "TimedOut" => "Faulted",
        _ => "Running",
    };

    /// <summary>Elsa's <c>WorkflowInstance</c> with its <c>workflowState</c>.</summary>
    public static JsonObject ToInstance(InstanceRecord instance, IReadOnlyList<StepExecutionRecord> steps)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var (status, subStatus) = Status(instance.Status.ToString(), instance.FinishedAt is not null);
        return new JsonObject
        {
            ["id"] = instance.Id,
            ["definitionId"] = instance.DefinitionId,
            ["definitionVersionId"] = VersionId(instance.DefinitionId, instance.DefinitionVersion),
            ["version"] = instance.DefinitionVersion,
            ["workflowState"] = ToState(instance, steps),
            ["status"] = status,
            ["subStatus"] = subStatus,
            ["correlationId"] = instance.CorrelationId,
            ["name"] = null,
            ["incidentCount"] = instance.FaultedStep is null ? 0 : 1,
            ["isSystem"] = false,
            ["createdAt"] = Time(instance.CreatedAt),
            ["updatedAt"] = Time(instance.UpdatedAt),
            ["finishedAt"] = instance.FinishedAt is { } f ? Time(f) : null,
            ["initiator"] = instance.Operator,
        };
    }

    /// <summary>Elsa's <c>WorkflowState</c>.</summary>
    public static JsonObject ToState(InstanceRecord instance, IReadOnlyList<StepExecutionRecord> steps)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(steps);
        var (status, subStatus) = Status(instance.Status.ToString(), instance.FinishedAt is not null);
        var incidents = new JsonArray();
        if (instance.FaultedStep is { } faulted)
        {
            var step = steps.Where(s => s.ActivityId == faulted).MaxBy(s => s.Attempt);
            incidents.Add(new JsonObject
            {
                ["activityId"] = faulted,
                ["activityNodeId"] = NodeId(faulted),
                ["activityType"] = step?.ActivityType ?? "",
                ["message"] = instance.ErrorMessage,
                ["exception"] = Exception(instance.ErrorType, instance.ErrorMessage),
                ["timestamp"] = Time(instance.FinishedAt ?? instance.UpdatedAt),
            });
        }

        return new JsonObject
        {
            ["id"] = instance.Id,
            ["definitionId"] = instance.DefinitionId,
            ["definitionVersionId"] = VersionId(instance.DefinitionId, instance.DefinitionVersion),
            ["definitionVersion"] = instance.DefinitionVersion,
            ["correlationId"] = instance.CorrelationId,
            ["status"] = status,
            ["subStatus"] = subStatus,
            ["bookmarks"] = new JsonArray(),
            ["incidents"] = incidents,
            ["fault"] = instance.FaultedStep is null ? null : new JsonObject
            {
                ["exception"] = Exception(instance.ErrorType, instance.ErrorMessage),
                ["message"] = instance.ErrorMessage,
                ["faultedActivityId"] = instance.FaultedStep,
            },
            ["completionCallbacks"] = new JsonArray(),
            ["activityExecutionContexts"] = new JsonArray(),
            ["input"] = Parse(instance.InputJson) ?? new JsonObject(),
            ["output"] = Parse(instance.OutputJson) ?? new JsonObject(),
            ["properties"] = new JsonObject(),
            ["createdAt"] = Time(instance.CreatedAt),
            ["updatedAt"] = Time(instance.UpdatedAt),
            ["finishedAt"] = instance.FinishedAt is { } f ? Time(f) : null,
        };
    }

    /// <summary>Elsa's <c>ActivityExecutionRecord</c> of one attempt (inputs as its activity state).</summary>
    public static JsonObject ToActivityExecution(StepExecutionRecord step, bool summary = false)
    {
        ArgumentNullException.ThrowIfNull(step);
        var o = new JsonObject
        {
            ["id"] = step.Id.ToString("N"),
            ["workflowInstanceId"] = step.InstanceId,
            ["activityId"] = step.ActivityId,
            ["activityNodeId"] = NodeId(step.ActivityId),
            ["activityType"] = step.ActivityType,
            ["activityTypeVersion"] = 1,
            ["activityName"] = step.ActivityId,
            ["startedAt"] = Time(step.StartedAt),
            ["hasBookmarks"] = false,
            ["status"] = ActivityStatus(step.Status),
            ["aggregateFaultCount"] = step.ErrorType is null ? 0 : 1,
            ["completedAt"] = step.EndedAt is { } e ? Time(e) : null,
        };
        if (summary)
        {
            return o;
        }

        o["activityState"] = Parse(step.InputJson) ?? new JsonObject();
        o["outputs"] = Parse(step.OutputJson) ?? new JsonObject();
        o["payload"] = new JsonObject
        {
            // "Outcomes" is the key Studio's execution details read (case-sensitive).
            ["Outcomes"] = step.Outcome is null ? null : new JsonArray(step.Outcome),
            ["attempt"] = step.Attempt,
            ["isFinal"] = step.IsFinal,
            ["retryable"] = step.Retryable,
            ["retryDelayMs"] = step.RetryDelayMs,
        };
        o["exception"] = step.ErrorType is null && step.ErrorMessage is null ? null : Exception(step.ErrorType, step.ErrorMessage);
        o["properties"] = new JsonObject();
        o["metadata"] = new JsonObject();
        return o;
    }

    /// <summary>Elsa's per-activity execution stats (the node badges of the instance viewer).</summary>
    public static JsonObject ToStats(string activityId, IReadOnlyList<StepExecutionRecord> attempts)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        return new JsonObject
        {
            ["activityId"] = activityId,
            ["activityNodeId"] = NodeId(activityId),
            ["startedCount"] = attempts.Count,
            ["completedCount"] = attempts.Count(a => a.Status == StepStatus.Succeeded),
            ["uncompletedCount"] = attempts.Count(a => a.Status == StepStatus.Running),
            ["isBlocked"] = false,
            ["isFaulted"] = attempts.Any(a => a.IsFinal && a.Status is StepStatus.Failed or StepStatus.TimedOut),
        };
    }

    /// <summary>
    /// Elsa's journal of an instance: a "Started" record per attempt (from the attempt rows) merged with our journal
    /// entries (step completions, failures, retries, logs, instance events), in time order.
    /// </summary>
    public static List<JsonObject> ToJournal(InstanceRecord instance, IReadOnlyList<StepExecutionRecord> steps, IReadOnlyList<JournalRecord> journal)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(journal);
        var attemptIds = steps.ToDictionary(s => (s.ActivityId, s.Attempt), s => s.Id.ToString("N"));
        var types = steps.GroupBy(s => s.ActivityId).ToDictionary(g => g.Key, g => g.First().ActivityType);
        var records = new List<(DateTimeOffset At, int Order, JsonObject Record)>();
        foreach (var s in steps)
        {
            records.Add((s.StartedAt, 0, Log($"started:{s.Id:N}", s.Id.ToString("N"), s.ActivityId, s.ActivityType, s.StartedAt, "Started",
                $"Step '{s.ActivityId}' started (attempt {s.Attempt}).", new JsonObject { ["attempt"] = s.Attempt })));
        }

        foreach (var j in journal)
        {
            var activityId = j.ActivityId ?? RootId;
            var type = j.ActivityId is null ? FlowchartType : types.GetValueOrDefault(j.ActivityId, "");
            var instanceId = j.ActivityId is not null && j.Attempt is { } attempt && attemptIds.TryGetValue((j.ActivityId, attempt), out var a) ? a : RootId;
            records.Add((j.Timestamp, 1, Log(j.Sequence.ToString(CultureInfo.InvariantCulture), instanceId, activityId, type, j.Timestamp, EventName(j.Event), j.Message,
                Parse(j.PropertiesJson))));
        }

        var ordered = records.OrderBy(r => r.At).ThenBy(r => r.Order).Select(r => r.Record).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            ordered[i]["sequence"] = i;
        }

        return ordered;
    }

    /// <summary>Elsa's event name of one of our journal events.</summary>
    public static string EventName(string ourEvent) => ourEvent switch
    {
        "StepCompleted" => "Completed",
        "StepFailed" => "Faulted",
        "StepCancelled" => "Canceled",
        "StepRetrying" => "Retrying",
        "StepLog" => "Log",
        _ => ourEvent,
    };

    private static JsonObject Log(string id, string activityInstanceId, string activityId, string activityType, DateTimeOffset at, string eventName, string message, JsonNode? payload) => new()
    {
        ["id"] = id,
        ["activityInstanceId"] = activityInstanceId,
        ["parentActivityInstanceId"] = activityId == RootId ? null : RootId,
        ["activityId"] = activityId,
        ["activityType"] = activityType,
        ["activityTypeVersion"] = 1,
        ["activityName"] = activityId,
        ["nodeId"] = activityId == RootId ? RootId : NodeId(activityId),
        ["timestamp"] = Time(at),
        ["eventName"] = eventName,
        ["message"] = message,
        ["source"] = null,
        ["activityState"] = null,
        ["payload"] = payload,
    };

    private static JsonObject Exception(string? type, string? message) => new()
    {
        ["type"] = type ?? "Error",
        ["message"] = message ?? "",
        ["stackTrace"] = null,
        ["innerException"] = null,
    };

    private static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);

    private static string Time(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);
}
