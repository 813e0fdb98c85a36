using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local;

/// <summary>
/// The built-in local shimlet (<c>--shimlet=local</c>): runs the serving runtime as child processes on this machine,
/// one per replica, each on its own port on 127.0.0.1, restarted with backoff when they crash. A record per service in
/// the state directory lets a restarted orchestrator adopt the processes that still run. Its status watch is driven by
/// the replica supervisors: they probe a starting replica on a short, growing schedule and signal when it first answers
/// (or exits), so the watch yields the new status at once.
/// </summary>
public sealed partial class LocalShimlet : IShimlet, IAsyncDisposable
{
    private readonly LocalShimletOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LocalShimlet> _logger;
    private readonly ConcurrentDictionary<string, LocalService> _services = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _serviceLocks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _recoveryLock = new(1, 1);
    private readonly StatusSignal _statusChanged = new();
    private readonly HealthProbe _probe;
    private bool _recovered;
    private long _logSequence;

    /// <summary>Creates the shimlet; nothing is read or started until it is first used or <see cref="RecoverAsync"/> runs.</summary>
    public LocalShimlet(IOptions<LocalShimletOptions> options, TimeProvider timeProvider, ILogger<LocalShimlet> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        StateDirectory = Path.GetFullPath(_options.StateDirectory ?? Path.Combine("data", "local-shimlet"));
        _probe = new HealthProbe(_options.HealthProbeTimeout);
    }

    /// <inheritdoc />
    public string Name => "local";

    /// <summary>The absolute state directory: <c>services/&lt;service id&gt;/{service.json,work/,logs/}</c>.</summary>
    public string StateDirectory { get; }

    private string ServicesDirectory => Path.Combine(StateDirectory, "services");

    /// <summary>
    /// Reads the service records once: adopts each recorded process that still runs (same boot, pid, start time and
    /// command line) and starts again the ones that are gone. Every operation calls this first; the registration also
    /// runs it when the host starts.
    /// </summary>
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _recovered))
        {
            return;
        }

        await _recoveryLock.WaitAsync(cancellationToken);
        try
        {
            if (_recovered)
            {
                return;
            }

            if (Directory.Exists(ServicesDirectory))
            {
                var bootId = ProcFs.BootId();
                foreach (var directory in Directory.EnumerateDirectories(ServicesDirectory).Order(StringComparer.Ordinal))
                {
                    Recover(directory, bootId);
                }
            }

            Volatile.Write(ref _recovered, true);
        }
        finally
        {
            _recoveryLock.Release();
        }
    }

    /// <inheritdoc />
    public async Task<ApplyResult> ApplyAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);
        await RecoverAsync(cancellationToken);
        var executable = ResolveExecutable(spec);
        var hash = ServiceRecordStore.Hash(spec);

        var serviceLock = LockFor(spec.ServiceId);
        await serviceLock.WaitAsync(cancellationToken);
        try
        {
            bool changed;
            if (_services.TryGetValue(spec.ServiceId, out var service) && service.SpecHash == hash)
            {
                service.Spec = spec;
                changed = false;
                foreach (var replica in service.Replicas)
                {
                    changed |= replica.RestartIfCrashLooping();
                }

                changed |= await ScaleCoreAsync(service, spec.Replicas, cancellationToken);
            }
            else if (service is not null)
            {
                await ReplaceAsync(service, spec, hash, executable, cancellationToken);
                changed = true;
            }
            else
            {
                var directory = Path.Combine(ServicesDirectory, ServiceRecordStore.DirectoryName(spec.ServiceId));
                service = new LocalService(spec.ServiceId, directory, spec, hash, Plan(spec, executable, directory));
                _services[spec.ServiceId] = service;
                await ScaleCoreAsync(service, spec.Replicas, cancellationToken);
                changed = true;
            }

            service.Persist();
            _statusChanged.Notify();
            var ids = service.Replicas.Select(r => ResourceId(spec.ServiceId, r.Index)).ToList();
            _logger.LogInformation("Applied service {ServiceId}: {Replicas} replica(s) of {Executable} (changed: {Changed})", spec.ServiceId, ids.Count, executable, changed);
            return new ApplyResult(ids, changed);
        }
        finally
        {
            serviceLock.Release();
        }
    }


    /// <inheritdoc />
    public async Task<ShimletStatus> GetStatusAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        await RecoverAsync(cancellationToken);
        if (!_services.TryGetValue(target.ServiceId, out var service))
        {
            return new ShimletStatus { Phase = ServicePhase.NotFound };
        }

        var spec = service.Spec;
        var replicas = service.Replicas;
        if (replicas.Count == 0)
        {
            return new ShimletStatus { Phase = ServicePhase.Stopped, DesiredReplicas = 0 };
        }

        var snapshots = replicas.Select(r => r.Snapshot()).ToList();
        var ready = await Task.WhenAll(snapshots.Select(s =>
            s is { State: ReplicaState.Running, Pid: not null } ? ProbeAsync(s.Port, spec.HealthPath, cancellationToken) : Task.FromResult(false)));
        var now = _time.GetUtcNow();
        var readings = snapshots.Select((s, i) => LocalStatusMapper.Read(s, ready[i], spec, now, () => CrashLog(replicas[i]), _options.RestartWindow)).ToList();
        return ReplicaHealth.Aggregate(readings, LocalStatusMapper.ReplicaEndpoint(snapshots[0].Port));
    }

    /// <summary>
    /// Yields the status now and after each read on a <see cref="ProbeBackoff"/> schedule
    /// (<see cref="LocalShimletOptions.ReadinessProbeInitialInterval"/> after a change, growing to
    /// <see cref="LocalShimletOptions.PollInterval"/>), and at once when a supervisor or an apply, scale or delete signals a
    /// change (a replica started, exited or first answered). The schedule catches what no signal reports, such as a ready
    /// replica that stops answering or a startup timeout passing.
    /// </summary>
    public IAsyncEnumerable<ShimletStatus> WatchStatusAsync(ServiceTarget target, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var fallbackMax = _options.PollInterval > _options.ReadinessProbeInitialInterval ? _options.PollInterval : _options.ReadinessProbeInitialInterval;
        return ShimletWatch.ReadOnBackoffAsync(this, target, timeProvider,
            new ProbeBackoff(_options.ReadinessProbeInitialInterval, fallbackMax, _options.ReadinessProbeBackoffMultiplier),
            () => _statusChanged.Next, cancellationToken);
    }

    /// <inheritdoc />
    public async Task ScaleAsync(ServiceTarget target, int replicas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (replicas < 0)
        {
            throw StepException.NonRetryable(LocalErrorTypes.InvalidSpec, $"Replicas must not be negative (got {replicas}).");
        }

        await RecoverAsync(cancellationToken);
        var serviceLock = LockFor(target.ServiceId);
        await serviceLock.WaitAsync(cancellationToken);
        try
        {
            if (!_services.TryGetValue(target.ServiceId, out var service))
            {
                throw StepException.NonRetryable(LocalErrorTypes.ServiceNotFound, $"Service {target.ServiceId} is not deployed by the local shimlet; apply it first.");
            }

            CheckPortRange(service.Spec with { Replicas = replicas });
            service.Spec = service.Spec with { Replicas = replicas };
            await ScaleCoreAsync(service, replicas, cancellationToken);
            service.Persist();
            _statusChanged.Notify();
        }
        finally
        {
            serviceLock.Release();
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        await RecoverAsync(cancellationToken);
        var serviceLock = LockFor(target.ServiceId);
        await serviceLock.WaitAsync(cancellationToken);
        try
        {
            var directory = Path.Combine(ServicesDirectory, ServiceRecordStore.DirectoryName(target.ServiceId));
            if (_services.TryRemove(target.ServiceId, out var service))
            {
                service.MarkDeleted();
                var replicas = service.Replicas;
                await Task.WhenAll(replicas.Select(r => r.StopAsync(cancellationToken)));
                foreach (var replica in replicas)
                {
                    await replica.DisposeAsync();
                }

                _statusChanged.Notify();
                _logger.LogInformation("Deleted service {ServiceId}: stopped {Replicas} replica(s); logs kept in {LogDirectory}",
                    target.ServiceId, replicas.Count, LocalService.LogDirectory(directory));
            }

            // Everything but the logs goes; what is already gone is fine.
            if (Directory.Exists(directory))
            {
                File.Delete(Path.Combine(directory, ServiceRecordStore.FileName));
                var work = LocalService.WorkDirectory(directory);
                if (Directory.Exists(work))
                {
                    Directory.Delete(work, recursive: true);
                }
            }
        }
        finally
        {
            serviceLock.Release();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetLogsAsync(ServiceTarget target, int tailLines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        await RecoverAsync(cancellationToken);
        if (tailLines <= 0)
        {
            return [];
        }

        if (!_services.TryGetValue(target.ServiceId, out var service))
        {
            return ReadLogFiles(target.ServiceId, tailLines);
        }

        var replicas = service.Replicas;
        var prefix = replicas.Count > 1;
        var lines = new List<LogLine>();
        foreach (var replica in replicas)
        {
            replica.Log.Pump();
            lines.AddRange(replica.Log.Last(tailLines).Select(l => prefix ? l with { Text = $"[replica-{replica.Index}] {l.Text}" } : l));
        }

        return [.. lines.OrderBy(l => l.Sequence).Skip(Math.Max(0, lines.Count - tailLines)).Select(l => l.Text)];
    }

    /// <summary>Stops supervising and leaves the processes running, so the next start adopts them.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var service in _services.Values)
        {
            foreach (var replica in service.Replicas)
            {
                await replica.DisposeAsync();
            }
        }

        _services.Clear();
        _probe.Dispose();
        _recoveryLock.Dispose();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ReplicaResourceUsage>> GetResourceUsageAsync(ServiceTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var usage = new List<ReplicaResourceUsage>();
        foreach (var replica in Snapshot(target.ServiceId))
        {
            if (replica is { Pid: { } pid } && ProcFs.ReadUsage(pid) is { } read)
            {
                usage.Add(new ReplicaResourceUsage(replica.Index.ToString(CultureInfo.InvariantCulture), read.CpuSeconds, read.ResidentBytes));
            }
        }

        return Task.FromResult<IReadOnlyList<ReplicaResourceUsage>>(usage);
    }


    /// <summary>The replicas of a service as the supervisor sees them (tests and diagnostics).</summary>
    internal IReadOnlyList<ReplicaSnapshot> Snapshot(string serviceId) =>
        _services.TryGetValue(serviceId, out var service) ? [.. service.Replicas.Select(r => r.Snapshot())] : [];
}
