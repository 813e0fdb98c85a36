using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using ModelServeShim.ControlPlane;
using ModelServeShim.Security;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Apis;

/// <summary>The brief's envelope: <c>code</c> 0 with <c>data</c>, or a non-zero <c>code</c> (the HTTP status) with a message and field errors.</summary>
/// <param name="Code">0 on success; otherwise the HTTP status.</param>
/// <param name="Data">The payload.</param>
/// <param name="Message">What went wrong (errors only).</param>
/// <param name="Errors">Per-field problems (errors only).</param>
public sealed record Envelope<T>(int Code, T? Data, string? Message = null, IReadOnlyList<FieldError>? Errors = null)
{
    /// <summary>On a 409 refused by the service's state: that state (absent otherwise).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ServiceState? State { get; init; }
}

/// <summary>The deploy answer, as in the brief.</summary>
public sealed record DeployAccepted(string ServiceId, string CurrentStep, IReadOnlyList<string> TotalSteps);

/// <summary>A state history entry.</summary>
public sealed record HistoryEntry(DateTimeOffset At, ServiceState? From, ServiceState To, string Reason, string Operator);

/// <summary>A service in lists.</summary>
public sealed record ServiceSummary(
    string ServiceId, string ModelName, ServiceState State, string Shimlet, string Pipeline, int Replicas,
    string? AcceleratorType, int AcceleratorCount, string? Endpoint, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static ServiceSummary From(ServiceRecord s) => new(
        s.Id, s.ModelName, s.State, s.Desired.Shimlet, s.Desired.Pipeline, s.Desired.Replicas, s.Desired.AcceleratorType, s.Desired.AcceleratorCount,
        s.Endpoint, s.CreatedBy, s.CreatedAt, s.UpdatedAt);
}

/// <summary>A change of the desired state: who changed what, when, and the desired state after it.</summary>
public sealed record DesiredStateEntry(int Generation, DateTimeOffset At, string Operator, string Change, JsonNode? State);

/// <summary>The last error and its diagnosis.</summary>
public sealed record ServiceError(string? Type, string? Message, string? Step);

/// <summary>Everything known about a service.</summary>
/// <param name="Service">The summary.</param>
/// <param name="ModelFile">The model file (desired state).</param>
/// <param name="Namespace">The namespace (desired state).</param>
/// <param name="InstanceId">The latest pipeline instance.</param>
/// <param name="CurrentStep">The step running now, if any.</param>
/// <param name="Model">Model facts from the pipeline.</param>
/// <param name="Memory">The memory estimate from the pipeline.</param>
/// <param name="ResourceIds">The environment's resource ids.</param>
/// <param name="LastError">The last error and its diagnosis.</param>
/// <param name="History">State transitions, oldest first.</param>
/// <param name="Request">The desired state as a deploy request (what a redeploy runs the pipeline with).</param>
/// <param name="DesiredHistory">Every change of the desired state, oldest first.</param>
public sealed record ServiceDetail(
    ServiceSummary Service, string ModelFile, string? Namespace, JsonNode? Request, string? InstanceId, string? CurrentStep,
    JsonNode? Model, JsonNode? Memory, JsonNode? ResourceIds, ServiceError? LastError, IReadOnlyList<HistoryEntry> History,
    IReadOnlyList<DesiredStateEntry> DesiredHistory)
{
    /// <summary>The sign-off the deploy pipeline waits for (state AwaitingApproval); null otherwise.</summary>
    public PendingApproval? PendingApproval { get; init; }
}

/// <summary>What a service's deploy pipeline waits for, when it waits for a sign-off.</summary>
/// <param name="Signal">The signal's name and the waiting step.</param>
/// <param name="InstanceId">The pipeline instance.</param>
public sealed record PendingApproval(WaitingSignal Signal, string InstanceId);

/// <summary>An approve or reject decision (<c>POST /api/v1/modserv/{id}/approval</c>).</summary>
/// <param name="Decision"><c>approve</c> or <c>reject</c>.</param>
/// <param name="Comment">Why (recorded in the service's history and the pipeline's journal).</param>
public sealed record ApprovalDecision(string? Decision, string? Comment);

/// <summary>One pipeline step as the dashboard shows it.</summary>
public sealed record PipelineStep(
    string Name, string Type, string Status, int Attempts, double? DurationMs, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt,
    string? Outcome, ServiceError? Error, IReadOnlyList<StepAttempt> AttemptDetails);

/// <summary>The service's latest pipeline run, of any operation (deploy, scale, undeploy).</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Pipeline">Its workflow definition id.</param>
/// <param name="Version">Its definition version.</param>
/// <param name="Status">Its status.</param>
/// <param name="Steps">Its steps in order.</param>
/// <param name="Operation">The lifecycle operation it runs.</param>
public sealed record PipelineView(string? InstanceId, string Pipeline, int? Version, InstanceStatus? Status, IReadOnlyList<PipelineStep> Steps, ServiceOperation Operation);

/// <summary>An entry of a service's health journal.</summary>
/// <param name="At">When.</param>
/// <param name="Event"><c>Probe</c>, <c>HealthLost</c> or <c>HealthRestored</c>.</param>
/// <param name="Healthy">Whether the service was healthy.</param>
/// <param name="Phase">The phase the shimlet reported.</param>
/// <param name="ReadyReplicas">Ready replicas.</param>
/// <param name="DesiredReplicas">Desired replicas.</param>
/// <param name="Message">What the entry says.</param>
/// <param name="Probes">How many probes with this result the entry stands for.</param>
public sealed record HealthEntry(DateTimeOffset At, string Event, bool Healthy, string Phase, int ReadyReplicas, int DesiredReplicas, string Message, int Probes);

/// <summary>What a run of one of a service's pipelines did to it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LifecycleOperation>))]
public enum LifecycleOperation
{
    /// <summary>The first run of its deploy pipeline.</summary>
    Deploy,
    /// <summary>A later run of its deploy pipeline.</summary>
    Redeploy,
    /// <summary>A run of the scale pipeline.</summary>
    Scale,
    /// <summary>A run of the undeploy pipeline.</summary>
    Undeploy,
}

/// <summary>A past (or running) lifecycle operation of a service: one run of one of its pipelines.</summary>
/// <param name="InstanceId">The pipeline instance (<c>GET /api/v1/workflow-instances/{id}</c> has its steps and journal).</param>
/// <param name="Operation">Deploy, Redeploy, Scale or Undeploy.</param>
/// <param name="Pipeline">The workflow definition id.</param>
/// <param name="Version">The definition version it ran.</param>
/// <param name="Operator">Who asked for it.</param>
/// <param name="RequestedAt">When it was started.</param>
/// <param name="StartedAt">When its first step could run (after waiting for a slot).</param>
/// <param name="EndedAt">When it ended (absent while it runs).</param>
/// <param name="Status">Its outcome: Completed, Faulted, Cancelled, or Pending/Running while it runs.</param>
/// <param name="Error">Why it faulted or was cancelled.</param>
public sealed record OperationEntry(
    string InstanceId, LifecycleOperation Operation, string Pipeline, int Version, string Operator,
    DateTimeOffset RequestedAt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, InstanceStatus Status, ServiceError? Error);

/// <summary>A scale request.</summary>
/// <param name="ReplicaCount">The replicas wanted.</param>
public sealed record ScaleRequest(int? ReplicaCount);

/// <summary><c>/api/v1/modserv</c>: the brief's model-service API.</summary>
public static class ModServApi
{
    private const int MaxBody = 64 * 1024;

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapModServApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/modserv").WithTags("Model services").RequireAuthorization(Policies.View);
        group.MapPost("/deploy", DeployAsync).RequireAuthorization(Policies.Operate).WithName("Deploy")
            .WithSummary("Deploys a model through a pipeline; answers at once with the service id and the pipeline's steps.")
            .Accepts<DeployRequest>("application/json");
        group.MapGet("/", ListAsync).WithName("ListServices").WithSummary("Model services; filter by state, model, shimlet.");
        group.MapGet("/{serviceId}", GetAsync).WithName("GetService")
            .WithSummary("State, history, model facts, resources, endpoint, resource ids and the last error with its diagnosis.");
        group.MapGet("/{serviceId}/pipeline", PipelineAsync).WithName("GetServicePipeline")
            .WithSummary("The latest operation's pipeline run (deploy, scale or undeploy): each step's status, attempts, durations, error.");
        group.MapGet("/{serviceId}/operations", OperationsAsync).WithName("GetServiceOperations")
            .WithSummary("The service's lifecycle operations, oldest first: each run of its deploy (Deploy, then Redeploy), scale and undeploy pipelines, with its instance, operator, times and outcome.");
        group.MapGet("/{serviceId}/pipeline/logs", LogsAsync).WithName("GetServicePipelineLogs")
            .WithSummary("The pipeline's journal (operator, duration, parameters on each entry); ?follow=true streams new entries as server-sent events.");
        group.MapGet("/{serviceId}/health", HealthAsync).WithName("GetServiceHealth")
            .WithSummary("The health monitor's journal for the service: probes (a changed result always, an unchanged one at most every ControlPlane:HealthJournalInterval, counted) and the Degraded/Running transitions they caused; the latest 500, oldest first.");
        group.MapGet("/{serviceId}/manifests", ManifestsAsync).WithName("GetServiceManifests")
            .WithSummary("The rendered, shimlet-neutral deployment spec (what was or will be applied).");
        group.MapGet("/{serviceId}/usage", UsageAsync).WithName("GetServiceUsage")
            .WithSummary("The service's gateway traffic over the last 10 minutes in 10 s intervals: requests, errors, mean latency, tokens (for the UI; Prometheus has the rest).");
        group.MapDelete("/{serviceId}", UndeployAsync).RequireAuthorization(Policies.Operate).WithName("Undeploy")
            .WithSummary("Answers at once in Stopping: cancels a running pipeline, then the undeploy pipeline removes the service's resources; ends in Stopped (or Failed, naming what remains).");
        group.MapPost("/{serviceId}/scale", ScaleAsync).RequireAuthorization(Policies.Operate).WithName("Scale")
            .WithSummary("Sets the desired replica count of a Running or Degraded service and answers at once in Scaling; the scale pipeline applies it.");
        group.MapPost("/{serviceId}/approval", DecideApprovalAsync).WithName("DecideApproval")
            .WithSummary("Approves or rejects a service whose pipeline waits for approval ({\"decision\": \"approve\"|\"reject\", \"comment\": …}); the role the approval step names (approver; admins too) is required. 409 when it does not wait (or was decided already).")
            .Accepts<ApprovalDecision>("application/json");
        group.MapPost("/{serviceId}/redeploy", RedeployAsync).RequireAuthorization(Policies.Operate).WithName("Redeploy")
            .WithSummary("Runs the deploy pipeline (its latest version) again with the service's desired state (e.g. after a failure or a changed definition).");
        return app;
    }

    private static Ok<Envelope<T>> Ok<T>(T data) => TypedResults.Ok(new Envelope<T>(0, data));

    private static BadRequest<Envelope<object>> Invalid(string message, IReadOnlyList<FieldError> errors) =>
        TypedResults.BadRequest(new Envelope<object>(StatusCodes.Status400BadRequest, null, message, errors));

    private static NotFound<Envelope<object>> NotFound(string message) =>
        TypedResults.NotFound(new Envelope<object>(StatusCodes.Status404NotFound, null, message, []));

    private static NotFound<Envelope<object>> NotFoundService(string serviceId) => NotFound(ServiceCommandError.NotFound(serviceId).Message);

    private static Conflict<Envelope<object>> Conflict(string message, ServiceState? state) =>
        TypedResults.Conflict(new Envelope<object>(StatusCodes.Status409Conflict, null, message, []) { State = state });

    /// <summary>A command's answer: its value mapped into the envelope, or its refusal with the status of its kind.</summary>
    private static Results<Ok<Envelope<T>>, BadRequest<Envelope<object>>, NotFound<Envelope<object>>, Conflict<Envelope<object>>> Answer<TValue, T>(
        ServiceCommandResult<TValue> result, Func<TValue, T> map) => result.Error switch
        {
            null => Ok(map(result.Value!)),
            { Kind: ServiceCommandErrorKind.Invalid } e => Invalid(e.Message, e.Errors),
            { Kind: ServiceCommandErrorKind.NotFound } e => NotFound(e.Message),
            var e => Conflict(e.Message, e.State),
        };

    private static async Task<Results<Ok<Envelope<DeployAccepted>>, BadRequest<Envelope<object>>, NotFound<Envelope<object>>, Conflict<Envelope<object>>, JsonHttpResult<Envelope<object>>>> DeployAsync(
        HttpRequest request, ServiceCommands commands, CancellationToken ct)
    {
        var body = await Problems.ReadBodyAsync(request, MaxBody, ct);
        if (body is null)
        {
            return TypedResults.Json(new Envelope<object>(StatusCodes.Status413PayloadTooLarge, null, $"The request body is larger than {MaxBody} bytes.", []),
                statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        var deploy = DeployRequestValidator.Parse(body, out var parseError);
        if (deploy is null)
        {
            return Invalid("The request body is not a valid deploy request.", [parseError!]);
        }

        var result = await commands.DeployAsync(deploy, request.HttpContext.User.OperatorName(), ct);
        return result.Error switch
        {
            null => Ok(Accepted(result.Value!)),
            { Kind: ServiceCommandErrorKind.Invalid } e => Invalid(e.Message, e.Errors),
            { Kind: ServiceCommandErrorKind.NotFound } e => NotFound(e.Message),
            var e => Conflict(e.Message, e.State),
        };
    }

    private static DeployAccepted Accepted(DeployResult result) => new(result.Service.Id, result.Steps.FirstOrDefault() ?? "", result.Steps);

    private static async Task<Results<Ok<Envelope<List<ServiceSummary>>>, BadRequest<Envelope<object>>>> ListAsync(
        IDbContextFactory<ControlPlaneDbContext> db, [FromQuery] string? state, [FromQuery] string? model, [FromQuery] string? shimlet, CancellationToken ct)
    {
        await using var context = await db.CreateDbContextAsync(ct);
        var query = context.Services.AsNoTracking();
        if (state is not null)
        {
            if (!Enum.TryParse<ServiceState>(state, ignoreCase: true, out var s) || !Enum.IsDefined(s))
            {
                return Invalid("Unknown state.", [new FieldError("state", $"Use one of {string.Join(", ", Enum.GetNames<ServiceState>())}.")]);
            }

            query = query.Where(x => x.State == s);
        }

        if (model is not null)
        {
            query = query.Where(x => x.ModelName == model);
        }

        if (shimlet is not null)
        {
            query = query.Where(x => x.Desired.Shimlet == shimlet);
        }

        var items = await query.OrderByDescending(x => x.CreatedAt).Take(1000).ToListAsync(ct);
        return Ok(items.Select(ServiceSummary.From).ToList());
    }

    private static async Task<Results<Ok<Envelope<ServiceDetail>>, NotFound<Envelope<object>>>> GetAsync(
        string serviceId, ServiceStore services, PipelineFactsReader facts, IDbContextFactory<ControlPlaneDbContext> db, IDbContextFactory<WorkflowDbContext> workflowDb,
        WorkflowEngine engine, CancellationToken ct)
    {
        var service = await services.GetAsync(serviceId, ct);
        if (service is null)
        {
            return NotFoundService(serviceId);
        }

        await using var context = await db.CreateDbContextAsync(ct);
        var history = await context.Transitions.AsNoTracking().Where(t => t.ServiceId == serviceId).OrderBy(t => t.Id).ToListAsync(ct);
        var changes = await context.DesiredStateChanges.AsNoTracking().Where(c => c.ServiceId == serviceId).OrderBy(c => c.Id).ToListAsync(ct);
        var reported = await facts.ReadAsync(service.DeployInstanceId, ct);
        string? current = null;
        PendingApproval? pending = null;
        if (service.InstanceId is not null)
        {
            await using var wf = await workflowDb.CreateDbContextAsync(ct);
            current = await wf.StepExecutions.AsNoTracking()
                .Where(s => s.InstanceId == service.InstanceId && (s.Status == StepStatus.Running || (s.Status == StepStatus.Suspended && !s.IsFinal)))
                .OrderByDescending(s => s.StartedAt).Select(s => s.ActivityId).FirstOrDefaultAsync(ct);
            var open = await engine.Bookmarks.OpenAsync([service.InstanceId], ct);
            if (open.GetValueOrDefault(service.InstanceId)?.FirstOrDefault(b => b.Name == Workflows.Activities.Builtin.ApprovalActivity.SignalName) is { } bookmark)
            {
                pending = new PendingApproval(WaitingSignal.From(bookmark), service.InstanceId);
            }
        }

        return Ok(new ServiceDetail(
            ServiceSummary.From(service),
            service.Desired.ModelFile,
            service.Desired.Namespace,
            service.Desired.Snapshot(service.ModelName),
            service.InstanceId,
            current,
            reported.ModelFacts,
            reported.MemoryEstimate,
            service.State == ServiceState.Stopped ? null : reported.ResourceIds,
            service.LastError is null && service.LastErrorType is null ? null : new ServiceError(service.LastErrorType, service.LastError, service.LastErrorStep),
            [.. history.Select(h => new HistoryEntry(h.At, h.From, h.To, h.Reason, h.Operator))],
            [.. changes.Select(c => new DesiredStateEntry(c.Generation, c.At, c.Operator, c.Change, JsonNode.Parse(c.StateJson)))]) { PendingApproval = pending });
    }

    private static async Task<Results<Ok<Envelope<PipelineView>>, NotFound<Envelope<object>>>> PipelineAsync(
        string serviceId, ServiceStore services, Workflows.Definitions.DefinitionStore definitions, IDbContextFactory<WorkflowDbContext> workflowDb, CancellationToken ct)
    {
        var service = await services.GetAsync(serviceId, ct);
        if (service is null)
        {
            return NotFoundService(serviceId);
        }

        await using var wf = await workflowDb.CreateDbContextAsync(ct);
        var instance = service.InstanceId is null ? null : await wf.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == service.InstanceId, ct);
        var pipeline = await definitions.GetCompiledAsync(instance?.DefinitionId ?? service.Desired.Pipeline, instance?.DefinitionVersion, ct);
        var attempts = instance is null ? [] : await wf.StepExecutions.AsNoTracking().Where(s => s.InstanceId == instance.Id).ToListAsync(ct);
        var finished = instance?.Status is InstanceStatus.Completed or InstanceStatus.Faulted or InstanceStatus.Cancelled;
        var steps = new List<PipelineStep>();
        foreach (var step in pipeline?.Order ?? [])
        {
            var mine = attempts.Where(a => a.ActivityId == step.Id).OrderBy(a => a.Attempt).ToList();
            var last = mine.LastOrDefault();
            var status = last switch
            {
                null => finished ? "Skipped" : "Pending",
                { Status: StepStatus.Running } when last.Attempt > 1 => "Retrying",
                { Status: StepStatus.Running } => "Running",
                { Status: StepStatus.Succeeded } => "Succeeded",
                { Status: StepStatus.Suspended, IsFinal: false } when !finished => "Suspended",
                { IsFinal: false } when !finished => "Retrying",
                { Status: StepStatus.Cancelled } => "Cancelled",
                _ => "Failed",
            };
            var first = mine.FirstOrDefault();
            steps.Add(new PipelineStep(
                step.Id, step.Descriptor.Type, status, mine.Count,
                first is not null && last?.EndedAt is { } end ? (end - first.StartedAt).TotalMilliseconds : null,
                first?.StartedAt, last?.EndedAt, last?.Outcome,
                last?.ErrorType is null ? null : new ServiceError(last.ErrorType, last.ErrorMessage, step.Id),
                [.. mine.Select(StepAttempt.From)]));
        }

        return Ok(new PipelineView(instance?.Id, instance?.DefinitionId ?? service.Desired.Pipeline, instance?.DefinitionVersion, instance?.Status, steps, service.Operation));
    }

    /// <summary>
    /// The runs of the service's pipelines, read from the workflow store (each instance carries the service id as its
    /// correlation id); the operation is the pipeline's role: the configured scale and undeploy pipelines, otherwise the
    /// deploy pipeline, whose first run is the deploy and later ones redeploys.
    /// </summary>
    private static async Task<Results<Ok<Envelope<List<OperationEntry>>>, NotFound<Envelope<object>>>> OperationsAsync(
        string serviceId, ServiceStore services, IDbContextFactory<WorkflowDbContext> workflowDb, Microsoft.Extensions.Options.IOptions<ControlPlaneOptions> options, CancellationToken ct)
    {
        if (await services.GetAsync(serviceId, ct) is null)
        {
            return NotFoundService(serviceId);
        }

        await using var wf = await workflowDb.CreateDbContextAsync(ct);
        var runs = await wf.Instances.AsNoTracking().Where(i => i.CorrelationId == serviceId).ToListAsync(ct);
        var deploys = 0;
        var operations = new List<OperationEntry>(runs.Count);
        foreach (var run in runs.OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal))
        {
            var operation = run.DefinitionId == options.Value.ScalePipeline ? LifecycleOperation.Scale
                : run.DefinitionId == options.Value.UndeployPipeline ? LifecycleOperation.Undeploy
                : deploys++ == 0 ? LifecycleOperation.Deploy : LifecycleOperation.Redeploy;
            operations.Add(new OperationEntry(
                run.Id, operation, run.DefinitionId, run.DefinitionVersion, run.Operator, run.CreatedAt, run.StartedAt, run.FinishedAt, run.Status,
                run.ErrorType is null && run.ErrorMessage is null ? null : new ServiceError(run.ErrorType, run.ErrorMessage, run.FaultedStep)));
        }

        return Ok(operations);
    }

    private static async Task<Results<Ok<Envelope<PagedResult<JournalEntry>>>, BadRequest<Envelope<object>>, NotFound<Envelope<object>>, EmptyHttpResult>> LogsAsync(
        string serviceId,
        HttpContext http,
        ServiceStore services,
        IDbContextFactory<WorkflowDbContext> workflowDb,
        JournalBroadcaster broadcaster,
        CancellationToken ct,
        [FromQuery] bool follow = false,
        [FromQuery] long afterSequence = 0,
        [FromQuery] int pageSize = 1000)
    {
        if (pageSize is < 1 or > 5000)
        {
            return Invalid("Invalid paging.", [new FieldError("pageSize", "pageSize is 1 to 5000.")]);
        }

        var service = await services.GetAsync(serviceId, ct);
        if (service is null)
        {
            return NotFoundService(serviceId);
        }

        if (service.InstanceId is null)
        {
            return Ok(new PagedResult<JournalEntry>([], 1, pageSize, 0));
        }

        if (!follow)
        {
            await using var wf = await workflowDb.CreateDbContextAsync(ct);
            var query = wf.Journal.AsNoTracking().Where(j => j.InstanceId == service.InstanceId && j.Sequence > afterSequence);
            var total = await query.CountAsync(ct);
            var items = await query.OrderBy(j => j.Sequence).Take(pageSize).ToListAsync(ct);
            return Ok(new PagedResult<JournalEntry>([.. items.Select(JournalEntry.From)], 1, pageSize, total));
        }

        await JournalStream.FollowAsync(http, service.InstanceId, afterSequence, workflowDb, broadcaster, ct);
        return TypedResults.Empty;
    }

    private static async Task<Results<Ok<Envelope<Gateway.UsageSeries>>, NotFound<Envelope<object>>>> UsageAsync(string serviceId, ServiceStore services, Gateway.GatewayUsage usage, CancellationToken ct)
    {
        if (await services.GetAsync(serviceId, ct) is null)
        {
            return NotFoundService(serviceId);
        }

        return Ok(usage.Series(serviceId));
    }

    private static async Task<Results<Ok<Envelope<List<HealthEntry>>>, NotFound<Envelope<object>>>> HealthAsync(string serviceId, ServiceStore services, IDbContextFactory<ControlPlaneDbContext> db, CancellationToken ct)
    {
        if (await services.GetAsync(serviceId, ct) is null)
        {
            return NotFoundService(serviceId);
        }

        await using var context = await db.CreateDbContextAsync(ct);
        var entries = await context.HealthJournal.AsNoTracking().Where(h => h.ServiceId == serviceId).OrderByDescending(h => h.Id).Take(500).ToListAsync(ct);
        return Ok(entries.AsEnumerable().Reverse()
            .Select(h => new HealthEntry(h.At, h.Event, h.Healthy, h.Phase, h.ReadyReplicas, h.DesiredReplicas, h.Message, h.Probes)).ToList());
    }

    private static async Task<Results<Ok<Envelope<JsonNode>>, NotFound<Envelope<object>>>> ManifestsAsync(string serviceId, ServiceStore services, PipelineFactsReader facts, CancellationToken ct)
    {
        var service = await services.GetAsync(serviceId, ct);
        if (service is null)
        {
            return NotFoundService(serviceId);
        }

        var spec = (await facts.ReadAsync(service.DeployInstanceId, ct)).DeploymentSpec;
        return spec is null
            ? NotFound($"Service '{serviceId}' has no rendered deployment yet: no step of its deploy pipeline has reported a deployment spec (GET /api/v1/modserv/{serviceId}/pipeline).")
            : Ok(spec);
    }

    private static async Task<Results<Ok<Envelope<ServiceSummary>>, BadRequest<Envelope<object>>, NotFound<Envelope<object>>, Conflict<Envelope<object>>>> UndeployAsync(
        string serviceId, HttpContext http, ServiceCommands commands, CancellationToken ct) =>
        Answer(await commands.UndeployAsync(serviceId, http.User.OperatorName(), ct), ServiceSummary.From);

    private static async Task<Results<Ok<Envelope<DeployAccepted>>, BadRequest<Envelope<object>>, NotFound<Envelope<object>>, Conflict<Envelope<object>>>> RedeployAsync(
        string serviceId, HttpContext http, ServiceCommands commands, CancellationToken ct) =>
        Answer(await commands.RedeployAsync(serviceId, http.User.OperatorName(), ct), Accepted);

    private static async Task<Results<Ok<Envelope<ServiceSummary>>, BadRequest<Envelope<object>>, NotFound<Envelope<object>>, Conflict<Envelope<object>>>> ScaleAsync(
        string serviceId, HttpContext http, ServiceCommands commands, CancellationToken ct)
    {
        var body = await Problems.ReadBodyAsync(http.Request, MaxBody, ct);
        ScaleRequest? scale = null;
        try
        {
            scale = body is null ? null : JsonSerializer.Deserialize<ScaleRequest>(body, DeployRequestValidator.Json);
        }
        catch (JsonException)
        {
            // Reported below.
        }

        if (scale?.ReplicaCount is not { } replicas)
        {
            return Invalid("Send {\"replicaCount\": N}.", [new FieldError("replicaCount", "replicaCount is required: a whole number.")]);
        }

        return Answer(await commands.ScaleAsync(serviceId, replicas, http.User.OperatorName(), ct), ServiceSummary.From);
    }

    private static async Task<Results<Ok<Envelope<SignalAccepted>>, BadRequest<Envelope<object>>, NotFound<Envelope<object>>, Conflict<Envelope<object>>, JsonHttpResult<Envelope<object>>>> DecideApprovalAsync(
        string serviceId, HttpContext http, ServiceStore services, WorkflowEngine engine, CancellationToken ct)
    {
        var body = await Problems.ReadBodyAsync(http.Request, MaxBody, ct);
        ApprovalDecision? decision = null;
        try
        {
            decision = body is null ? null : JsonSerializer.Deserialize<ApprovalDecision>(body, DeployRequestValidator.Json);
        }
        catch (JsonException)
        {
            // Reported below.
        }

        if (decision?.Decision is not ("approve" or "reject"))
        {
            return Invalid("Send {\"decision\": \"approve\" or \"reject\", \"comment\": \"why\"}.", [new FieldError("decision", "decision is required: approve or reject.")]);
        }

        if (decision.Comment is { Length: > Workflows.Activities.Builtin.ApprovalActivity.MaxCommentLength })
        {
            return Invalid("The comment is too long.", [new FieldError("comment", $"comment is limited to {Workflows.Activities.Builtin.ApprovalActivity.MaxCommentLength} characters.")]);
        }

        var service = await services.GetAsync(serviceId, ct);
        if (service is null)
        {
            return NotFoundService(serviceId);
        }

        if (service.InstanceId is null)
        {
            return Conflict($"Service '{serviceId}' is {service.State}; its pipeline does not wait for approval.", service.State);
        }

        var payload = new JsonObject { ["decision"] = decision.Decision };
        if (!string.IsNullOrEmpty(decision.Comment))
        {
            payload["comment"] = decision.Comment;
        }

        var by = http.User.OperatorName();
        var result = await engine.Bookmarks.SignalAsync(service.InstanceId, Workflows.Activities.Builtin.ApprovalActivity.SignalName, payload, by, http.User.IsInRole, ct);
        return result.Outcome switch
        {
            SignalOutcome.Accepted => Ok(new SignalAccepted(service.InstanceId, result.Bookmark!.Name, result.Bookmark.ActivityId, by)),
            SignalOutcome.Forbidden => TypedResults.Json(new Envelope<object>(StatusCodes.Status403Forbidden, null,
                $"Your key's role does not allow deciding this approval: it needs role {string.Join(" or ", Bookmarks.RolesOf(result.Bookmark!))}.", []), statusCode: StatusCodes.Status403Forbidden),
            SignalOutcome.PayloadInvalid => Invalid(result.Message, [.. (result.Errors ?? new Dictionary<string, string>()).Select(e => new FieldError(e.Key.TrimStart('$', '.'), e.Value))]),
            _ => Conflict($"Service '{serviceId}' is {service.State}; its pipeline does not wait for approval: {result.Message}", service.State),
        };
    }
}
