using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.ControlPlane;

namespace ModelServeShim.Gateway;

/// <summary>
/// The gateway's view of the services and their replicas. Services come from the store once, then follow the control
/// plane's service-changed events (and a re-read every <see cref="GatewayOptions.ServiceListRefreshInterval"/>); a
/// service changed on another replica (its <c>service</c> event arrives through the cluster event log) is read again
/// from the store at once; a
/// service's replicas come from its shimlet's status, cached for <see cref="GatewayOptions.StatusRefreshInterval"/> and
/// read again at once when the service changes. No request waits for a shimlet unless its service has no replica list
/// yet or changed since the last one. Status reads in the background are tracked: disposing cancels and awaits them.
/// </summary>
public sealed class GatewayRouteTable : IDisposable, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly IDbContextFactory<ControlPlaneDbContext> _db;
    private readonly EventBroadcaster _events;
    private readonly IShimletProvider _shimlets;
    private readonly GatewayHttp _http;
    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GatewayRouteTable> _logger;
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _reloads = new();
    private long _loadedAt;
    private bool _loaded;

    /// <summary>Creates the table; it follows service changes from now on.</summary>
    public GatewayRouteTable(
        IDbContextFactory<ControlPlaneDbContext> db,
        EventBroadcaster events,
        IShimletProvider shimlets,
        GatewayHttp http,
        IOptions<GatewayOptions> options,
        TimeProvider time,
        ILogger<GatewayRouteTable> logger)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(options);
        _db = db;
        _events = events;
        _shimlets = shimlets;
        _http = http;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _events.ServiceChanged += OnServiceChanged;
        _events.Delivered += OnDelivered;
    }

    /// <summary>Every known service (any state).</summary>
    public async ValueTask<IReadOnlyList<ServiceRoute>> ListAsync(CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken);
        return [.. _entries.Select(e => e.Value.Route)];
    }

    /// <summary>The model names served now (Running or Degraded), sorted.</summary>
    public async ValueTask<IReadOnlyList<string>> ServedModelNamesAsync(CancellationToken cancellationToken) =>
        [.. (await ListAsync(cancellationToken)).Where(r => r.IsServing).Select(r => r.ModelName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Resolves a request's <c>model</c>: a service id, else the model name of a live service (one that is neither
    /// Failed nor Stopped), else a Failed or Stopped service of that name (so the answer can say why it is not served).
    /// </summary>
    public async ValueTask<ServiceRoute?> FindAsync(string model, CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken);
        if (_entries.TryGetValue(model, out var byId))
        {
            return byId.Route;
        }

        // Enumerating a ConcurrentDictionary takes no locks (its Values property would take them all).
        ServiceRoute? best = null;
        foreach (var (_, entry) in _entries)
        {
            var route = entry.Route;
            if (route.ModelName == model && (best is null || (best.IsGone && !route.IsGone) || (best.IsGone == route.IsGone && route.CreatedAt > best.CreatedAt)))
            {
                best = route;
            }
        }

        return best;
    }

    /// <summary>The service's ready replicas (possibly none), reading its shimlet's status when the cached list is missing or out of date.</summary>
    public async ValueTask<IReadOnlyList<Replica>> ReplicasAsync(ServiceRoute route, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(route);
        var entry = _entries.GetOrAdd(route.ServiceId, _ => new Entry(route));
        var snapshot = entry.Replicas;
        if (snapshot is null || snapshot.Revision != entry.Route.Revision)
        {
            return (await RefreshAsync(entry).WaitAsync(cancellationToken)).Replicas;
        }

        if (_time.GetUtcNow() - snapshot.FetchedAt >= _options.StatusRefreshInterval)
        {
            _ = RefreshAsync(entry);
        }

        return snapshot.Replicas;
    }

    /// <summary>Leaves a replica out for <see cref="GatewayOptions.ReplicaCooldown"/> and reads the service's status again soon.</summary>
    public void ReportFailure(string serviceId, Replica replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        replica.TakeOut(_time.GetUtcNow() + _options.ReplicaCooldown);
        if (_entries.TryGetValue(serviceId, out var entry))
        {
            _ = RefreshAsync(entry);
        }
    }

    /// <summary>Picks the replica with the fewest requests in flight, skipping those left out; ties go round robin.</summary>
    public Replica? Pick(string serviceId, IReadOnlyList<Replica> replicas, Replica? exclude)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count == 0)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        var start = _entries.TryGetValue(serviceId, out var entry) ? (int)((uint)Interlocked.Increment(ref entry.Rotor) % (uint)replicas.Count) : 0;
        Replica? best = null;
        for (var i = 0; i < replicas.Count; i++)
        {
            var candidate = replicas[(start + i) % replicas.Count];
            if (ReferenceEquals(candidate, exclude) || candidate.IsOut(now))
            {
                continue;
            }

            if (best is null || candidate.InFlight < best.InFlight)
            {
                best = candidate;
            }
        }

        return best;
    }

    /// <summary>Stops following the services and cancels the status reads in flight (<see cref="DisposeAsync"/> also waits for them).</summary>
    public void Dispose()
    {
        _events.ServiceChanged -= OnServiceChanged;
        _events.Delivered -= OnDelivered;
        _stopping.Cancel();
        _loadLock.Dispose();
    }

    /// <summary>Stops following the services, cancels the status reads in flight and waits until they have ended.</summary>
    public async ValueTask DisposeAsync()
    {
        Dispose();
        Task[] refreshing = [.. _entries.Values.Select(e => e.Refreshing).OfType<Task>(), .. _reloads.Keys];
        await Task.WhenAll(refreshing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void OnServiceChanged(ServiceRecord service) => Upsert(ServiceRoute.From(service));

    /// <summary>
    /// A <c>service</c> event this replica does not know yet (another replica stored the change): the service is read
    /// again from the store in the background. This replica's own changes were applied by <see cref="OnServiceChanged"/>
    /// before their event was published, so they match and cost nothing.
    /// </summary>
    private void OnDelivered(ServerEvent e)
    {
        if (e.Name != "service" || !Volatile.Read(ref _loaded) || _stopping.IsCancellationRequested || ServiceEventSummary.Read(e.Data) is not { } summary)
        {
            return;
        }

        if (_entries.TryGetValue(summary.ServiceId, out var entry) && summary.Matches(entry.Route))
        {
            return;
        }

        var reload = ReloadAsync(summary.ServiceId);
        _reloads[reload] = 0;
        _ = reload.ContinueWith(t => _reloads.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task ReloadAsync(string serviceId)
    {
        await Task.Yield();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.StatusTimeout);
        try
        {
            await using var context = await _db.CreateDbContextAsync(timeout.Token);
            var service = await context.Services.AsNoTracking().FirstOrDefaultAsync(s => s.Id == serviceId, timeout.Token);
            if (service is not null)
            {
                Upsert(ServiceRoute.From(service));
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The host is stopping.
        }
        catch (Exception e) when (e is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            _logger.LogWarning(e, "Gateway: could not read service {Service}, changed on another replica, from the store; the next re-read of every service (within {Interval}) will pick it up",
                serviceId, _options.ServiceListRefreshInterval);
        }
    }

    private void Upsert(ServiceRoute route) => _entries.AddOrUpdate(
        route.ServiceId,
        _ => new Entry(route),
        (_, entry) =>
        {
            lock (entry)
            {
                if (route.Revision >= entry.Route.Revision)
                {
                    entry.Route = route;
                }
            }

            return entry;
        });

    private async ValueTask EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (IsFresh())
        {
            return;
        }

        await _loadLock.WaitAsync(cancellationToken);
        try
        {
            if (IsFresh())
            {
                return;
            }

            await using var context = await _db.CreateDbContextAsync(cancellationToken);
            var services = await context.Services.AsNoTracking().ToListAsync(cancellationToken);
            foreach (var service in services)
            {
                Upsert(ServiceRoute.From(service));
            }

            Volatile.Write(ref _loadedAt, _time.GetTimestamp());
            Volatile.Write(ref _loaded, true);
        }
        finally
        {
            _loadLock.Release();
        }
    }

    private bool IsFresh() =>
        Volatile.Read(ref _loaded) && _time.GetElapsedTime(Volatile.Read(ref _loadedAt)) < _options.ServiceListRefreshInterval;

    private Task<ReplicaSnapshot> RefreshAsync(Entry entry)
    {
        lock (entry)
        {
            return entry.Refreshing ??= RefreshCoreAsync(entry);
        }
    }

    private async Task<ReplicaSnapshot> RefreshCoreAsync(Entry entry)
    {
        await Task.Yield();
        var route = entry.Route;
        var previous = entry.Replicas?.Replicas ?? [];
        var replicas = previous;
        using var deadline = new CancellationTokenSource(_options.StatusTimeout, _time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _stopping.Token);
        try
        {
            if (!route.IsServing || _shimlets.Find(route.Shimlet) is not { } shimlet)
            {
                replicas = [];
            }
            else
            {
                var target = new ServiceTarget(route.ServiceId, route.Namespace);
                var status = await shimlet.GetStatusAsync(target, timeout.Token);
                IReadOnlyList<Uri> endpoints = status.ReplicaEndpoints.Count > 0 ? status.ReplicaEndpoints
                    : status is { Endpoint: { } single, ReadyReplicas: > 0 } ? [single] : [];
                var next = new List<Replica>(endpoints.Count);
                foreach (var endpoint in endpoints)
                {
                    var access = await shimlet.GetRuntimeAccessAsync(target, status with { Endpoint = endpoint }, _http.Invoker, timeout.Token);
                    var key = endpoint.Authority + endpoint.AbsolutePath.TrimEnd('/');
                    var replica = previous.FirstOrDefault(r => r.Key == key);
                    if (replica is null)
                    {
                        replica = new Replica(key, access);
                    }
                    else
                    {
                        replica.Access = access;
                    }

                    next.Add(replica);
                }

                replicas = next;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The host is stopping: keep the replicas known so far, say nothing.
        }
        catch (Exception e) when (e is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            // No caller's token is involved (the refresh is shared): a cancellation is the status timeout. Keep the replicas known so far: a failing one is left out when a request to it fails.
            _logger.LogWarning(e, "Gateway: could not read the status of service {Service} through shimlet {Shimlet}", route.ServiceId, route.Shimlet);
        }

        var snapshot = new ReplicaSnapshot(replicas, _time.GetUtcNow(), route.Revision);
        lock (entry)
        {
            entry.Replicas = snapshot;
            entry.Refreshing = null;
        }

        return snapshot;
    }

    /// <summary>The fields of a <c>service</c> event's data (<see cref="Apis.ServiceSummary"/>) that routing depends on.</summary>
    private sealed record ServiceEventSummary(string ServiceId, string ModelName, ServiceState State, int Replicas)
    {
        public static ServiceEventSummary? Read(string data)
        {
            try
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(data);
                return node?["serviceId"]?.GetValue<string>() is { } id && node["modelName"]?.GetValue<string>() is { } model
                    && Enum.TryParse<ServiceState>(node["state"]?.GetValue<string>(), ignoreCase: true, out var state) && node["replicas"]?.GetValue<int>() is { } replicas
                    ? new ServiceEventSummary(id, model, state, replicas)
                    : null;
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
            {
                return null;
            }
        }

        public bool Matches(ServiceRoute route) => route.ModelName == ModelName && route.State == State && route.Replicas == Replicas;
    }

    private sealed record ReplicaSnapshot(IReadOnlyList<Replica> Replicas, DateTimeOffset FetchedAt, long Revision);

    private sealed class Entry(ServiceRoute route)
    {
        public int Rotor;

        public ServiceRoute Route { get; set; } = route;

        public ReplicaSnapshot? Replicas { get; set; }

        public Task<ReplicaSnapshot>? Refreshing { get; set; }
    }
}
