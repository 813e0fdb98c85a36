using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.Workflows.Execution;

/// <summary>How a signal was taken.</summary>
public enum SignalOutcome
{
    /// <summary>Accepted: the waiting step runs again with it.</summary>
    Accepted,

    /// <summary>No such instance.</summary>
    InstanceNotFound,

    /// <summary>The instance does not wait for this signal (not suspended on it, or already resolved): a conflict.</summary>
    NotWaiting,

    /// <summary>The caller's roles do not allow this signal.</summary>
    Forbidden,

    /// <summary>The payload does not match the bookmark's schema.</summary>
    PayloadInvalid,
}

/// <summary>The answer to a signal.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Message">Why, for the caller (problem detail).</param>
/// <param name="Bookmark">The bookmark it was meant for, when one exists.</param>
/// <param name="InstanceStatus">The instance's status, when it exists.</param>
/// <param name="Waiting">What the instance waits for now (for a 409).</param>
/// <param name="Errors">Payload errors by JSON pointer (for a 400).</param>
public sealed record SignalResult(
    SignalOutcome Outcome, string Message, BookmarkRecord? Bookmark = null, InstanceStatus? InstanceStatus = null,
    IReadOnlyList<string>? Waiting = null, IReadOnlyDictionary<string, string>? Errors = null);

/// <summary>
/// The runtime's bookmarks: what suspended steps wait for, and the only place that resolves them. A bookmark is
/// resolved exactly once, by the first of its signal, its timeout (a <see cref="TimeProvider"/> timer, re-armed after
/// a restart) or a cancel, through a conditional update in the store (so two signals, or a signal and the timeout,
/// never both win, even from two processes). The resolution is delivered to the instance's live run if it still runs a
/// branch, or resumes the suspended instance from the store (<see cref="WorkflowEngine"/> loads the resolved bookmark
/// and runs the step again with it).
/// </summary>
public sealed class Bookmarks : IDisposable
{
    /// <summary>The signal name rule.</summary>
    public const string NamePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

    /// <summary>Who resolves a bookmark whose timeout passed.</summary>
    public const string RuntimeActor = "runtime";

    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, ITimer> _timers = new();
    private readonly ConcurrentDictionary<string, Guid[]> _suspended = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _deliveries = new(1, 1);
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly WorkflowEngine _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    internal Bookmarks(IDbContextFactory<WorkflowDbContext> db, WorkflowEngine engine, TimeProvider time, ILogger logger)
    {
        _db = db;
        _engine = engine;
        _time = time;
        _logger = logger;
    }

    /// <summary>Suspended instances this process holds (no run, no slot, only their bookmarks' timers).</summary>
    public int SuspendedCount => _suspended.Count;

    /// <summary>The open bookmarks of <paramref name="instanceIds"/> (what each waits for), in one query.</summary>
    public async Task<Dictionary<string, List<BookmarkRecord>>> OpenAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        if (instanceIds.Count == 0)
        {
            return [];
        }

        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var rows = await db.Bookmarks.AsNoTracking()
            .Where(b => instanceIds.Contains(b.InstanceId) && b.ResolvedAt == null)
            .ToListAsync(cancellationToken);
        return rows.GroupBy(b => b.InstanceId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(b => b.CreatedAt).ToList(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Sends signal <paramref name="name"/> to an instance: checks that it waits for it, the caller's roles and the
    /// payload, then resolves the bookmark (the first caller wins; a second one gets <see cref="SignalOutcome.NotWaiting"/>)
    /// and resumes the step. Returns once the resolution is committed; the step runs in the background.
    /// </summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="name">The signal's name.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="by">Who sends it.</param>
    /// <param name="isInRole">Whether the caller has a role.</param>
    /// <param name="cancellationToken">Cancels the wait for the store.</param>
    public async Task<SignalResult> SignalAsync(
        string instanceId, string name, JsonNode? payload, string by, Func<string, bool> isInRole, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(isInRole);
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var instance = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == instanceId, cancellationToken);
        if (instance is null)
        {
            return new SignalResult(SignalOutcome.InstanceNotFound, $"No workflow instance '{instanceId}'.");
        }

        var open = await db.Bookmarks.AsNoTracking().Where(b => b.InstanceId == instanceId && b.ResolvedAt == null).ToListAsync(cancellationToken);
        var bookmark = open.Where(b => b.Name == name).MinBy(b => b.CreatedAt);
        if (bookmark is null)
        {
            var waiting = open.Select(b => b.Name).Distinct(StringComparer.Ordinal).ToList();
            var resolved = await db.Bookmarks.AsNoTracking().Where(b => b.InstanceId == instanceId && b.Name == name && b.ResolvedAt != null)
                .OrderByDescending(b => b.ResolvedAt).FirstOrDefaultAsync(cancellationToken);
            var why = resolved is not null
                ? $"signal '{name}' was already {(resolved.Resolution == nameof(SignalKind.Received) ? "received" : resolved.Resolution?.ToLowerInvariant())} (by {resolved.ResolvedBy} at {resolved.ResolvedAt:u})"
                : waiting.Count > 0 ? $"it waits for {string.Join(", ", waiting.Select(w => $"'{w}'"))}, not '{name}'" : $"it is {instance.Status} and waits for no signal";
            return new SignalResult(SignalOutcome.NotWaiting, $"Instance '{instanceId}' is not waiting for signal '{name}': {why}.", resolved, instance.Status, waiting);
        }

        var roles = RolesOf(bookmark);
        if (!roles.Any(isInRole))
        {
            return new SignalResult(SignalOutcome.Forbidden,
                $"Signal '{name}' of instance '{instanceId}' may only be sent by a caller with role {string.Join(" or ", roles)}.", bookmark, instance.Status);
        }

        if (bookmark.PayloadSchemaJson is { } schemaJson && Validate(schemaJson, payload) is { Count: > 0 } errors)
        {
            return new SignalResult(SignalOutcome.PayloadInvalid,
                $"The payload of signal '{name}' does not match what step '{bookmark.ActivityId}' expects: {string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}"))}.",
                bookmark, instance.Status, Errors: errors);
        }

        var delivery = new SignalDelivery(name, SignalKind.Received, payload?.DeepClone(), by, _time.GetUtcNow());
        if (!await ResolveAsync(bookmark, delivery.Kind.ToString(), by, payload?.ToJsonString(), delivery.At, cancellationToken))
        {
            return new SignalResult(SignalOutcome.NotWaiting,
                $"Instance '{instanceId}' is not waiting for signal '{name}': another signal (or its timeout) resolved it first.", bookmark, instance.Status, []);
        }

        await DeliverAsync(bookmark, delivery);
        return new SignalResult(SignalOutcome.Accepted, $"Signal '{name}' accepted; step '{bookmark.ActivityId}' runs again.", bookmark, instance.Status);
    }

    /// <summary>The roles a bookmark allows (operators when it names none).</summary>
    public static IReadOnlyList<string> RolesOf(BookmarkRecord bookmark)
    {
        ArgumentNullException.ThrowIfNull(bookmark);
        var roles = bookmark.Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return roles.Length > 0 ? roles : ["operator"];
    }

    /// <summary>Checks a payload against a JSON Schema; the errors by instance location (empty when it matches).</summary>
    public static IReadOnlyDictionary<string, string> Validate(string schemaJson, JsonNode? payload)
    {
        var schema = Schemas.GetOrAdd(schemaJson, static text =>
            JsonSchema.FromText(text, baseUri: new Uri($"urn:modelserveshim:bookmark:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))}")));
        using var document = JsonDocument.Parse(payload?.ToJsonString() ?? "null");
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return new Dictionary<string, string>();
        }

        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var detail in (IEnumerable<EvaluationResults>?)result.Details ?? [])
        {
            if (detail.Errors is null)
            {
                continue;
            }

            var at = "$" + detail.InstanceLocation.ToString().Replace('/', '.');
            foreach (var (_, message) in detail.Errors)
            {
                errors[at] = errors.TryGetValue(at, out var earlier) ? $"{earlier}; {message}" : message;
            }
        }

        if (errors.Count == 0)
        {
            errors["$"] = "the payload does not match the schema";
        }

        return errors;
    }

    /// <summary>Builds the row of a new bookmark for a suspending step.</summary>
    internal static BookmarkRecord NewRecord(string instanceId, string activityId, Bookmark bookmark, DateTimeOffset now)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(bookmark.Name, NamePattern))
        {
            throw StepException.NonRetryable(StepErrorTypes.InvalidInput, $"Step '{activityId}' suspended on signal '{bookmark.Name}', which is not a signal name (letters, digits, '.', '_', '-', up to 64).");
        }

        if (bookmark.Timeout is { } t && t <= TimeSpan.Zero)
        {
            throw StepException.NonRetryable(StepErrorTypes.InvalidInput, $"Step '{activityId}' suspended with a timeout of {t}; a timeout must be positive.");
        }

        return new BookmarkRecord
        {
            Id = Guid.CreateVersion7(),
            InstanceId = instanceId,
            ActivityId = activityId,
            Name = bookmark.Name,
            Description = bookmark.Description,
            Roles = string.Join(',', bookmark.Roles),
            PayloadSchemaJson = bookmark.PayloadSchema?.ToJsonString(),
            CreatedAt = now,
            TimeoutAt = bookmark.Timeout is { } timeout ? now + timeout : null,
        };
    }

    /// <summary>Starts the bookmark's timeout timer, if it has one (due now if its time already passed).</summary>
    internal void Arm(BookmarkRecord bookmark)
    {
        if (bookmark.TimeoutAt is not { } due || _timers.ContainsKey(bookmark.Id))
        {
            return;
        }

        var delay = due - _time.GetUtcNow();
        var timer = _time.CreateTimer(_ => _ = TimeOutAsync(bookmark), null, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
        if (!_timers.TryAdd(bookmark.Id, timer))
        {
            timer.Dispose();
        }
    }

    /// <summary>Records that an instance of this process is suspended (it has no run), waiting for <paramref name="bookmarkIds"/>.</summary>
    internal void Parked(string instanceId, IEnumerable<Guid> bookmarkIds) => _suspended[instanceId] = [.. bookmarkIds];

    /// <summary>The suspended instances of this process.</summary>
    internal IEnumerable<string> SuspendedIds() => _suspended.Keys;

    /// <summary>The bookmarks the suspended instances of this process wait for.</summary>
    internal IEnumerable<Guid> ParkedBookmarkIds() => _suspended.Values.SelectMany(ids => ids);

    /// <summary>
    /// Delivers a bookmark that another replica resolved (a signal sent there) to the instance of this process that waits
    /// for it — its live run, or the suspended instance, which resumes here — unless it was delivered meanwhile.
    /// </summary>
    internal async Task DeliverResolvedAsync(BookmarkRecord bookmark)
    {
        ArgumentNullException.ThrowIfNull(bookmark);
        if (bookmark.Resolution is not (nameof(SignalKind.Received) or nameof(SignalKind.TimedOut)))
        {
            return; // Cancelled: the cancel reaches the owner as a cancel request.
        }

        Disarm(bookmark.Id);
        var delivery = new SignalDelivery(bookmark.Name, Enum.Parse<SignalKind>(bookmark.Resolution),
            bookmark.PayloadJson is null ? null : JsonNode.Parse(bookmark.PayloadJson), bookmark.ResolvedBy ?? RuntimeActor, bookmark.ResolvedAt ?? _time.GetUtcNow());
        await _deliveries.WaitAsync();
        try
        {
            var parked = _suspended.TryGetValue(bookmark.InstanceId, out var waited) && waited.Contains(bookmark.Id);
            if (!parked && !_engine.IsWaitedByLiveRun(bookmark))
            {
                return; // Delivered meanwhile.
            }

            _logger.LogInformation("Signal '{Name}' of workflow instance {Instance} was resolved on another replica; resuming it here", bookmark.Name, bookmark.InstanceId);
            if (!_engine.TryDeliver(bookmark, delivery))
            {
                await _engine.ResumeSuspendedAsync(bookmark.InstanceId, delivery);
            }
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Could not resume workflow instance {Instance} after signal '{Name}'", bookmark.InstanceId, bookmark.Name);
        }
        finally
        {
            _deliveries.Release();
        }
    }

    /// <summary>The instance runs again (a signal resumed it).</summary>
    internal void Unpark(string instanceId) => _suspended.TryRemove(instanceId, out _);

    /// <summary>Whether the instance is suspended in this process.</summary>
    internal bool IsSuspended(string instanceId) => _suspended.ContainsKey(instanceId);

    /// <summary>Resolves every open bookmark of an instance that ends (cancelled or faulted) and stops their timers.</summary>
    internal async Task<int> CloseAllAsync(string instanceId, string by, CancellationToken cancellationToken)
    {
        _suspended.TryRemove(instanceId, out _);
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var open = await db.Bookmarks.Where(b => b.InstanceId == instanceId && b.ResolvedAt == null).Select(b => b.Id).ToListAsync(cancellationToken);
        foreach (var id in open)
        {
            Disarm(id);
        }

        var now = _time.GetUtcNow();
        return await db.Bookmarks.Where(b => b.InstanceId == instanceId && b.ResolvedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(b => b.ResolvedAt, now).SetProperty(b => b.Resolution, "Cancelled").SetProperty(b => b.ResolvedBy, by), cancellationToken);
    }

    /// <summary>
    /// Cancels a suspended instance of this process: resolves its bookmarks as Cancelled and ends it. False when it is not
    /// suspended here (or a signal resumed it first: the live run is cancelled instead).
    /// </summary>
    internal async Task CancelSuspendedAsync(string instanceId, string reason, string by)
    {
        await _deliveries.WaitAsync();
        try
        {
            if (!_suspended.TryRemove(instanceId, out _))
            {
                // A signal resumed it meanwhile: cancel the run it started.
                _engine.Cancel(instanceId, reason, by);
                return;
            }

            await CloseAllAsync(instanceId, by, CancellationToken.None);
            await _engine.FinishSuspendedAsync(instanceId, reason, by);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Could not cancel suspended workflow instance {Instance}", instanceId);
        }
        finally
        {
            _deliveries.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var id in _timers.Keys)
        {
            Disarm(id);
        }
    }

    private void Disarm(Guid bookmarkId)
    {
        if (_timers.TryRemove(bookmarkId, out var timer))
        {
            timer.Dispose();
        }
    }

    private async Task TimeOutAsync(BookmarkRecord bookmark)
    {
        try
        {
            var now = _time.GetUtcNow();
            if (await ResolveAsync(bookmark, nameof(SignalKind.TimedOut), RuntimeActor, null, now, CancellationToken.None))
            {
                await DeliverAsync(bookmark, new SignalDelivery(bookmark.Name, SignalKind.TimedOut, null, RuntimeActor, now));
            }
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Could not time out bookmark '{Name}' of workflow instance {Instance}", bookmark.Name, bookmark.InstanceId);
        }
    }

    /// <summary>The conditional update that makes a resolution exactly-once: true for the one caller that resolved it.</summary>
    private async Task<bool> ResolveAsync(BookmarkRecord bookmark, string resolution, string by, string? payloadJson, DateTimeOffset at, CancellationToken cancellationToken)
    {
        Disarm(bookmark.Id);
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var changed = await db.Bookmarks.Where(b => b.Id == bookmark.Id && b.ResolvedAt == null)
            .ExecuteUpdateAsync(s => s
                .SetProperty(b => b.ResolvedAt, at)
                .SetProperty(b => b.Resolution, resolution)
                .SetProperty(b => b.ResolvedBy, by)
                .SetProperty(b => b.PayloadJson, payloadJson), cancellationToken);
        return changed == 1;
    }

    /// <summary>Hands a resolution to the instance's live run, or resumes the suspended instance with it.</summary>
    private async Task DeliverAsync(BookmarkRecord bookmark, SignalDelivery delivery)
    {
        await _deliveries.WaitAsync();
        try
        {
            if (_engine.TryDeliver(bookmark, delivery))
            {
                return;
            }

            await _engine.ResumeSuspendedAsync(bookmark.InstanceId, delivery);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Could not resume workflow instance {Instance} after signal '{Name}'", bookmark.InstanceId, bookmark.Name);
        }
        finally
        {
            _deliveries.Release();
        }
    }
}
