using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Workflows;
using ModelServeShim.Workflows.Replicas;

namespace ModelServeShim.ControlPlane;

/// <summary>Watches Running and Degraded services through their shimlets and moves them between the two.</summary>
/// <remarks>
/// Every probe and every transition it causes is journaled per service (GET /api/v1/modserv/{id}/health), rate-limited.
/// With several replicas only the elected leader probes (<see cref="ClusterLeader"/>); another takes over when it dies.
/// </remarks>
public sealed class HealthMonitor(
    IDbContextFactory<ControlPlaneDbContext> db,
    ClusterLeader leader,
    ServiceStore services,
    IShimletProvider shimlets,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time,
    ILogger<HealthMonitor> logger) : QuietBackgroundService
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long EntryId, DateTimeOffset At, string Signature)> _lastProbe = new(StringComparer.Ordinal);

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HealthCheckInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!leader.IsLeader)
            {
                continue;
            }

            try
            {
                await CheckAllAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Health check round failed");
            }
        }
    }

    /// <summary>Checks every Running and Degraded service once.</summary>
    public async Task CheckAllAsync(CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var watched = await context.Services.AsNoTracking()
            .Where(s => s.State == ServiceState.Running || s.State == ServiceState.Degraded)
            .ToListAsync(cancellationToken);
        foreach (var service in watched)
        {
            if (shimlets.Find(service.Desired.Shimlet) is not { } shimlet)
            {
                continue;
            }

            ShimletStatus status;
            try
            {
                status = await shimlet.GetStatusAsync(new ServiceTarget(service.Id, service.Desired.Namespace), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                status = new ShimletStatus { Phase = ServicePhase.Failed, Reason = UnhealthyReason.Failed, Message = $"status unavailable: {e.Message}" };
            }

            var healthy = status.Phase == ServicePhase.Running && status.ReadyReplicas >= Math.Max(1, status.DesiredReplicas);
            var summary = $"{status.Phase}, {status.ReadyReplicas}/{status.DesiredReplicas} ready{(status.Reason == UnhealthyReason.None ? "" : $", {status.Reason}")}{(status.Message is null ? "" : $": {status.Message}")}";
            await JournalProbeAsync(service.Id, healthy, status, summary, cancellationToken);
            if (service.State == ServiceState.Running && !healthy)
            {
                if (await services.TransitionAsync(service.Id, ServiceTrigger.HealthLost, $"unhealthy: {summary}", "health-monitor", s =>
                    {
                        s.LastErrorType = status.Reason.ToString();
                        s.LastError = status.Message;
                    }, cancellationToken))
                {
                    await JournalAsync(service.Id, "HealthLost", healthy, status, $"Running → Degraded: {summary}", cancellationToken);
                }
            }
            else if (service.State == ServiceState.Degraded && healthy)
            {
                if (await services.TransitionAsync(service.Id, ServiceTrigger.HealthRestored, $"healthy again: {status.ReadyReplicas}/{status.DesiredReplicas} ready", "health-monitor",
                    s => s.Endpoint = status.Endpoint?.ToString() ?? s.Endpoint, cancellationToken))
                {
                    await JournalAsync(service.Id, "HealthRestored", healthy, status, $"Degraded → Running: {summary}", cancellationToken);
                }
            }
        }

        foreach (var gone in _lastProbe.Keys.Except(watched.Select(w => w.Id), StringComparer.Ordinal))
        {
            _lastProbe.TryRemove(gone, out _);
        }
    }

    /// <summary>
    /// Journals a probe when its result differs from the service's last journaled one, or when that is older than
    /// <see cref="ControlPlaneOptions.HealthJournalInterval"/>; otherwise counts it on the last entry.
    /// </summary>
    private async Task JournalProbeAsync(string serviceId, bool healthy, ShimletStatus status, string summary, CancellationToken cancellationToken)
    {
        var signature = $"{healthy}|{status.Phase}|{status.ReadyReplicas}/{status.DesiredReplicas}|{status.Reason}";
        var now = time.GetUtcNow();
        if (_lastProbe.TryGetValue(serviceId, out var last) && last.Signature == signature && now - last.At < options.Value.HealthJournalInterval)
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            await context.HealthJournal.Where(h => h.Id == last.EntryId).ExecuteUpdateAsync(u => u.SetProperty(h => h.Probes, h => h.Probes + 1), cancellationToken);
            return;
        }

        var id = await JournalAsync(serviceId, "Probe", healthy, status, summary, cancellationToken);
        _lastProbe[serviceId] = (id, now, signature);
    }

    private async Task<long> JournalAsync(string serviceId, string @event, bool healthy, ShimletStatus status, string message, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var entry = new ServiceHealthRecord
        {
            ServiceId = serviceId, At = time.GetUtcNow(), Event = @event, Healthy = healthy, Phase = status.Phase.ToString(),
            ReadyReplicas = status.ReadyReplicas, DesiredReplicas = status.DesiredReplicas, Message = message,
        };
        context.HealthJournal.Add(entry);
        await context.SaveChangesAsync(cancellationToken);
        return entry.Id;
    }
}
