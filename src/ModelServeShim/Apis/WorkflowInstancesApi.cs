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

    internal static bool IsActive(InstanceStatus status) => status is InstanceStatus.Pending or InstanceStatus.Running;

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
        group.MapPost("/{id}/cancel", CancelAsync).WithName("CancelWorkflowInstance").RequireAuthorization(Policies.Operate)
            .WithSummary("Cancels a pending or running instance; its running step is cancelled cooperatively.");
        return app;
    }

    private static async Task<Results<Ok<PagedResult<InstanceSummary>>, ProblemHttpResult>> ListAsync(
        IDbContextFactory<WorkflowDbContext> factory,
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
        return TypedResults.Ok(new PagedResult<InstanceSummary>(
            [.. items.Select(i => InstanceSummary.From(i, current.GetValueOrDefault(i.Id, [])))], page, pageSize, total));
    }

    private static async Task<Results<Ok<InstanceDetail>, ProblemHttpResult>> GetAsync(
        string id, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct)
    {
        await using var db = await factory.CreateDbContextAsync(ct);
        var instance = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
        if (instance is null)
        {
            return NotFound(id);
        }

        var steps = await db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == id).ToListAsync(ct);
        var current = InstanceSummary.CurrentStepsOf(steps.Select(s => new InstanceSummary.AttemptState(s.InstanceId, s.ActivityId, s.Attempt, s.IsFinal, s.StartedAt)));
        return TypedResults.Ok(new InstanceDetail(
            InstanceSummary.From(instance, current.GetValueOrDefault(id, [])),
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
        var finished = instance.Status is not (InstanceStatus.Pending or InstanceStatus.Running);
        if (finished || !engine.Cancel(id, reason, http.User.OperatorName()))
        {
            return Problems.Conflict($"Instance '{id}' is {instance.Status}; only Pending or Running instances can be cancelled.",
                new Dictionary<string, object?> { ["instanceStatus"] = instance.Status.ToString() });
        }

        var current = await CurrentStepsAsync(db, [instance], ct);
        return TypedResults.Accepted($"/api/v1/workflow-instances/{id}", InstanceSummary.From(instance, current.GetValueOrDefault(id, [])));
    }

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
