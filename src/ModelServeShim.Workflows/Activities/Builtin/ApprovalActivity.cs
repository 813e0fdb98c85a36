using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;

namespace ModelServeShim.Workflows.Activities.Builtin;

/// <summary>
/// A human sign-off: suspends the instance until a caller with <see cref="RequiredRole"/> sends the signal
/// <see cref="SignalName"/> (<c>{"decision": "approve" | "reject", "comment": "…"}</c>) or <see cref="Timeout"/> passes,
/// then fires <c>Approved</c>, <c>Rejected</c> or <c>TimedOut</c> and records who decided, with the comment.
/// </summary>
[Activity("ModelServeShim.Approval", Category = "Primitives", DisplayName = "Approval",
    Description = "Waits (durably, holding no slot) for an approver to approve or reject, with a comment; or times out.")]
[Outcomes(ApprovedPort, RejectedPort, TimedOutPort)]
[Output("decision", "string", Description = "approve, reject or timeout.")]
[Output("by", "string", Description = "Who decided (the API key's name; 'runtime' on a timeout).")]
[Output("comment", "string", Description = "The approver's comment.")]
[Output("approval", "object", Kind = OutputKinds.Approval, Description = "The decision, who, the comment and when.")]
public sealed class ApprovalActivity : Activity
{
    /// <summary>The signal an approval step waits for.</summary>
    public const string SignalName = "approval";

    /// <summary>The port fired when approved.</summary>
    public const string ApprovedPort = "Approved";

    /// <summary>The port fired when rejected.</summary>
    public const string RejectedPort = "Rejected";

    /// <summary>The port fired when nobody decided in time.</summary>
    public const string TimedOutPort = "TimedOut";

    /// <summary>The most characters of a comment.</summary>
    public const int MaxCommentLength = 2000;

    /// <summary>The payload an approver sends.</summary>
    public static readonly JsonObject PayloadSchema = new()
    {
        ["type"] = "object",
        ["required"] = new JsonArray("decision"),
        ["additionalProperties"] = false,
        ["properties"] = new JsonObject
        {
            ["decision"] = new JsonObject { ["enum"] = new JsonArray("approve", "reject") },
            ["comment"] = new JsonObject { ["type"] = new JsonArray("string", "null"), ["maxLength"] = MaxCommentLength },
        },
    };

    /// <summary>How long to wait for a decision.</summary>
    [Input(Description = "How long to wait for a decision, e.g. 24h; empty to wait until someone decides or the pipeline is cancelled.")]
    public TimeSpan? Timeout { get; set; }

    /// <summary>The role that may decide.</summary>
    [Input(DefaultJson = "\"approver\"", Description = "The role that may approve or reject (admins may too when it is approver).")]
    public string RequiredRole { get; set; } = "approver";

    /// <summary>What is to be approved.</summary>
    [Input(Description = "What the approver is asked to sign off, shown with the pending approval.")]
    public string? Subject { get; set; }

    /// <inheritdoc />
    public override ValueTask<ActivityResult> ExecuteAsync(ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Signal is not { } signal)
        {
            if (string.IsNullOrWhiteSpace(RequiredRole))
            {
                throw StepException.NonRetryable(StepErrorTypes.InvalidInput, $"Input 'requiredRole' of step '{context.ActivityId}' is empty: name the role that may approve, e.g. approver.");
            }

            context.Log(LogLevel.Information, $"Waiting for approval by a caller with role {RequiredRole}{(Timeout is { } t ? $" for up to {t}" : "")}.",
                new Dictionary<string, object?> { ["requiredRole"] = RequiredRole, ["timeout"] = Timeout?.ToString() });
            return ValueTask.FromResult(ActivityResult.Suspend(new Bookmark(
                SignalName, [RequiredRole.Trim()], PayloadSchema, Timeout, Subject ?? $"Approval of '{context.CorrelationId ?? context.InstanceId}' (started by {context.Operator})")));
        }

        string decision, port;
        string? comment = null;
        if (signal.Kind == SignalKind.TimedOut)
        {
            (decision, port) = ("timeout", TimedOutPort);
        }
        else
        {
            decision = signal.Payload?["decision"]?.GetValue<string>() ?? "reject";
            comment = signal.Payload?["comment"]?.GetValue<string>();
            port = decision == "approve" ? ApprovedPort : RejectedPort;
        }

        context.SetOutput("decision", decision);
        context.SetOutput("by", signal.By);
        context.SetOutput("comment", comment);
        context.SetOutput("approval", new JsonObject { ["decision"] = decision, ["by"] = signal.By, ["comment"] = comment, ["at"] = signal.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture) });
        context.Log(decision == "approve" ? LogLevel.Information : LogLevel.Warning,
            signal.Kind == SignalKind.TimedOut
                ? "Nobody approved in time."
                : $"{(decision == "approve" ? "Approved" : "Rejected")} by {signal.By}{(string.IsNullOrEmpty(comment) ? "" : $": {comment}")}",
            new Dictionary<string, object?> { ["decision"] = decision, ["by"] = signal.By, ["comment"] = comment });
        return ValueTask.FromResult(ActivityResult.Port(port));
    }
}
