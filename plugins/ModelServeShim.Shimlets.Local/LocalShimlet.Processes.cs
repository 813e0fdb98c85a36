using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelServeShim.Abstractions.Activities;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.Shimlets.Local;

/// <summary>The processes behind a service: checks of a spec, ports, starting, stopping and replacing replicas, recovery after a restart, log files.</summary>
public sealed partial class LocalShimlet
{
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

    private Task<bool> ProbeAsync(int port, string healthPath, CancellationToken cancellationToken) =>
        _probe.IsReadyAsync(new Uri(LocalStatusMapper.ReplicaEndpoint(port), healthPath), cancellationToken);

    /// <summary>The replica's last log lines for a crash-loop message (<see cref="LocalShimletOptions.CrashLogTailLines"/>).</summary>
    private IReadOnlyList<string> CrashLog(ReplicaSupervisor replica)
    {
        if (_options.CrashLogTailLines <= 0)
        {
            return [];
        }

        replica.Log.Pump();
        return [.. replica.Log.Last(_options.CrashLogTailLines).Select(l => l.Text)];
    }
}
