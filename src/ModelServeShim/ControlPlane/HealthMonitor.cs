using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;

namespace ModelServeShim.ControlPlane;

/// <summary>Watches Running and Degraded services through their shimlets and moves them between the two.</summary>
public sealed class HealthMonitor(
    IDbContextFactory<ControlPlaneDbContext> db,
    ServiceManager services,
    IShimletProvider shimlets,
    IOptions<ControlPlaneOptions> options,
    TimeProvider time,
    ILogger<HealthMonitor> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HealthCheckInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
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
            if (service.State == ServiceState.Running && !healthy)
            {
                await services.FireAsync(service.Id, ServiceTrigger.HealthLost,
                    $"unhealthy: {status.Phase}, {status.ReadyReplicas}/{status.DesiredReplicas} ready{(status.Reason == UnhealthyReason.None ? "" : $", {status.Reason}")}{(status.Message is null ? "" : $": {status.Message}")}",
                    "health-monitor", s =>
                    {
                        s.LastErrorType = status.Reason.ToString();
                        s.LastError = status.Message;
                    }, cancellationToken);
            }
            else if (service.State == ServiceState.Degraded && healthy)
            {
                await services.FireAsync(service.Id, ServiceTrigger.HealthRestored,
                    $"healthy again: {status.ReadyReplicas}/{status.DesiredReplicas} ready", "health-monitor",
                    s => s.Endpoint = status.Endpoint?.ToString() ?? s.Endpoint, cancellationToken);
            }
        }
    }
}
