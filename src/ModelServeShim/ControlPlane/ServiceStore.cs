using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ModelServeShim.Abstractions.Shimlets;
using ModelServeShim.Hosting;
using ModelServeShim.Models;
using ModelServeShim.Models.Memory;
using ModelServeShim.Workflows.Execution;
using ModelServeShim.Workflows.Persistence;

namespace ModelServeShim.ControlPlane;

/// <summary>
/// The services' state and its only writer: queries, lifecycle transitions (stored with time, reason and operator),
/// desired-state changes (kept with their history) and the record of which operation's pipeline runs. Every stored
/// change is published to the event streams (<see cref="EventBroadcaster"/>).
/// </summary>
public sealed class ServiceStore(
    IDbContextFactory<ControlPlaneDbContext> db,
    ShimMetrics metrics,
    EventBroadcaster broadcaster,
    TimeProvider time,
    ILogger<ServiceStore> logger)
{
    /// <summary>A service, or null.</summary>
    public async Task<ServiceRecord?> GetAsync(string serviceId, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        return await context.Services.AsNoTracking().FirstOrDefaultAsync(s => s.Id == serviceId, cancellationToken);
    }

    /// <summary>
    /// Fires a lifecycle trigger (<see cref="ServiceLifecycle"/>): applies <paramref name="change"/> (and
    /// <paramref name="desiredChange"/>, kept in the desired state's history, which says what changed), stores the
    /// transition with its reason and operator, publishes the change; false (and nothing stored) when the state does not
    /// allow it. All of it is one write guarded by the service's revision: of two conflicting requests (on two replicas),
    /// the second re-reads the service and finds the trigger no longer allowed.
    /// </summary>
    public async Task<bool> TransitionAsync(
        string serviceId, ServiceTrigger trigger, string reason, string @operator, Action<ServiceRecord>? change, CancellationToken cancellationToken,
        Func<ServiceDesiredState, string>? desiredChange = null)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            var service = await context.Services.FirstOrDefaultAsync(s => s.Id == serviceId, cancellationToken);
            if (service is null)
            {
                return false;
            }

            var lifecycle = new ServiceLifecycle(service.State);
            var from = service.State;
            if (!lifecycle.TryFire(trigger))
            {
                logger.LogDebug("Service {Service} ignores {Trigger} in state {State}", serviceId, trigger, from);
                return false;
            }

            change?.Invoke(service);
            var now = time.GetUtcNow();
            if (desiredChange is not null)
            {
                context.DesiredStateChanges.Add(service.Desired.Change(service.ModelName, desiredChange(service.Desired), now, @operator));
            }

            service.State = lifecycle.State;
            service.UpdatedAt = now;
            service.Revision++;
            if (from != service.State)
            {
                context.Transitions.Add(new ServiceTransitionRecord { ServiceId = serviceId, At = now, From = from, To = service.State, Reason = reason, Operator = @operator });
            }

            try
            {
                await context.SaveChangesAsync(cancellationToken);
                broadcaster.OnServiceChanged(service);
                if (from != service.State)
                {
                    metrics.StateChanged(from, service.State);
                    logger.LogInformation("Service {Service}: {From} → {To} ({Reason}, by {Operator})", serviceId, from, service.State, reason, @operator);
                }

                return true;
            }
            catch (DbUpdateConcurrencyException)
            {
                // Another transition won the race: re-read and try again.
            }
        }

        throw new InvalidOperationException($"Service '{serviceId}' changed concurrently too often to apply {trigger}.");
    }

    /// <summary>
    /// Records <paramref name="instanceId"/> as the service's latest pipeline, running <paramref name="operation"/>, if its
    /// latest instance is still <paramref name="previousInstanceId"/>; the updated service, or null when it is gone or
    /// another operation started meanwhile (so an operation is never started twice).
    /// </summary>
    public async Task<ServiceRecord?> ClaimOperationAsync(
        string serviceId, string? previousInstanceId, ServiceOperation operation, string instanceId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            var current = await context.Services.FirstOrDefaultAsync(s => s.Id == serviceId, cancellationToken);
            if (current is null || current.InstanceId != previousInstanceId)
            {
                return null;
            }

            current.InstanceId = instanceId;
            current.Operation = operation;
            if (operation == ServiceOperation.Deploy)
            {
                current.DeployInstanceId = instanceId;
            }

            current.Revision++;
            current.UpdatedAt = time.GetUtcNow();
            try
            {
                await context.SaveChangesAsync(cancellationToken);
                broadcaster.OnServiceChanged(current);
                return current;
            }
            catch (DbUpdateConcurrencyException)
            {
                // Changed meanwhile: re-read.
            }
        }

        throw new InvalidOperationException($"Service '{serviceId}' changed concurrently too often to start its {operation} pipeline.");
    }
}
