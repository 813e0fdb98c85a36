using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using ModelServeShim.ControlPlane;
using ModelServeShim.Security;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Apis;

/// <summary>An instance in lists.</summary>
public sealed record InstanceSummary(
    string Id, string DefinitionId, int DefinitionVersion, InstanceStatus Status, IReadOnlyList<string> CurrentSteps,
    string? CorrelationId, string Operator, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    string? FaultedStep, string? ErrorType, string? ErrorMessage, int ResumeCount)
{
    /// <summary>An instance no step of which has started yet (just created).</summary>
    internal static InstanceSummary From(InstanceRecord r) => From(r, []);

    internal static InstanceSummary From(InstanceRecord r, IReadOnlyList<string> currentSteps) => new(
        r.Id, r.DefinitionId, r.DefinitionVersion, r.Status, IsActive(r.Status) ? currentSteps : [],
        r.CorrelationId, r.Operator, r.CreatedAt, r.StartedAt, r.FinishedAt, r.FaultedStep, r.ErrorType, r.ErrorMessage, r.ResumeCount);

    internal static bool IsActive(InstanceStatus status) => status is InstanceStatus.Pending or InstanceStatus.Running or InstanceStatus.Suspended;

    /// <summary>The signals the instance waits for (its suspended steps' open bookmarks); empty when none.</summary>
    public IReadOnlyList<WaitingSignal> WaitingFor { get; init; } = [];

    /// <summary>
    /// The steps in flight, from the attempt rows: those whose latest attempt has not concluded the step (running,
    /// or failed and waiting for a retry, or interrupted and due to run again), in the order they started.
    /// </summary>
    internal static Dictionary<string, string[]> CurrentStepsOf(IEnumerable<AttemptState> attempts) => attempts
        .GroupBy(a => (a.InstanceId, a.ActivityId))
        .Select(g => g.MaxBy(a => a.Attempt)!)
        .Where(a => !a.IsFinal)
        .GroupBy(a => a.InstanceId, StringComparer.Ordinal)
        .ToDictionary(
            g => g.Key,
            g => g.OrderBy(a => a.StartedAt).ThenBy(a => a.ActivityId, StringComparer.Ordinal).Select(a => a.ActivityId).ToArray(),
            StringComparer.Ordinal);

    /// <summary>The columns of a step attempt that current steps are derived from.</summary>
    internal sealed record AttemptState(string InstanceId, string ActivityId, int Attempt, bool IsFinal, DateTimeOffset StartedAt);
}

/// <summary>A signal a suspended step waits for.</summary>
/// <param name="Signal">The signal's name (<c>POST /api/v1/workflow-instances/{id}/signals/{name}</c>).</param>
/// <param name="ActivityId">The waiting step.</param>
/// <param name="Description">What it waits for.</param>
/// <param name="Roles">The roles that may send it.</param>
/// <param name="Since">When the step started waiting.</param>
/// <param name="TimeoutAt">When it stops waiting and takes its timeout path, if it does.</param>
/// <param name="PayloadSchema">The JSON Schema of the payload, if any.</param>
public sealed record WaitingSignal(
    string Signal, string ActivityId, string? Description, IReadOnlyList<string> Roles, DateTimeOffset Since, DateTimeOffset? TimeoutAt, JsonNode? PayloadSchema)
{
    internal static WaitingSignal From(BookmarkRecord b) => new(
        b.Name, b.ActivityId, b.Description, Bookmarks.RolesOf(b), b.CreatedAt, b.TimeoutAt, b.PayloadSchemaJson is null ? null : JsonNode.Parse(b.PayloadSchemaJson));
}

/// <summary>A signal accepted.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Signal">The signal.</param>
/// <param name="ActivityId">The step that runs again with it.</param>
/// <param name="By">Who sent it.</param>
public sealed record SignalAccepted(string InstanceId, string Signal, string ActivityId, string By);

/// <summary>One step attempt.</summary>
public sealed record StepAttempt(
    string ActivityId, string ActivityType, int Attempt, StepStatus Status, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    double? DurationMs, string? ErrorType, string? ErrorMessage, bool? Retryable, double? RetryDelayMs, bool IsFinal,
    string? Outcome, JsonNode? Output, JsonNode? Input)
{
    internal static StepAttempt From(StepExecutionRecord s) => new(
        s.ActivityId, s.ActivityType, s.Attempt, s.Status, s.StartedAt, s.EndedAt, (s.EndedAt - s.StartedAt)?.TotalMilliseconds,
        s.ErrorType, s.ErrorMessage, s.Retryable, s.RetryDelayMs, s.IsFinal, s.Outcome,
        s.OutputJson is null ? null : JsonNode.Parse(s.OutputJson), s.InputJson is null ? null : JsonNode.Parse(s.InputJson));
}

/// <summary>An instance with its input, output and every step attempt.</summary>
public sealed record InstanceDetail(InstanceSummary Instance, JsonNode? Input, JsonNode? Output, IReadOnlyList<StepAttempt> Steps);

/// <summary>A journal entry.</summary>
public sealed record JournalEntry(
    long Sequence, DateTimeOffset Timestamp, string Level, string Event, string? ActivityId, int? Attempt, string Message, JsonNode? Properties)
{
    internal static JournalEntry From(JournalRecord j) => new(
        j.Sequence, j.Timestamp, j.Level, j.Event, j.ActivityId, j.Attempt, j.Message, j.PropertiesJson is null ? null : JsonNode.Parse(j.PropertiesJson));
}

/// <summary>A page of results.</summary>
public sealed record PagedResult<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);

/// <summary>A cancel request.</summary>
/// <param name="Reason">Why.</param>
public sealed record CancelRequest(string? Reason);

/// <summary><c>/api/v1/workflow-instances</c>.</summary>
public static class WorkflowInstancesApi
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapWorkflowInstancesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflow-instances").WithTags("Workflow instances").RequireAuthorization(Policies.View);
        group.MapGet("/", ListAsync).WithName("ListWorkflowInstances")
            .WithSummary("Instances, newest first; filter by status, definitionId, correlationId; page and pageSize (max 500).");
        group.MapGet("/{id}", GetAsync).WithName("GetWorkflowInstance").WithSummary("An instance with every step attempt.");
        group.MapGet("/{id}/journal", JournalAsync).WithName("GetWorkflowInstanceJournal")
            .WithSummary("The instance's journal in order; afterSequence, page and pageSize (max 1000); ?follow=true streams new entries as server-sent events until the instance ends.");
        group.MapPost("/{id}/signals/{name}", SignalAsync).WithName("SignalWorkflowInstance")
            .WithSummary("Sends a signal to a suspended step (the body is its JSON payload); the role the step names is required. 409 when the instance does not wait for it (or another signal won).");
        group.MapPost("/{id}/cancel", CancelAsync).WithName("CancelWorkflowInstance").RequireAuthorization(Policies.Operate)
            .WithSummary("Cancels a pending or running instance; its running step is cancelled cooperatively.");
        return app;
    }

    private static async Task<Results<Ok<PagedResult<InstanceSummary>>, ProblemHttpResult>> ListAsync(
        IDbContextFactory<WorkflowDbContext> factory,
        WorkflowEngine engine,
        [FromQuery] string? status,
        [FromQuery] string? definitionId,
        [FromQuery] string? correlationId,
        CancellationToken ct,
        [FromQuery] int page = 1,
        [FromQuery] int pageSize = 50)
    {
        if (page < 1 || pageSize is < 1 or > 500)
        {
            return Problems.BadRequest(page < 1 ? "page" : "pageSize", "page starts at 1; pageSize is 1 to 500.");
        }

        await using var db = await factory.CreateDbContextAsync(ct);
        var query = db.Instances.AsNoTracking();
        if (status is not null)
        {
            if (!Enum.TryParse<InstanceStatus>(status, ignoreCase: true, out var s) || !Enum.IsDefined(s))
            {
                return Problems.BadRequest("status", $"Unknown status '{status}': use one of {string.Join(", ", Enum.GetNames<InstanceStatus>())}.");
            }

            query = query.Where(i => i.Status == s);
        }

        if (definitionId is not null)
        {
            query = query.Where(i => i.DefinitionId == definitionId);
        }

        if (correlationId is not null)
        {
            query = query.Where(i => i.CorrelationId == correlationId);
        }

        var total = await query.CountAsync(ct);
        var items = await query.OrderByDescending(i => i.CreatedAt).Skip((page - 1) * pageSize).Take(pageSize).ToListAsync(ct);
        var current = await CurrentStepsAsync(db, items, ct);
        var waiting = await engine.Bookmarks.OpenAsync([.. items.Where(i => i.Status == InstanceStatus.Suspended || i.Status == InstanceStatus.Running).Select(i => i.Id)], ct);
        return TypedResults.Ok(new PagedResult<InstanceSummary>(
            [.. items.Select(i => InstanceSummary.From(i, current.GetValueOrDefault(i.Id, [])) with { WaitingFor = WaitingOf(waiting, i.Id) })], page, pageSize, total));
    }

    private static async Task<Results<Ok<InstanceDetail>, ProblemHttpResult>> GetAsync(
        string id, IDbContextFactory<WorkflowDbContext> factory, WorkflowEngine engine, CancellationToken ct)
    {
        await using var db = await factory.CreateDbContextAsync(ct);
        var instance = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
        if (instance is null)
        {
            return NotFound(id);
        }

        var steps = await db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == id).ToListAsync(ct);
        var current = InstanceSummary.CurrentStepsOf(steps.Select(s => new InstanceSummary.AttemptState(s.InstanceId, s.ActivityId, s.Attempt, s.IsFinal, s.StartedAt)));
        var waiting = await engine.Bookmarks.OpenAsync([id], ct);
        return TypedResults.Ok(new InstanceDetail(
            InstanceSummary.From(instance, current.GetValueOrDefault(id, [])) with { WaitingFor = WaitingOf(waiting, id) },
            JsonNode.Parse(instance.InputJson),
            instance.OutputJson is null ? null : JsonNode.Parse(instance.OutputJson),
            [.. steps.OrderBy(s => s.StartedAt).ThenBy(s => s.Attempt).Select(StepAttempt.From)]));
    }

    private static async Task<Results<Ok<PagedResult<JournalEntry>>, ProblemHttpResult, EmptyHttpResult>> JournalAsync(
        string id,
        HttpContext http,
        IDbContextFactory<WorkflowDbContext> factory,
        JournalBroadcaster broadcaster,
        CancellationToken ct,
        [FromQuery] bool follow = false,
        [FromQuery] long afterSequence = 0,
        [FromQuery] int page = 1,
        [FromQuery] int pageSize = 200)
    {
        if (page < 1 || pageSize is < 1 or > 1000)
        {
            return Problems.BadRequest(page < 1 ? "page" : "pageSize", "page starts at 1; pageSize is 1 to 1000.");
        }

        await using var db = await factory.CreateDbContextAsync(ct);
        if (!await db.Instances.AnyAsync(i => i.Id == id, ct))
        {
            return NotFound(id);
        }

        if (follow)
        {
            await db.DisposeAsync();
            await JournalStream.FollowAsync(http, id, afterSequence, factory, broadcaster, ct);
            return TypedResults.Empty;
        }

        var query = db.Journal.AsNoTracking().Where(j => j.InstanceId == id && j.Sequence > afterSequence);
        var total = await query.CountAsync(ct);
        var items = await query.OrderBy(j => j.Sequence).Skip((page - 1) * pageSize).Take(pageSize).ToListAsync(ct);
        return TypedResults.Ok(new PagedResult<JournalEntry>([.. items.Select(JournalEntry.From)], page, pageSize, total));
    }

    private static async Task<Results<Accepted<InstanceSummary>, ProblemHttpResult>> CancelAsync(
        string id, CancelRequest? body, HttpContext http, WorkflowEngine engine, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct)
    {
        var reason = string.IsNullOrWhiteSpace(body?.Reason) ? "cancelled by request" : body.Reason.Trim();
        if (reason.Length > 500)
        {
            return Problems.BadRequest("$.reason", "reason is limited to 500 characters.");
        }

        await using var db = await factory.CreateDbContextAsync(ct);
        var instance = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
        if (instance is null)
        {
            return NotFound(id);
        }

        // A stored final status is final: the engine keeps a finished run registered until just after its
        // last commit, and must not accept a cancel for it in that window.
        var finished = !InstanceSummary.IsActive(instance.Status);
        if (finished || !await engine.CancelAsync(id, reason, http.User.OperatorName(), ct))
        {
            return Problems.Conflict($"Instance '{id}' is {instance.Status}; only Pending, Running or Suspended instances can be cancelled.",
                new Dictionary<string, object?> { ["instanceStatus"] = instance.Status.ToString() });
        }

        var current = await CurrentStepsAsync(db, [instance], ct);
        return TypedResults.Accepted($"/api/v1/workflow-instances/{id}", InstanceSummary.From(instance, current.GetValueOrDefault(id, [])));
    }

    /// <summary>The largest signal payload accepted.</summary>
    internal const int MaxSignalPayloadBytes = 64 * 1024;

    private static async Task<Results<Accepted<SignalAccepted>, ProblemHttpResult>> SignalAsync(
        string id, string name, HttpContext http, WorkflowEngine engine, CancellationToken ct)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, Bookmarks.NamePattern))
        {
            return Problems.BadRequest("name", $"'{name}' is not a signal name: letters, digits, '.', '_' and '-', up to 64.");
        }

        var body = await Problems.ReadBodyAsync(http.Request, MaxSignalPayloadBytes, ct);
        if (body is null)
        {
            return Problems.BadRequest("$", $"The signal payload is limited to {MaxSignalPayloadBytes / 1024} KiB.");
        }

        JsonNode? payload;
        try
        {
            payload = string.IsNullOrWhiteSpace(body) ? null : JsonNode.Parse(body, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (System.Text.Json.JsonException e)
        {
            return Problems.BadRequest("$", $"The signal payload is not JSON: {e.Message}");
        }

        return SignalAnswer(id, await engine.Bookmarks.SignalAsync(id, name, payload, http.User.OperatorName(), http.User.IsInRole, ct), http.User.OperatorName());
    }

    /// <summary>Maps a signal's result to the HTTP answer (also used by the per-service approval endpoint).</summary>
    internal static Results<Accepted<SignalAccepted>, ProblemHttpResult> SignalAnswer(string id, SignalResult result, string by) => result.Outcome switch
    {
        SignalOutcome.Accepted => TypedResults.Accepted($"/api/v1/workflow-instances/{id}", new SignalAccepted(id, result.Bookmark!.Name, result.Bookmark.ActivityId, by)),
        SignalOutcome.InstanceNotFound => NotFound(id),
        SignalOutcome.Forbidden => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: result.Message,
            extensions: new Dictionary<string, object?> { ["roles"] = Bookmarks.RolesOf(result.Bookmark!) }),
        SignalOutcome.PayloadInvalid => Problems.Validation("Invalid signal payload",
            [.. (result.Errors ?? new Dictionary<string, string>()).Select(e => new Workflows.Definitions.ValidationError(e.Key, e.Value))]),
        _ => Problems.Conflict(result.Message, new Dictionary<string, object?>
        {
            ["instanceStatus"] = result.InstanceStatus?.ToString(),
            ["waitingFor"] = result.Waiting ?? [],
            ["resolvedBy"] = result.Bookmark?.ResolvedBy,
        }),
    };

    private static IReadOnlyList<WaitingSignal> WaitingOf(Dictionary<string, List<BookmarkRecord>> open, string id) =>
        open.TryGetValue(id, out var list) ? [.. list.Select(WaitingSignal.From)] : [];

    /// <summary>Current steps of the active instances among <paramref name="instances"/>, in one query.</summary>
    private static async Task<Dictionary<string, string[]>> CurrentStepsAsync(WorkflowDbContext db, IReadOnlyList<InstanceRecord> instances, CancellationToken ct)
    {
        var active = instances.Where(i => InstanceSummary.IsActive(i.Status)).Select(i => i.Id).ToArray();
        if (active.Length == 0)
        {
            return [];
        }

        var attempts = await db.StepExecutions.AsNoTracking()
            .Where(s => active.Contains(s.InstanceId))
            .Select(s => new InstanceSummary.AttemptState(s.InstanceId, s.ActivityId, s.Attempt, s.IsFinal, s.StartedAt))
            .ToListAsync(ct);
        return InstanceSummary.CurrentStepsOf(attempts);
    }

    private static ProblemHttpResult NotFound(string id) => Problems.NotFound($"No workflow instance '{id}'.");
}
