using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
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
public sealed class LocalShimlet : IShimlet, IAsyncDisposable
{
    private readonly LocalShimletOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LocalShimlet> _logger;
    private readonly ConcurrentDictionary<string, LocalService> _services = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _serviceLocks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _recoveryLock = new(1, 1);
    private readonly StatusSignal _statusChanged = new();
    private readonly HttpClient _http;
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
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = _options.HealthProbeTimeout,
        })
        {
            Timeout = _options.HealthProbeTimeout,
        };
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
        var readyCount = ready.Count(r => r);
        var now = _time.GetUtcNow();
        var status = new ShimletStatus
        {
            Phase = ServicePhase.Pending,
            DesiredReplicas = snapshots.Count,
            ReadyReplicas = readyCount,
            Endpoint = ReplicaEndpoint(snapshots[0].Port),
            ReplicaEndpoints = [.. snapshots.Where((_, i) => ready[i]).Select(s => ReplicaEndpoint(s.Port))],
        };
        var problemPhase = readyCount == 0 ? ServicePhase.Failed : ServicePhase.Degraded;

        if (snapshots.FirstOrDefault(s => s.State == ReplicaState.CrashLoop) is { } looping)
        {
            return status with { Phase = problemPhase, Reason = UnhealthyReason.CrashLoop, Message = CrashLoopMessage(replicas[snapshots.IndexOf(looping)], looping) };
        }

        var late = snapshots.Where((s, i) => !ready[i] && s is { State: ReplicaState.Running, StartedAt: { } started } && now - started > spec.StartupTimeout).ToList();
        if (late.Count > 0)
        {
            var which = string.Join(", ", late.Select(s => s.Index.ToString(CultureInfo.InvariantCulture)));
            return status with
            {
                Phase = problemPhase,
                Reason = UnhealthyReason.Failed,
                Message = $"Replica(s) {which} did not answer GET {spec.HealthPath} with 200 within the startup timeout {spec.StartupTimeout}.",
            };
        }

        if (readyCount == snapshots.Count)
        {
            return status with { Phase = ServicePhase.Running };
        }

        return status with
        {
            Phase = readyCount > 0 ? ServicePhase.Degraded : ServicePhase.Pending,
            Reason = UnhealthyReason.Pending,
            Message = PendingMessage(snapshots, ready, spec.HealthPath),
        };
    }

    /// <summary>
    /// Yields the status now and whenever its state (phase, reason, replica counts, endpoint) changes, until cancelled.
    /// It reads the status again when a supervisor or an apply, scale or delete signals a change, and otherwise on a
    /// <see cref="ProbeBackoff"/> schedule (<see cref="LocalShimletOptions.ReadinessProbeInitialInterval"/> after a
    /// change, growing to <see cref="LocalShimletOptions.PollInterval"/>) for what no signal reports, such as a ready
    /// replica that stops answering or a startup timeout passing.
    /// </summary>
    public async IAsyncEnumerable<ShimletStatus> WatchStatusAsync(
        ServiceTarget target,
        TimeProvider timeProvider,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var fallbackMax = _options.PollInterval > _options.ReadinessProbeInitialInterval ? _options.PollInterval : _options.ReadinessProbeInitialInterval;
        var backoff = new ProbeBackoff(_options.ReadinessProbeInitialInterval, fallbackMax, _options.ReadinessProbeBackoffMultiplier);
        ShimletStatus? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var changed = _statusChanged.Next; // before the read: a change during it wakes the next wait
            var status = await GetStatusAsync(target, cancellationToken);
            if (last is null || !ShimletStatus.SameState(status, last))
            {
                backoff.Reset();
                last = status;
                yield return status;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(Task.Delay(backoff.Next(), timeProvider, wait.Token), changed);
            await wait.CancelAsync();
        }
    }

    private static Uri ReplicaEndpoint(int port) => new(string.Create(CultureInfo.InvariantCulture, $"http://{LaunchPlan.Host}:{port}"));

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
        _http.Dispose();
        _recoveryLock.Dispose();
    }

    /// <summary>The replicas of a service as the supervisor sees them (tests and diagnostics).</summary>
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

    internal IReadOnlyList<ReplicaSnapshot> Snapshot(string serviceId) =>
        _services.TryGetValue(serviceId, out var service) ? [.. service.Replicas.Select(r => r.Snapshot())] : [];

    private static string ResourceId(string serviceId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"local/replica/{serviceId}/{index}");

    private static void Validate(DeploymentSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.ServiceId))
        {
            throw StepException.NonRetryable(LocalErrorTypes.InvalidSpec, "The spec has no ServiceId.");
        }

        if (spec.Command.Count == 0 || string.IsNullOrWhiteSpace(spec.Command[0]))
        {
            throw StepException.NonRetryable(LocalErrorTypes.InvalidSpec,
                $"Service {spec.ServiceId} has no Command: the local shimlet needs the program to run (Command[0]); the runtime profile's image is not used.");
        }

        if (spec.Replicas < 0)
        {
            throw StepException.NonRetryable(LocalErrorTypes.InvalidSpec, $"Replicas must not be negative (got {spec.Replicas}).");
        }

        if (!spec.HealthPath.StartsWith('/'))
        {
            throw StepException.NonRetryable(LocalErrorTypes.InvalidSpec, $"HealthPath '{spec.HealthPath}' must start with '/'.");
        }

        CheckPortRange(spec);
    }

    private static void CheckPortRange(DeploymentSpec spec)
    {
        if (spec.Port is < 0 or > 65535 || (spec.Port > 0 && spec.Port + Math.Max(0, spec.Replicas - 1) > 65535))
        {
            throw StepException.NonRetryable(LocalErrorTypes.InvalidSpec,
                $"Port {spec.Port} with {spec.Replicas} replica(s) (ports Port … Port+Replicas-1) does not fit in 1–65535; use 0 to let the shimlet choose.");
        }
    }

    private static string ResolveExecutable(DeploymentSpec spec)
    {
        var command = spec.Command[0];
        var path = spec.Environment.TryGetValue("PATH", out var specPath) ? specPath : Environment.GetEnvironmentVariable("PATH");
        var resolved = ExecutableResolver.Resolve(command, path);
        if (resolved is null)
        {
            var where = command.Contains('/', StringComparison.Ordinal) ? "at that path" : $"on PATH ({path})";
            var error = StepException.NonRetryable(LocalErrorTypes.ExecutableNotFound,
                $"The program '{command}' of service {spec.ServiceId} was not found {where} or is not executable. Install it or set Command[0] to its absolute path.");
            error.Details["executable"] = command;
            throw error;
        }

        return resolved;
    }

    private LaunchPlan Plan(DeploymentSpec spec, string executable, string directory) => new(
        executable,
        [.. spec.Command.Skip(1), .. spec.Args],
        spec.Environment,
        LocalService.WorkDirectory(directory),
        LocalService.LogDirectory(directory),
        _options.ShellPath);

    private SemaphoreSlim LockFor(string serviceId) => _serviceLocks.GetOrAdd(serviceId, _ => new SemaphoreSlim(1, 1));

    private ReplicaSupervisor NewReplica(LocalService service, int index, int port) =>
        new(service.ServiceId, index, port, service.Plan, _options, _time, _logger,
            () => Interlocked.Increment(ref _logSequence),
            changed: () =>
            {
                service.Persist();
                _statusChanged.Notify();
            },
            probe: (replicaPort, cancellationToken) => ProbeAsync(replicaPort, service.Spec.HealthPath, cancellationToken),
            readinessChanged: _statusChanged.Notify);

    private HashSet<int> ReservedPorts() =>
        [.. _services.Values.SelectMany(s => s.Replicas).Select(r => r.Port)];

    private int PortFor(DeploymentSpec spec, int index)
    {
        if (spec.Port == 0)
        {
            return PortAllocator.AllocateFree(ReservedPorts());
        }

        var port = spec.Port + index;
        if (ReservedPorts().Contains(port) || !PortAllocator.IsFree(port))
        {
            throw new StepException(LocalErrorTypes.PortUnavailable,
                $"Port {port} on 127.0.0.1 (replica {index} of {spec.ServiceId}) is in use. Free it, or use port 0 to let the shimlet choose.");
        }

        return port;
    }

    /// <summary>Adds or removes replica processes (highest index first). True when the count changed.</summary>
    private async Task<bool> ScaleCoreAsync(LocalService service, int replicas, CancellationToken cancellationToken)
    {
        var current = service.Replicas;
        for (var index = current.Count; index < replicas; index++)
        {
            var replica = NewReplica(service, index, PortFor(service.Spec, index));
            await StartAsync(service, replica);
        }

        foreach (var replica in current.Where(r => r.Index >= replicas).OrderByDescending(r => r.Index))
        {
            await replica.StopAsync(cancellationToken);
            service.Remove(replica);
            await replica.DisposeAsync();
        }

        return current.Count != replicas;
    }

    private static async Task StartAsync(LocalService service, ReplicaSupervisor replica)
    {
        service.Add(replica);
        try
        {
            replica.Start();
        }
        catch (StepException)
        {
            service.Remove(replica);
            await replica.DisposeAsync();
            throw;
        }

        replica.Run();
    }

    /// <summary>A changed spec: replica by replica, stop the old process gracefully and start the new one on its port.</summary>
    private async Task ReplaceAsync(LocalService service, DeploymentSpec spec, string hash, string executable, CancellationToken cancellationToken)
    {
        var old = service.Replicas;
        service.Spec = spec;
        service.SpecHash = hash;
        service.Plan = Plan(spec, executable, service.Directory);
        for (var index = 0; index < Math.Max(old.Count, spec.Replicas); index++)
        {
            int? port = null;
            if (index < old.Count)
            {
                await old[index].StopAsync(cancellationToken);
                service.Remove(old[index]);
                await old[index].DisposeAsync();
                port = spec.Port == 0 ? old[index].Port : null;
            }

            if (index < spec.Replicas)
            {
                await StartAsync(service, NewReplica(service, index, port ?? PortFor(spec, index)));
            }
        }

        _logger.LogInformation("Replaced the processes of {ServiceId} for a changed spec", spec.ServiceId);
    }

    private void Recover(string directory, string? bootId)
    {
        ServiceRecord? record;
        try
        {
            record = ServiceRecordStore.Read(directory);
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
        {
            _logger.LogWarning(e, "Skipping the unreadable service record in {Directory}", directory);
            return;
        }

        if (record is null || record.Spec.Command.Count == 0)
        {
            return;
        }

        var spec = record.Spec;
        var path = spec.Environment.TryGetValue("PATH", out var specPath) ? specPath : Environment.GetEnvironmentVariable("PATH");
        var executable = ExecutableResolver.Resolve(spec.Command[0], path)
            ?? record.Replicas.Select(r => r.Cmdline.FirstOrDefault()?.FirstOrDefault()).FirstOrDefault(e => e is not null)
            ?? spec.Command[0];
        var service = new LocalService(spec.ServiceId, directory, spec, record.SpecHash, Plan(spec, executable, directory));
        _services[spec.ServiceId] = service;

        var adopted = 0;
        foreach (var replicaRecord in record.Replicas.OrderBy(r => r.Index))
        {
            var replica = NewReplica(service, replicaRecord.Index, replicaRecord.Port);
            service.Add(replica);
            if (bootId is not null && record.BootId == bootId && replica.TryAdopt(replicaRecord))
            {
                adopted++;
            }
            else
            {
                if (spec.Port == 0 && !PortAllocator.IsFree(replicaRecord.Port))
                {
                    service.Remove(replica);
                    replica = NewReplica(service, replicaRecord.Index, PortAllocator.AllocateFree(ReservedPorts()));
                    service.Add(replica);
                }

                replica.StartOrBackOff();
            }

            replica.Run();
        }

        service.Persist();
        _logger.LogInformation("Recovered service {ServiceId}: adopted {Adopted} of {Replicas} replica process(es), started the rest",
            spec.ServiceId, adopted, record.Replicas.Count);
    }

    private async Task<bool> ProbeAsync(int port, string healthPath, CancellationToken cancellationToken)
    {
        var uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{LaunchPlan.Host}:{port}{healthPath}"));
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the probe timed out
        }
    }

    private string CrashLoopMessage(ReplicaSupervisor replica, ReplicaSnapshot snapshot)
    {
        var exit = snapshot.LastExitCode is { } code ? $"exit code {code}" : snapshot.LastError ?? "exit code unknown";
        var message = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"Replica {snapshot.Index} crashed {snapshot.CrashesInWindow} times within {_options.RestartWindow} (last: {exit}); it is not restarted again until the next apply."));
        if (_options.CrashLogTailLines > 0)
        {
            replica.Log.Pump();
            var lines = replica.Log.Last(_options.CrashLogTailLines);
            if (lines.Count > 0)
            {
                message.Append("\nLast log lines:\n").AppendJoin('\n', lines.Select(l => l.Text));
            }
        }

        return message.ToString();
    }

    private static string PendingMessage(List<ReplicaSnapshot> snapshots, bool[] ready, string healthPath)
    {
        var parts = new List<string>();
        for (var i = 0; i < snapshots.Count; i++)
        {
            var s = snapshots[i];
            if (ready[i])
            {
                continue;
            }

            parts.Add(s.State == ReplicaState.BackingOff
                ? string.Create(CultureInfo.InvariantCulture, $"replica {s.Index} exited (code {s.LastExitCode?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}) and restarts at {s.NextStartAt:O}")
                : string.Create(CultureInfo.InvariantCulture, $"replica {s.Index} (pid {s.Pid}) does not answer GET {healthPath} with 200 yet"));
        }

        return string.Join("; ", parts);
    }

    private List<string> ReadLogFiles(string serviceId, int tailLines)
    {
        var logs = LocalService.LogDirectory(Path.Combine(ServicesDirectory, ServiceRecordStore.DirectoryName(serviceId)));
        if (!Directory.Exists(logs))
        {
            return [];
        }

        var files = Directory.GetFiles(logs, "replica-*.log").Order(StringComparer.Ordinal).ToList();
        var lines = files.SelectMany(f => ReplicaLog.ReadLastLines(f, tailLines)
            .Select(l => files.Count > 1 ? $"[{Path.GetFileNameWithoutExtension(f)}] {l}" : l)).ToList();
        return [.. lines.Skip(Math.Max(0, lines.Count - tailLines))];
    }
}
