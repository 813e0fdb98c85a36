using System.Text.Json.Nodes;

namespace ModelServeShim.Abstractions.Activities;

/// <summary>
/// What a suspended step waits for: a named signal (<c>POST /api/v1/workflow-instances/{id}/signals/{name}</c>), sent by a
/// caller in one of <see cref="Roles"/>, with a payload matching <see cref="PayloadSchema"/>, or the end of
/// <see cref="Timeout"/>. The instance holds no thread and no slot while it waits, and the wait survives restarts.
/// When the signal (or the timeout) arrives, the runtime runs the step again with <see cref="ActivityContext.Signal"/> set;
/// the activity then fires a port.
/// </summary>
/// <param name="Name">The signal's name: letters, digits, '-', '_' and '.', up to 64.</param>
/// <param name="Roles">The roles any one of which may send it (e.g. <c>approver</c>); empty for operators.</param>
/// <param name="PayloadSchema">A JSON Schema the payload must match (the signal is refused, 400, otherwise); null for any payload.</param>
/// <param name="Timeout">How long to wait; null to wait until signalled or cancelled.</param>
/// <param name="Description">What the step waits for, for people (shown in the API and the UI).</param>
public sealed record Bookmark(string Name, IReadOnlyList<string> Roles, JsonObject? PayloadSchema = null, TimeSpan? Timeout = null, string? Description = null);

/// <summary>Why a suspended step runs again.</summary>
public enum SignalKind
{
    /// <summary>The signal arrived.</summary>
    Received,

    /// <summary>The bookmark's timeout passed first.</summary>
    TimedOut,
}

/// <summary>The signal (or the timeout) that resumed a suspended step.</summary>
/// <param name="Name">The bookmark's name.</param>
/// <param name="Kind">Received or timed out.</param>
/// <param name="Payload">The payload (null on a timeout), already checked against the bookmark's schema.</param>
/// <param name="By">Who sent it (the API key's name; <c>runtime</c> for a timeout).</param>
/// <param name="At">When it was accepted.</param>
public sealed record SignalDelivery(string Name, SignalKind Kind, JsonNode? Payload, string By, DateTimeOffset At);
