using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Activities;
using ModelServeShim.Workflows.Definitions;
using ModelServeShim.Workflows.Persistence;
using ModelServeShim.Workflows.Replicas;
using ModelServeShim.Workflows.Templates;

namespace ModelServeShim.Workflows.Execution;

/// <summary>Runtime settings (section <c>Workflows</c>).</summary>
public sealed class WorkflowRuntimeOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Workflows";

    /// <summary>Instances that may run at once; more wait in Pending. Default 64.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrentInstances { get; set; } = 64;
}

/// <summary>A request to start an instance.</summary>
/// <param name="DefinitionId">The definition.</param>
/// <param name="Input">The input; declared defaults fill gaps.</param>
/// <param name="Operator">Who asks.</param>
/// <param name="Version">A version; null for the latest.</param>
/// <param name="CorrelationId">A caller's id (for deployments, the service id).</param>
/// <param name="InstanceId">The id to give the instance (so a caller can record it before the first step runs); null for a new one.</param>
public sealed record StartRequest(string DefinitionId, JsonObject? Input, string Operator, int? Version = null, string? CorrelationId = null, string? InstanceId = null);

/// <summary>
/// Starts, runs, cancels and resumes workflow instances. An instance walks its flowchart: a step runs once
/// every incoming connection is resolved and at least one fired (a join waits for all live branches); a
/// step none of whose incoming connections fired is skipped, and so are the steps only it leads to.
/// Branches leaving one step run in parallel. State is committed at every step transition, and instances
/// that were running when the process stopped are resumed on start (completed steps are not run again;
/// a step that was in flight runs again: activities must be idempotent).
/// </summary>
public sealed partial class WorkflowEngine : IHostedService, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, InstanceRun> _runs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly DefinitionStore _definitions;
    private readonly StepRecorder _steps;
    private readonly WriteQueue _writes;
    private readonly WorkflowObservers _observers;
    private readonly TimeProvider _time;
    private readonly ReplicaRegistry _replicas;
    private readonly SemaphoreSlim _takeovers = new(1, 1);
    private readonly ConcurrentDictionary<string, byte> _cancelsApplied = new(StringComparer.Ordinal);
    private readonly ILogger<WorkflowEngine> _logger;

    /// <summary>Creates the engine.</summary>
    public WorkflowEngine(
        IDbContextFactory<WorkflowDbContext> db,
        DefinitionStore definitions,
        WriteQueue writes,
        WorkflowObservers observers,
        TemplateEngine templates,
        IServiceProvider services,
        TimeProvider time,
        IOptions<WorkflowRuntimeOptions> options,
        ReplicaRegistry replicas,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _db = db;
        _definitions = definitions;
        _writes = writes;
        _observers = observers;
        _time = time;
        _replicas = replicas;
        _logger = loggers.CreateLogger<WorkflowEngine>();
        _slots = new SemaphoreSlim(options.Value.MaxConcurrentInstances);
        _steps = new StepRecorder(services, time, templates, writes, observers, loggers.CreateLogger<StepRecorder>());
        Bookmarks = new Bookmarks(db, this, time, loggers.CreateLogger<Bookmarks>());
    }

    /// <summary>Instances running or waiting in this process.</summary>
    public int ActiveCount => _runs.Count;

    /// <summary>Validates the input, stores a Pending instance and queues it. Returns at once.</summary>
    /// <exception cref="DefinitionNotFoundException">No such definition or version.</exception>
    /// <exception cref="InputInvalidException">The input does not match the declared inputs.</exception>
    public async Task<InstanceRecord> StartAsync(StartRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var workflow = await _definitions.GetCompiledAsync(request.DefinitionId, request.Version, cancellationToken)
            ?? throw new DefinitionNotFoundException(request.DefinitionId, request.Version);
        var input = WorkflowInputs.Bind(workflow.Definition, request.Input ?? []);
        var now = _time.GetUtcNow();
        var record = new InstanceRecord
        {
            Id = request.InstanceId ?? NewInstanceId(),
            DefinitionId = workflow.DefinitionId,
            DefinitionVersion = workflow.Version,
            Status = InstanceStatus.Pending,
            InputJson = input.ToJsonString(),
            CorrelationId = request.CorrelationId,
            Operator = request.Operator,
            CreatedAt = now,
            UpdatedAt = now,
            Owner = _replicas.Id,
        };
        var run = new InstanceRun(record, workflow, input);
        var entry = run.Journal(now, LogLevel.Information, "InstanceCreated",
            $"Instance of '{workflow.DefinitionId}' v{workflow.Version} created by {request.Operator}.",
            properties: new Dictionary<string, object?> { ["definitionVersion"] = workflow.Version, ["correlationId"] = request.CorrelationId });
        var snapshot = run.Snapshot();
        await _writes.EnqueueAsync(new InstanceInserted(snapshot), new JournalAppended(entry));
        _observers.InstanceChanged(snapshot);
        _observers.JournalAppended(entry);
        Launch(run);
        return snapshot;
    }

    /// <summary>Requests cancellation; the running step is cancelled cooperatively.</summary>
    /// <returns>False when the instance is not active in this process (finished, or unknown).</returns>
    public bool Cancel(string instanceId, string reason, string by)
    {
        if (!_runs.TryGetValue(instanceId, out var run))
        {
            return CancelSuspended(null, instanceId, reason, by);
        }

        lock (run.Gate)
        {
            if (!run.Parked)
            {
                run.CancelRequest ??= (reason, by);
                run.Cancellation.Cancel();
                return true;
            }
        }

        return CancelSuspended(run, instanceId, reason, by);
    }

    /// <summary>Waits until an instance active in this process ends (for tests and callers that need it).</summary>
    public Task WaitAsync(string instanceId, CancellationToken cancellationToken = default) =>
        _runs.TryGetValue(instanceId, out var run) ? run.Finished.Task.WaitAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>
    /// Requests cancellation, wherever the instance runs: here the running step is cancelled cooperatively; when another
    /// replica runs it (PostgreSQL), the request is recorded on the instance and its owner carries it out within
    /// <see cref="ReplicaOptions.PollInterval"/> (or the replica that takes it over, when the owner died).
    /// </summary>
    /// <returns>False when the instance is not Pending, Running or Suspended.</returns>
    public async Task<bool> CancelAsync(string instanceId, string reason, string by, CancellationToken cancellationToken = default)
    {
        if (Cancel(instanceId, reason, by))
        {
            return true;
        }

        return _replicas.IsShared && await _replicas.RequestCancelAsync(instanceId, reason, by, cancellationToken);
    }

    /// <summary>
    /// Resumes instances left Pending, Running or Suspended by a previous process. With replicas sharing the database,
    /// only the orphaned ones (their owner's lease expired): they are claimed first (<see cref="TakeOverAsync"/>).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_replicas.IsShared)
        {
            await TakeOverAsync(cancellationToken);
            return;
        }

        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var unfinished = await db.Instances
            .Where(i => i.Status == InstanceStatus.Pending || i.Status == InstanceStatus.Running || i.Status == InstanceStatus.Suspended)
            .OrderBy(i => i.CreatedAt)
            .ToListAsync(cancellationToken);
        await ResumeAllAsync(db, unfinished, cancellationToken);
    }

    /// <summary>
    /// Claims the unfinished instances whose owner's lease expired (<see cref="ReplicaRegistry.ClaimOrphansAsync"/>) and
    /// resumes them here exactly as after a restart: concluded steps are not run again, a step that was in flight runs
    /// again after an <c>Interrupted</c> attempt is recorded, a suspended instance waits here for its signal.
    /// </summary>
    /// <returns>How many instances were taken over.</returns>
    public async Task<int> TakeOverAsync(CancellationToken cancellationToken)
    {
        if (!_replicas.IsShared || _stopping.IsCancellationRequested)
        {
            return 0;
        }

        await _takeovers.WaitAsync(cancellationToken);
        try
        {
            var total = 0;
            while (!_stopping.IsCancellationRequested)
            {
                var claimed = await _replicas.ClaimOrphansAsync(cancellationToken);
                if (claimed.Count == 0)
                {
                    break;
                }

                await using var db = await _db.CreateDbContextAsync(cancellationToken);
                var records = await db.Instances.Where(i => claimed.Contains(i.Id)).OrderBy(i => i.CreatedAt).ToListAsync(cancellationToken);
                _logger.LogWarning("Took over {Count} workflow instance(s) whose replica's lease expired: {Instances}", records.Count,
                    string.Join(", ", records.Take(10).Select(r => r.Id)) + (records.Count > 10 ? ", …" : ""));
                await ResumeAllAsync(db, records, cancellationToken);
                total += records.Count;
                if (claimed.Count < _replicas.Options.TakeoverBatch)
                {
                    break;
                }
            }

            return total;
        }
        finally
        {
            _takeovers.Release();
        }
    }

    private async Task ResumeAllAsync(WorkflowDbContext db, List<InstanceRecord> unfinished, CancellationToken cancellationToken)
    {
        foreach (var record in unfinished)
        {
            if (_runs.ContainsKey(record.Id) || Bookmarks.IsSuspended(record.Id))
            {
                continue;
            }

            try
            {
                if (record.Status == InstanceStatus.Suspended)
                {
                    await RestoreSuspendedAsync(db, record, cancellationToken);
                    continue;
                }

                await ResumeAsync(db, record, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError(e, "Could not resume workflow instance {Instance}", record.Id);
            }
        }
    }

    /// <summary>The instances this process runs or holds suspended.</summary>
    internal IReadOnlyCollection<string> LocalInstanceIds() => [.. _runs.Keys.Union(Bookmarks.SuspendedIds(), StringComparer.Ordinal)];

    /// <summary>The open bookmarks this process waits for (of live runs and of suspended instances), to notice a resolution made by another replica.</summary>
    internal IReadOnlyCollection<Guid> WaitedBookmarkIds()
    {
        var ids = new HashSet<Guid>(Bookmarks.ParkedBookmarkIds());
        foreach (var run in _runs.Values)
        {
            foreach (var (activity, bookmark) in run.Waiting)
            {
                if (!run.Signals.ContainsKey(activity))
                {
                    ids.Add(bookmark.Id);
                }
            }
        }

        return ids;
    }

    /// <summary>Whether a live run of this process waits for <paramref name="bookmark"/> (no signal delivered yet).</summary>
    internal bool IsWaitedByLiveRun(BookmarkRecord bookmark) =>
        _runs.TryGetValue(bookmark.InstanceId, out var run) && run.Waiting.TryGetValue(bookmark.ActivityId, out var waiting)
            && waiting.Id == bookmark.Id && !run.Signals.ContainsKey(bookmark.ActivityId);

    /// <summary>Carries out the cancels other replicas recorded for instances of this one (each once).</summary>
    internal void ApplyCancelRequests(IReadOnlyList<(string Id, string Reason, string By)> requests)
    {
        foreach (var (id, reason, by) in requests)
        {
            if (!_cancelsApplied.ContainsKey(id) && Cancel(id, reason, by))
            {
                _cancelsApplied[id] = 0;
                _logger.LogInformation("Cancelling workflow instance {Instance} as asked on another replica by {By}: {Reason}", id, by, reason);
            }
        }

        foreach (var done in _cancelsApplied.Keys.Except(requests.Select(r => r.Id), StringComparer.Ordinal))
        {
            _cancelsApplied.TryRemove(done, out _);
        }
    }

    /// <summary>Stops running instances without ending them: they resume on the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync();
        }

        Bookmarks.Dispose();

        var all = _runs.Values.Select(r => r.Finished.Task).ToArray();
        await Task.WhenAll(all).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Stopping may be asked again after disposal (hosts stop, then dispose, then some stop again), and
    /// background runs release their slot as they end: so the token source and the semaphore are left to
    /// the garbage collector (neither holds a timer or a wait handle) instead of being disposed under them.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await StopAsync(CancellationToken.None);
        }
    }

    private async Task ResumeAsync(WorkflowDbContext db, InstanceRecord record, CancellationToken cancellationToken)
    {
        var workflow = await _definitions.GetCompiledAsync(record.DefinitionId, record.DefinitionVersion, cancellationToken);
        var now = _time.GetUtcNow();
        if (workflow is null)
        {
            record.Status = InstanceStatus.Faulted;
            record.ErrorType = "DefinitionMissing";
            record.ErrorMessage = $"Definition '{record.DefinitionId}' v{record.DefinitionVersion} can no longer be loaded, so the instance cannot resume.";
            record.FinishedAt = now;
            record.UpdatedAt = now;
            await _writes.EnqueueAsync(new InstanceFinished(record.Id, record.Status, record.OutputJson, now, null, record.ErrorType, record.ErrorMessage));
            return;
        }

        var (run, steps) = await LoadRunAsync(db, record, workflow, cancellationToken);
        var interrupted = steps.Where(s => s.Status == StepStatus.Running).ToList();
        foreach (var s in interrupted)
        {
            s.Status = StepStatus.Interrupted;
            s.EndedAt = now;
            s.ErrorType = StepErrorTypes.Interrupted;
            s.ErrorMessage = "The server stopped while this attempt ran; the step runs again.";
            s.Retryable = true;
        }

        record.ResumeCount++;
        record.UpdatedAt = now;
        var entry = run.Journal(now, LogLevel.Warning, "InstanceResumed",
            $"Resumed after a restart: {run.Completed.Count} step(s) already completed{(interrupted.Count > 0 ? $", re-running {string.Join(", ", interrupted.Select(s => s.ActivityId))}" : "")}.",
            properties: new Dictionary<string, object?> { ["resumeCount"] = record.ResumeCount });
        var snapshot = run.Snapshot();
        await _writes.EnqueueAsync([
            .. interrupted.Select(s => new StepEnded(s)),
            new InstanceResumed(record.Id, record.ResumeCount, now),
            new JournalAppended(entry),
        ]);
        Launch(run);
    }

    private void Launch(InstanceRun run)
    {
        _runs[run.Id] = run;

        // Tracked, not fire-and-forget: the run stays in _runs until it ends, StopAsync cancels it (_stopping) and awaits
        // its Finished, and every exception ends in FinishAsync.
        _ = Task.Run(async () =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(run.Cancellation.Token, _stopping.Token);
            var acquired = false;
            try
            {
                await _slots.WaitAsync(linked.Token);
                acquired = true;
                await RunAsync(run, linked.Token);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                if (run.CancelRequest is not null)
                {
                    await FinishAsync(run, InstanceStatus.Cancelled, null, StepErrorTypes.Cancelled, CancelMessage(run));
                }
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Workflow instance {Instance} failed in the runtime", run.Id);
                await FinishAsync(run, InstanceStatus.Faulted, null, "RuntimeError", e.Message);
            }
            finally
            {
                if (acquired)
                {
                    _slots.Release();
                }

                _runs.TryRemove(run.Id, out _);
                run.Finished.TrySetResult();
            }
        });
    }

    private async Task RunAsync(InstanceRun run, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        run.Record.Status = InstanceStatus.Running;
        run.Record.StartedAt ??= now;
        run.Record.UpdatedAt = now;

        // Queued, not awaited before the first steps start: it commits in the same batch as their starts, and
        // (the queue is FIFO) always before any of their conclusions, which are awaited. A crash in between
        // leaves the instance Pending, which resumes exactly like Running. Observers hear of it once committed.
        var started = _writes.EnqueueAsync(new InstanceStarted(run.Id, run.Record.StartedAt.Value, now));
        var startedSnapshot = run.Snapshot();
        var running = new Dictionary<string, Task<StepConclusion>>(StringComparer.Ordinal);
        while (true)
        {
            var woken = run.Woken;
            Schedule(run, running, cancellationToken);
            if (running.Count == 0 && run.Waiting.IsEmpty)
            {
                break;
            }

            var finished = running.Count == 0 ? null : await Task.WhenAny(running.Values.Cast<Task>().Append(woken));
            if (started is not null)
            {
                await started;
                started = null;
                _observers.InstanceChanged(startedSnapshot);
            }

            if (running.Count == 0)
            {
                // Only waiting steps are left: suspend (no thread, no slot), unless a signal arrived meanwhile.
                if (await TrySuspendAsync(run, cancellationToken))
                {
                    return;
                }

                continue;
            }

            if (finished == woken)
            {
                continue; // A waiting step has its signal: schedule it.
            }

            var id = running.First(kv => kv.Value == finished).Key;
            running.Remove(id);
            var conclusion = await (Task<StepConclusion>)finished!;
            var step = run.Workflow.Steps[id];
            if (conclusion.Bookmark is { } bookmark)
            {
                run.Waiting[id] = bookmark;
                Bookmarks.Arm(bookmark);
                continue;
            }

            if (conclusion.Result is { } result)
            {
                run.Completed[id] = result;
                continue;
            }

            if (conclusion.WasCancelled || cancellationToken.IsCancellationRequested)
            {
                await DrainAsync(running);
                if (run.CancelRequest is not null)
                {
                    await FinishAsync(run, InstanceStatus.Cancelled, id, StepErrorTypes.Cancelled, CancelMessage(run));
                }

                return; // Stopping: the instance stays Running and resumes on the next start.
            }

            if (step.HandlesFailure)
            {
                run.Completed[id] = new StepResult(Outcomes.Failed, new JsonObject
                {
                    ["error"] = new JsonObject { ["type"] = conclusion.ErrorType, ["message"] = conclusion.Message },
                });
                continue;
            }

            // An unhandled failure faults the instance: stop the other branches first.
            if (running.Count > 0)
            {
                run.CancelRequest ??= ($"step '{id}' failed", "runtime");
                await run.Cancellation.CancelAsync();
                await DrainAsync(running);
            }

            await FinishAsync(run, InstanceStatus.Faulted, id, conclusion.ErrorType, conclusion.Message);
            return;
        }

        var output = new JsonObject();
        foreach (var s in run.Workflow.Order)
        {
            if (run.Completed.TryGetValue(s.Id, out var r))
            {
                output[s.Id] = r.Output.DeepClone();
            }
        }

        if (started is not null)
        {
            await started;
            _observers.InstanceChanged(startedSnapshot);
        }

        run.Record.OutputJson = output.ToJsonString();
        await FinishAsync(run, InstanceStatus.Completed, null, null, null);
    }

    /// <summary>Starts every step whose incoming connections are resolved; skips dead ones.</summary>
    private void Schedule(InstanceRun run, Dictionary<string, Task<StepConclusion>> running, CancellationToken cancellationToken)
    {
        bool again;
        do
        {
            again = false;
            foreach (var step in run.Workflow.Order)
            {
                if (run.Completed.ContainsKey(step.Id) || run.Skipped.Contains(step.Id) || running.ContainsKey(step.Id))
                {
                    continue;
                }

                if (run.Waiting.ContainsKey(step.Id))
                {
                    if (run.Signals.ContainsKey(step.Id) && run.Waiting.TryRemove(step.Id, out _))
                    {
                        running[step.Id] = new StepRun(_steps, run, step).ExecuteAsync(cancellationToken);
                    }

                    continue;
                }

                var resolved = true;
                var fired = step.Incoming.Count == 0;
                foreach (var (source, port) in step.Incoming)
                {
                    if (run.Completed.TryGetValue(source, out var r))
                    {
                        fired |= r.Outcome == port;
                    }
                    else if (!run.Skipped.Contains(source))
                    {
                        resolved = false;
                        break;
                    }
                }

                if (!resolved)
                {
                    continue;
                }

                if (fired)
                {
                    running[step.Id] = new StepRun(_steps, run, step).ExecuteAsync(cancellationToken);
                }
                else
                {
                    run.Skipped.Add(step.Id);
                    again = true;
                }
            }
        }
        while (again);
    }

    private static async Task DrainAsync(Dictionary<string, Task<StepConclusion>> running)
    {
        foreach (var t in running.Values)
        {
            await ((Task)t).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        running.Clear();
    }

    private async Task FinishAsync(InstanceRun run, InstanceStatus status, string? step, string? errorType, string? message)
    {
        if (!run.Waiting.IsEmpty)
        {
            await Bookmarks.CloseAllAsync(run.Id, run.CancelRequest?.By ?? "runtime", CancellationToken.None);
        }

        var now = _time.GetUtcNow();
        run.Record.Status = status;
        run.Record.FinishedAt = now;
        run.Record.UpdatedAt = now;
        run.Record.FaultedStep = status == InstanceStatus.Faulted ? step : null;
        run.Record.ErrorType = errorType;
        run.Record.ErrorMessage = message;
        var duration = now - (run.Record.StartedAt ?? run.Record.CreatedAt);
        var entry = run.Journal(now, status == InstanceStatus.Completed ? LogLevel.Information : LogLevel.Error,
            $"Instance{status}",
            status switch
            {
                InstanceStatus.Completed => $"Instance completed in {duration.TotalMilliseconds:0.###} ms.",
                InstanceStatus.Cancelled => $"Instance cancelled: {message}",
                _ => $"Instance faulted at step '{step}' ({errorType}): {message}",
            },
            step,
            properties: new Dictionary<string, object?> { ["durationMs"] = duration.TotalMilliseconds, ["status"] = status.ToString() });
        var snapshot = run.Snapshot();
        await _writes.EnqueueAsync(
            new InstanceFinished(snapshot.Id, status, snapshot.OutputJson, now, snapshot.FaultedStep, errorType, message),
            new JournalAppended(entry));
        _observers.InstanceChanged(snapshot);
        _observers.JournalAppended(entry);
    }

    /// <summary>A new, time-ordered instance id.</summary>
    public static string NewInstanceId() => Guid.CreateVersion7().ToString("N");

    private static string CancelMessage(InstanceRun run) =>
        run.CancelRequest is { } c ? $"{c.Reason} (by {c.By})" : "cancelled";
}

/// <summary>No such definition (or version).</summary>
public sealed class DefinitionNotFoundException(string definitionId, int? version)
    : Exception(version is null ? $"Workflow definition '{definitionId}' does not exist." : $"Workflow definition '{definitionId}' has no version {version}.")
{
    /// <summary>The id asked for.</summary>
    public string DefinitionId { get; } = definitionId;
}

/// <summary>A start request's input does not match the definition's declared inputs.</summary>
public sealed class InputInvalidException(IReadOnlyList<InputError> inputs)
    : Exception(string.Join("; ", inputs.Select(e => $"{e.Path}: {e.Message}")))
{
    /// <summary>The errors, by input name: for a caller that built the input from its own request (the control plane).</summary>
    public IReadOnlyList<InputError> Inputs { get; } = inputs;

    /// <summary>The errors at their paths in a start request's body (<c>$.input.&lt;name&gt;</c>).</summary>
    public IReadOnlyList<ValidationError> Errors { get; } = [.. inputs.Select(e => new ValidationError(e.Path, e.Message))];
}
