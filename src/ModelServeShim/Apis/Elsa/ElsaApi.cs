using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using ModelServeShim.Security;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Apis.Elsa;

/// <summary>
/// <c>/elsa/api</c>: the part of Elsa 3's REST API that Elsa Studio uses, over the same definition store, engine,
/// instance tables and roles as <c>/api/v1</c> (see <see cref="ElsaDefinitionMapper"/> for the mapping).
/// </summary>
public static class ElsaApi
{
    /// <summary>The base path.</summary>
    public const string BasePath = "/elsa/api";

    private const int MaxBodyBytes = 1024 * 1024;

    /// <summary>The lists Studio loads that have nothing in them here (activation, log persistence, incident and commit strategies, features, variables, storage drivers).</summary>
    private static readonly string[] EmptyLists =
    [
        "/descriptors/workflow-activation-strategies", "/workflow-activation-strategies",
        "/descriptors/log-persistence-strategies", "/log-persistence-strategies",
        "/features/installed",
        "/descriptors/incident-strategies", "/incident-strategies",
        "/descriptors/commit-strategies/workflows", "/commit-strategies/workflows",
        "/descriptors/commit-strategies/activities", "/commit-strategies/activities",
        "/descriptors/variables", "/variables",
        "/descriptors/storage-drivers", "/storage-drivers",
    ];

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapElsaApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(BasePath).WithTags("Elsa 3 API").RequireAuthorization(Policies.View).RequireCors(ElsaApiExtensions.CorsPolicy);
        group.MapGet("/workflow-definitions", ListDefinitionsAsync).WithSummary("Definitions (latest versions) as Elsa summaries.");
        group.MapGet("/workflow-definitions/query/count", async (DefinitionStore store, CancellationToken ct) =>
            TypedResults.Ok(new JsonObject { ["count"] = (await store.ListLatestAsync(ct)).Count }));
        group.MapGet("/workflow-definitions/validation/is-name-unique", async ([FromQuery] string? name, [FromQuery] string? definitionId, DefinitionStore store, CancellationToken ct) =>
            TypedResults.Ok(new JsonObject
            {
                ["isUnique"] = !(await store.ListLatestAsync(ct)).Any(d => d.DefinitionId != definitionId && string.Equals(d.Name ?? d.DefinitionId, name, StringComparison.Ordinal)),
            }));
        group.MapGet("/workflow-definitions/by-definition-id/{definitionId}", ByDefinitionIdAsync)
            .WithSummary("A definition version (versionOptions: Latest, Published, LatestOrPublished, or V<n>).");
        group.MapGet("/workflow-definitions/by-id/{id}", ByIdAsync).WithSummary("A definition version by its Elsa id (<definitionId>:<version>).");
        group.MapGet("/workflow-definitions/{definitionId}/versions", VersionsAsync).WithSummary("Every version of a definition.");
        group.MapGet("/workflow-definitions/{definitionId}/export", ExportAsync).WithSummary("The definition as an Elsa 3 export.");
        group.MapPost("/workflow-definitions", SaveAsync).RequireAuthorization(Policies.Operate)
            .WithSummary("Studio's save: a draft is checked and not stored; publish validates and stores a new version.");
        group.MapPost("/workflow-definitions/{definitionId}/publish", PublishAsync).RequireAuthorization(Policies.Operate)
            .WithSummary("Every stored version is published: answers with the latest.");
        group.MapPost("/workflow-definitions/{definitionId}/execute", ExecuteAsync).RequireAuthorization(Policies.Operate)
            .WithSummary("Starts an instance of the latest version (or versionOptions).");
        group.MapGet("/descriptors/activities", (ActivityRegistry registry) =>
            List([ElsaDescriptorMapper.Flowchart(), .. registry.All.Select(ElsaDescriptorMapper.ToDescriptor)]));
        group.MapGet("/descriptors/expression-descriptors", () => List(ElsaDescriptorMapper.ExpressionDescriptors()));
        foreach (var path in EmptyLists)
        {
            group.MapGet(path, () => List([]));
        }

        group.MapGet("/workflow-instances/{id}", InstanceAsync);
        group.MapGet("/workflow-instances/{id}/execution-state", ExecutionStateAsync);
        group.MapGet("/workflow-instances/{id}/journal", (string id, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct, [FromQuery] int? skip, [FromQuery] int? take) =>
            JournalAsync(id, null, skip, take, factory, ct));
        group.MapPost("/workflow-instances/{id}/journal", async (string id, HttpRequest request, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct, [FromQuery] int? skip, [FromQuery] int? take) =>
            await JournalAsync(id, await ReadObjectAsync(request, ct), skip, take, factory, ct));
        group.MapGet("/workflow-instances/{id}/variables", async (string id, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct) =>
        {
            await using var db = await factory.CreateDbContextAsync(ct);
            return await db.Instances.AnyAsync(i => i.Id == id, ct) ? (IResult)List([]) : InstanceNotFound(id);
        });
        group.MapGet("/activity-executions/list", (IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct, [FromQuery] string? workflowInstanceId, [FromQuery] string? activityId, [FromQuery] string? activityNodeId) =>
            ActivityExecutionsAsync(factory, workflowInstanceId, activityId, activityNodeId, summary: false, ct));
        group.MapGet("/activity-execution-summaries/list", (IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct, [FromQuery] string? workflowInstanceId, [FromQuery] string? activityId, [FromQuery] string? activityNodeId) =>
            ActivityExecutionsAsync(factory, workflowInstanceId, activityId, activityNodeId, summary: true, ct));
        group.MapGet("/activity-executions/by-id/{id}", ActivityExecutionByIdAsync);
        group.MapGet("/activity-executions/by-id", ([FromQuery] string? id, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct) =>
            ActivityExecutionByIdAsync(id ?? "", factory, ct));
        group.MapPost("/activity-executions/report", ReportAsync);
        return app;
    }

    private static Ok<JsonObject> List(IReadOnlyList<JsonObject> items) =>
        TypedResults.Ok(new JsonObject { ["items"] = new JsonArray([.. items]), ["count"] = items.Count });

    private static JsonObject Paged(IReadOnlyList<JsonObject> items, int totalCount) =>
        new() { ["items"] = new JsonArray([.. items]), ["totalCount"] = totalCount, ["links"] = new JsonArray() };

    private static async Task<Ok<JsonObject>> ListDefinitionsAsync(DefinitionStore store, CancellationToken ct, [FromQuery] int? page, [FromQuery] int? pageSize)
    {
        var all = await store.ListLatestAsync(ct);
        var size = Math.Clamp(pageSize ?? 50, 1, 500);
        var items = all.OrderBy(d => d.DefinitionId, StringComparer.Ordinal).Skip(Math.Max(page ?? 0, 0) * size).Take(size).Select(Summary).ToList();
        return TypedResults.Ok(Paged(items, all.Count));
    }

    private static JsonObject Summary(DefinitionRecord r) => new()
    {
        ["id"] = ElsaDefinitionMapper.VersionId(r.DefinitionId, r.Version),
        ["definitionId"] = r.DefinitionId,
        ["name"] = r.Name ?? r.DefinitionId,
        ["description"] = r.Description,
        ["version"] = r.Version,
        ["toolVersion"] = "3.8.0",
        ["isLatest"] = r.IsLatest,
        ["isPublished"] = true,
        ["isReadonly"] = false,
        ["isSystem"] = false,
        ["providerName"] = r.Source,
        ["materializerName"] = "Json",
        ["createdAt"] = r.CreatedAt,
    };

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ByDefinitionIdAsync(
        string definitionId, [FromQuery] string? versionOptions, HttpContext http, DefinitionStore store, ElsaDefinitionMapper mapper, CancellationToken ct)
    {
        int? version = null;
        if (versionOptions is { Length: > 1 } v && (v[0] is 'V' or 'v') && int.TryParse(v.AsSpan(1), out var n))
        {
            version = n;
        }
        else if (int.TryParse(versionOptions, out var plain))
        {
            version = plain;
        }

        var record = await store.GetAsync(definitionId, version, ct);
        return record is null
            ? Problems.NotFound($"No workflow definition '{definitionId}'{(version is null ? "" : $" version {version}")}. GET {BasePath}/workflow-definitions lists them.")
            : TypedResults.Ok(ToModel(record, mapper, http.User));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ByIdAsync(
        string id, HttpContext http, DefinitionStore store, ElsaDefinitionMapper mapper, CancellationToken ct)
    {
        if (!ElsaDefinitionMapper.TryParseVersionId(id, out var definitionId, out var version))
        {
            return Problems.BadRequest("id", $"'{id}' is not a definition version id: use <definitionId>:<version>, e.g. opensourcellm:1.");
        }

        var record = await store.GetAsync(definitionId, version, ct);
        return record is null ? Problems.NotFound($"No workflow definition version '{id}'.") : TypedResults.Ok(ToModel(record, mapper, http.User));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> VersionsAsync(string definitionId, DefinitionStore store, CancellationToken ct)
    {
        var versions = await store.ListVersionsAsync(definitionId, ct);
        return versions.Count == 0
            ? Problems.NotFound($"No workflow definition '{definitionId}'.")
            : TypedResults.Ok(Paged([.. versions.Select(Summary)], versions.Count));
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportAsync(
        string definitionId, [FromQuery] string? versionOptions, DefinitionStore store, ElsaDefinitionMapper mapper, CancellationToken ct)
    {
        var record = await store.GetAsync(definitionId, int.TryParse(versionOptions?.TrimStart('V', 'v'), out var v) ? v : null, ct);
        if (record is null)
        {
            return Problems.NotFound($"No workflow definition '{definitionId}'.");
        }

        var model = mapper.ToModel(DefinitionJson.Parse(record.Json, out _)!, record);
        return TypedResults.File(JsonSerializer.SerializeToUtf8Bytes(model, DefinitionJson.Options), "application/json", $"{definitionId}.json");
    }

    /// <summary>The model of a stored version, with the links Studio reads (publish only for callers who may).</summary>
    internal static JsonObject ToModel(DefinitionRecord record, ElsaDefinitionMapper mapper, ClaimsPrincipal user)
    {
        var definition = DefinitionJson.Parse(record.Json, out _)!;
        var model = mapper.ToModel(definition, record);
        return WithLinks(model, record.DefinitionId, user);
    }

    private static JsonObject WithLinks(JsonObject model, string definitionId, ClaimsPrincipal user)
    {
        var canEdit = user.IsInRole(Roles.Operator);
        model["isReadonly"] = !canEdit;
        var links = new JsonArray();
        if (canEdit)
        {
            links.Add(new JsonObject { ["href"] = $"{BasePath}/workflow-definitions/{Uri.EscapeDataString(definitionId)}/publish", ["rel"] = "publish", ["method"] = "POST" });
        }

        model["links"] = links;
        return model;
    }

    private static async Task<Results<Ok<JsonObject>, ValidationProblem, ProblemHttpResult>> SaveAsync(
        HttpRequest request, DefinitionStore store, ElsaDefinitionMapper mapper, CancellationToken ct)
    {
        var body = await ReadObjectAsync(request, ct);
        if (body?["model"] is not JsonObject model)
        {
            return Problems.BadRequest("$.model", "Send {\"model\": <workflow definition>, \"publish\": true|false} (as Elsa Studio does).");
        }

        var publish = body["publish"] is JsonValue p && p.GetValueKind() == JsonValueKind.True;
        var definition = mapper.FromModel(model, out var errors);
        if (definition is not null && definition.DefinitionId.Length == 0)
        {
            errors = [new ValidationError("$.model.definitionId", "The definition needs a definitionId (lower-case letters, digits, '-', '_', '.').")];
            definition = null;
        }

        if (definition is null)
        {
            return SaveError(errors);
        }

        var latest = await store.GetAsync(definition.DefinitionId, null, ct);
        if (!publish)
        {
            // We keep no drafts: the draft is read (so an expression kind we cannot run is refused at once) and answered
            // back; Publish validates it and stores a new version.
            var draft = mapper.ToModel(definition, null);
            draft["version"] = (latest?.Version ?? 0) + 1;
            draft["isPublished"] = false;
            draft["isLatest"] = true;
            return TypedResults.Ok(Saved(WithLinks(draft, definition.DefinitionId, request.HttpContext.User), alreadyPublished: false));
        }

        try
        {
            var saved = await store.SaveAsync(definition, "elsa-studio", request.HttpContext.User.OperatorName(), ct);
            return TypedResults.Ok(Saved(ToModel(saved.Record, mapper, request.HttpContext.User), alreadyPublished: !saved.Created));
        }
        catch (DefinitionInvalidException e)
        {
            return SaveError(WithNodes(e.Errors, definition));
        }
    }

    /// <summary>The validator's errors with the node each belongs to, from its path when it does not say.</summary>
    private static List<ValidationError> WithNodes(IReadOnlyList<ValidationError> errors, WorkflowDefinition definition)
    {
        const string Prefix = "$.root.activities[";
        var activities = definition.Root?.Activities ?? [];
        return [.. errors.Select(e =>
        {
            if (e.ActivityId is not null || !e.Path.StartsWith(Prefix, StringComparison.Ordinal))
            {
                return e;
            }

            var close = e.Path.IndexOf(']', Prefix.Length);
            return close > 0 && int.TryParse(e.Path.AsSpan(Prefix.Length, close - Prefix.Length), out var i) && i >= 0 && i < activities.Count
                ? e with { ActivityId = activities[i].Id }
                : e;
        })];
    }

    private static JsonObject Saved(JsonObject model, bool alreadyPublished) =>
        new() { ["workflowDefinition"] = model, ["alreadyPublished"] = alreadyPublished, ["consumingWorkflowCount"] = 0 };

    /// <summary>A save refused: problem details whose <c>errors</c> are keyed by node (as Studio shows them), nothing stored.</summary>
    private static ValidationProblem SaveError(IReadOnlyList<ValidationError> errors)
    {
        var byKey = errors
            .GroupBy(e => e.ActivityId is null ? e.Path : $"{e.ActivityId} ({e.Path})", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(e => e.ActivityId is null || e.Message.Contains($"'{e.ActivityId}'", StringComparison.Ordinal)
                ? e.Message : $"Node '{e.ActivityId}': {e.Message}").ToArray(), StringComparer.Ordinal);
        var first = errors[0];
        return TypedResults.ValidationProblem(byKey,
            detail: $"The workflow was not saved: {(first.ActivityId is null ? "" : $"node '{first.ActivityId}': ")}{first.Path}: {first.Message}"
                + (errors.Count > 1 ? $" (and {errors.Count - 1} more)" : ""),
            title: "The workflow definition is invalid");
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> PublishAsync(
        string definitionId, HttpContext http, DefinitionStore store, ElsaDefinitionMapper mapper, CancellationToken ct)
    {
        var record = await store.GetAsync(definitionId, null, ct);
        return record is null ? Problems.NotFound($"No workflow definition '{definitionId}'.") : TypedResults.Ok(ToModel(record, mapper, http.User));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ExecuteAsync(
        string definitionId, HttpRequest request, WorkflowEngine engine, CancellationToken ct)
    {
        var body = await ReadObjectAsync(request, ct);
        var input = body?["input"] as JsonObject;
        var correlationId = body?["correlationId"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>() : null;
        if (correlationId is { Length: > 128 })
        {
            return Problems.BadRequest("$.correlationId", "correlationId is limited to 128 characters.");
        }

        int? version = body?["versionOptions"] is JsonValue vo && vo.GetValueKind() == JsonValueKind.String
            && vo.GetValue<string>() is { Length: > 1 } v && v[0] is 'V' or 'v' && int.TryParse(v.AsSpan(1), out var n) ? n : null;
        try
        {
            var record = await engine.StartAsync(new StartRequest(definitionId, input?.DeepClone().AsObject(), request.HttpContext.User.OperatorName(), version, correlationId), ct);
            return TypedResults.Ok(new JsonObject { ["workflowState"] = ElsaInstanceMapper.ToState(record, []) });
        }
        catch (DefinitionNotFoundException e)
        {
            return Problems.NotFound(e.Message);
        }
        catch (InputInvalidException e)
        {
            return Problems.Validation("The input does not match the definition's inputs", e.Errors);
        }
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> InstanceAsync(string id, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct)
    {
        await using var db = await factory.CreateDbContextAsync(ct);
        var instance = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
        if (instance is null)
        {
            return InstanceNotFound(id);
        }

        var steps = await db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == id).ToListAsync(ct);
        return TypedResults.Ok(ElsaInstanceMapper.ToInstance(instance, steps));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ExecutionStateAsync(string id, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct)
    {
        await using var db = await factory.CreateDbContextAsync(ct);
        var instance = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
        if (instance is null)
        {
            return InstanceNotFound(id);
        }

        var (status, subStatus) = ElsaInstanceMapper.Status(instance.Status.ToString(), instance.FinishedAt is not null);
        return TypedResults.Ok(new JsonObject { ["status"] = status, ["workflowSubStatus"] = subStatus, ["updatedAt"] = instance.UpdatedAt });
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> JournalAsync(
        string id, JsonObject? body, int? skip, int? take, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct)
    {
        if (skip < 0 || take is < 1 or > 1000)
        {
            return Problems.BadRequest(skip < 0 ? "skip" : "take", "skip is 0 or more; take is 1 to 1000.");
        }

        await using var db = await factory.CreateDbContextAsync(ct);
        var instance = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
        if (instance is null)
        {
            return InstanceNotFound(id);
        }

        var steps = await db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == id).ToListAsync(ct);
        var journal = await db.Journal.AsNoTracking().Where(j => j.InstanceId == id).OrderBy(j => j.Sequence).ToListAsync(ct);
        IEnumerable<JsonObject> records = ElsaInstanceMapper.ToJournal(instance, steps, journal);
        var filter = body?["filter"] as JsonObject ?? body;
        if (Strings(filter?["activityIds"]) is { Count: > 0 } activityIds)
        {
            records = records.Where(r => activityIds.Contains((string)r["activityId"]!));
        }

        if (Strings(filter?["activityNodeIds"]) is { Count: > 0 } nodeIds)
        {
            records = records.Where(r => nodeIds.Contains((string)r["nodeId"]!));
        }

        if (Strings(filter?["excludedActivityTypes"]) is { Count: > 0 } excluded)
        {
            records = records.Where(r => !excluded.Contains((string)r["activityType"]!));
        }

        if (Strings(filter?["eventNames"]) is { Count: > 0 } eventNames)
        {
            records = records.Where(r => eventNames.Contains((string)r["eventName"]!));
        }

        var list = records.ToList();
        return TypedResults.Ok(Paged([.. list.Skip(skip ?? 0).Take(take ?? 100)], list.Count));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ActivityExecutionsAsync(
        IDbContextFactory<WorkflowDbContext> factory, string? workflowInstanceId, string? activityId, string? activityNodeId, bool summary, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(workflowInstanceId))
        {
            return Problems.BadRequest("workflowInstanceId", "Give ?workflowInstanceId= (and activityId= or activityNodeId=).");
        }

        var activity = activityId ?? (activityNodeId?.StartsWith(ElsaDefinitionMapper.RootId + ":", StringComparison.Ordinal) == true
            ? activityNodeId[(ElsaDefinitionMapper.RootId.Length + 1)..] : activityNodeId);
        await using var db = await factory.CreateDbContextAsync(ct);
        var query = db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == workflowInstanceId);
        if (activity is not null)
        {
            query = query.Where(s => s.ActivityId == activity);
        }

        var steps = (await query.ToListAsync(ct)).OrderBy(s => s.StartedAt).ThenBy(s => s.Attempt);
        return TypedResults.Ok(List([.. steps.Select(s => ElsaInstanceMapper.ToActivityExecution(s, summary))]).Value!);
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ActivityExecutionByIdAsync(string id, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var guid))
        {
            return Problems.BadRequest("id", $"'{id}' is not an activity execution id (32 hex digits, from /activity-executions/list).");
        }

        await using var db = await factory.CreateDbContextAsync(ct);
        var step = await db.StepExecutions.AsNoTracking().FirstOrDefaultAsync(s => s.Id == guid, ct);
        return step is null ? Problems.NotFound($"No activity execution '{id}'.") : TypedResults.Ok(ElsaInstanceMapper.ToActivityExecution(step));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ReportAsync(HttpRequest request, IDbContextFactory<WorkflowDbContext> factory, CancellationToken ct)
    {
        var body = await ReadObjectAsync(request, ct);
        if (body?["workflowInstanceId"] is not JsonValue idValue || idValue.GetValueKind() != JsonValueKind.String)
        {
            return Problems.BadRequest("$.workflowInstanceId", "Send {\"workflowInstanceId\": \"…\", \"activityIds\": [\"…\"]}.");
        }

        var instanceId = idValue.GetValue<string>();
        var wanted = new HashSet<string>(Strings(body["activityIds"]) ?? [], StringComparer.Ordinal);
        foreach (var nodeId in Strings(body["activityNodeIds"]) ?? [])
        {
            wanted.Add(nodeId.StartsWith(ElsaDefinitionMapper.RootId + ":", StringComparison.Ordinal) ? nodeId[(ElsaDefinitionMapper.RootId.Length + 1)..] : nodeId);
        }

        await using var db = await factory.CreateDbContextAsync(ct);
        var steps = await db.StepExecutions.AsNoTracking().Where(s => s.InstanceId == instanceId).ToListAsync(ct);
        var stats = steps
            .Where(s => wanted.Count == 0 || wanted.Contains(s.ActivityId))
            .GroupBy(s => s.ActivityId, StringComparer.Ordinal)
            .Select(g => (JsonNode)ElsaInstanceMapper.ToStats(g.Key, [.. g]))
            .ToArray();
        return TypedResults.Ok(new JsonObject { ["stats"] = new JsonArray(stats) });
    }

    private static List<string>? Strings(JsonNode? node) => node is JsonArray a
        ? [.. a.OfType<JsonValue>().Where(v => v.GetValueKind() == JsonValueKind.String).Select(v => v.GetValue<string>())]
        : null;

    private static async Task<JsonObject?> ReadObjectAsync(HttpRequest request, CancellationToken ct)
    {
        var text = await Problems.ReadBodyAsync(request, MaxBodyBytes, ct);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text, documentOptions: ElsaDefinitionMapper.DocumentOptions) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ProblemHttpResult InstanceNotFound(string id) => Problems.NotFound($"No workflow instance '{id}'.");
}
